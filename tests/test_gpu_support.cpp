// The "why no GPU" and "does this binary fit the GPU" decisions (base/gpu_support.hpp), fed with
// the answers the CUDA runtime gives on real machines, so that each case is checked without a GPU.
#include <doctest/doctest.h>

#include "base/error.hpp"
#include "base/gpu_support.hpp"

using namespace unet;

namespace {
constexpr int kInsufficientDriver = 35;  // cudaErrorInsufficientDriver
constexpr int kNoDevice = 100;           // cudaErrorNoDevice
}  // namespace

TEST_CASE("no driver at all: cudaDriverGetVersion gives 0 and the count fails with error 35") {
  // What this machine answers: no libcuda, same error code as a driver that is too old.
  const std::string r = gpu_unavailable_reason({0, 13000, 0, kInsufficientDriver, "cudaErrorInsufficientDriver"});
  CHECK(r.rfind("no NVIDIA driver", 0) == 0);
  CHECK(r.find("R580 or newer") != std::string::npos);
  CHECK(r.find("too old") == std::string::npos);
}

TEST_CASE("a driver for CUDA 12.4 under a CUDA 13.0 build is too old, with both versions named") {
  const std::string r = gpu_unavailable_reason({12040, 13000, 0, kInsufficientDriver, "cudaErrorInsufficientDriver"});
  CHECK(r == "driver too old for this CUDA 13.0 build (needs CUDA >= 13.0, R580 or newer; found a driver for CUDA 12.4)");
}

TEST_CASE("a CUDA 12.x build asks for R525 and accepts any 12.x driver (minor version compatibility)") {
  CHECK(gpu_unavailable_reason({11080, 12060, 0, kInsufficientDriver, "x"}).find("R525 or newer") != std::string::npos);
  CHECK(gpu_unavailable_reason({12020, 12060, 1, 0, "cudaSuccess"}).empty());
}

TEST_CASE("a new enough driver without a device says there is no CUDA device") {
  CHECK(gpu_unavailable_reason({13000, 13000, 0, kNoDevice, "cudaErrorNoDevice"}).rfind("no CUDA device", 0) == 0);
  CHECK(gpu_unavailable_reason({13010, 13000, 0, 0, "cudaSuccess"}).rfind("no CUDA device", 0) == 0);
}

TEST_CASE("another error names itself; a device with a new enough driver is usable") {
  const std::string r = gpu_unavailable_reason({13000, 13000, 0, 999, "cudaErrorUnknown"});
  CHECK(r.find("cudaErrorUnknown, error 999") != std::string::npos);
  CHECK(gpu_unavailable_reason({13000, 13000, 2, 0, "cudaSuccess"}).empty());
}

TEST_CASE("CMake's architecture list is parsed into machine code and PTX entries") {
  const auto a = parse_cuda_architectures("75-real,90-virtual;86");
  REQUIRE(a.size() == 4);
  CHECK((a[0].compute_capability == 75 && !a[0].is_ptx));
  CHECK((a[1].compute_capability == 90 && a[1].is_ptx));
  CHECK((a[2].compute_capability == 86 && !a[2].is_ptx));
  CHECK((a[3].compute_capability == 86 && a[3].is_ptx));
  CHECK_THROWS_AS(parse_cuda_architectures("86-fake"), Error);
  CHECK_THROWS_AS(parse_cuda_architectures(""), Error);
}

TEST_CASE("the default architectures run on T4, A100, RTX 3090, RTX 4090, H100 and newer GPUs through PTX") {
  const auto built = parse_cuda_architectures("75-real,80-real,86-real,89-real,90-real,90-virtual");
  for (const auto& [major, minor] : {std::pair{7, 5}, {8, 0}, {8, 6}, {8, 7}, {8, 9}, {9, 0}, {10, 0}, {12, 0}})
    CHECK_MESSAGE(architecture_mismatch(major, minor, built).empty(), major, ".", minor);
}

TEST_CASE("a GPU older than every architecture, or newer without PTX, is named with what the binary holds") {
  const auto built = parse_cuda_architectures("75-real,80-real,86-real,89-real,90-real,90-virtual");
  const std::string old_gpu = architecture_mismatch(7, 0, built);
  CHECK(old_gpu.find("compute capability 7.0") != std::string::npos);
  CHECK(old_gpu.find("sm_75") != std::string::npos);
  CHECK(old_gpu.find("-DCMAKE_CUDA_ARCHITECTURES=70") != std::string::npos);
  // Machine code runs only on its own major version: sm_86 alone does not run on 9.0.
  CHECK_FALSE(architecture_mismatch(9, 0, parse_cuda_architectures("80-real,86-real")).empty());
  // ...nor on an older minor of the same major.
  CHECK_FALSE(architecture_mismatch(8, 0, parse_cuda_architectures("86-real")).empty());
}
