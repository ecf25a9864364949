// Why a GPU cannot be used, decided from plain numbers so that every case can be tested on a
// machine without a GPU (tests/test_gpu_support.cpp). base/device.cpp feeds it the CUDA answers.
#pragma once

#include <string>
#include <vector>

namespace unet {

// What the CUDA runtime said at start-up. Versions use CUDA's encoding: 1000 * major + 10 * minor
// (13000 is CUDA 13.0). driver_version is what cudaDriverGetVersion gives: 0 when no driver is
// installed, else the newest CUDA version the installed driver supports.
struct CudaProbeResult {
  int driver_version = 0;
  int runtime_version = 0;
  int device_count = 0;
  int count_error = 0;             // the cudaError_t of cudaGetDeviceCount; 0 is success
  std::string count_error_name;    // e.g. "cudaErrorInsufficientDriver"
};

// Empty when a GPU can be used; else one line naming the cause: no NVIDIA driver, a driver too
// old for this CUDA build (with the version needed and the one found), or no CUDA device.
std::string gpu_unavailable_reason(const CudaProbeResult& probe);

// The oldest driver branch that runs a CUDA major version ("R580" for 13), or "" when unknown.
std::string minimum_driver_branch(int cuda_major);

// One entry of CMAKE_CUDA_ARCHITECTURES as compiled in, e.g. "86-real" (machine code) or
// "90-virtual" (PTX, which the driver compiles for that architecture or any newer one).
struct CompiledArchitecture {
  int compute_capability = 0;  // 10 * major + minor, e.g. 86
  bool is_ptx = false;
};

// Parses CMake's list ("75-real;90-virtual;86"; a bare number means both machine code and PTX).
// Throws unet::Error naming the entry that is not of that form.
std::vector<CompiledArchitecture> parse_cuda_architectures(const std::string& list);

// Empty when code compiled for `compiled` runs on a device of compute capability major.minor:
// machine code for the same major and a minor not above the device's, or PTX for an
// architecture not above the device's. Else one line naming the device and what was compiled.
std::string architecture_mismatch(int major, int minor, const std::vector<CompiledArchitecture>& compiled);

}  // namespace unet
