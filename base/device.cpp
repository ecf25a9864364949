#include "base/device.hpp"

#include <cstdio>
#include <fstream>
#include <thread>
#include <mutex>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "base/gpu_support.hpp"
#ifdef UNET_HAS_CUDA
#include <cuda_runtime.h>

#include "base/cuda_context.hpp"
#endif

namespace unet {

const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

namespace {
struct Probe {
  bool available = false;
  std::string reason;
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
#ifdef UNET_HAS_CUDA
    CudaProbeResult answers;
    cudaDriverGetVersion(&answers.driver_version);  // leaves 0 when no driver is installed
    cudaRuntimeGetVersion(&answers.runtime_version);
    const cudaError_t err = cudaGetDeviceCount(&answers.device_count);
    answers.count_error = static_cast<int>(err);
    answers.count_error_name = cudaGetErrorName(err);
    if (err != cudaSuccess) cudaGetLastError();  // clear the sticky error so later probes start clean
    r.reason = gpu_unavailable_reason(answers);
    if (r.reason.empty()) {
      // Device 0 is the one the context uses; name an architecture mismatch now rather than
      // fail at the first kernel launch with "no kernel image is available".
      int major = 0, minor = 0;
      if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) == cudaSuccess &&
          cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0) == cudaSuccess)
        r.reason = architecture_mismatch(major, minor, parse_cuda_architectures(UNET_CUDA_ARCHITECTURES));
      else
        cudaGetLastError();  // properties unknown: let the first call report it
    }
    r.available = r.reason.empty();
#else
    r.reason = tr("this binary was built without CUDA (UNET_CUDA=OFF)");
#endif
    return r;
  }();
  return p;
}
}  // namespace

bool cuda_available() { return probe().available; }

std::string cuda_unavailable_reason() { return probe().reason; }

uint64_t cuda_synchronizations() {
#ifdef UNET_HAS_CUDA
  return cuda_available() ? CudaContext::get().synchronizations() : 0;
#else
  return 0;
#endif
}

void synchronize(Device d) {
#ifdef UNET_HAS_CUDA
  if (d == Device::CUDA) CudaContext::get().synchronize();
#else
  (void)d;
#endif
}

std::string hardware_description(Device d) {
#ifdef UNET_HAS_CUDA
  if (d == Device::CUDA) {
    int dev = 0;
    cudaDeviceProp prop{};
    if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&prop, dev) == cudaSuccess)
      return trf("{}, {} MiB, compute capability {}.{}", std::string(prop.name),
                 std::to_string(prop.totalGlobalMem >> 20), std::to_string(prop.major), std::to_string(prop.minor));
    return tr("CUDA device (properties unavailable)");
  }
#endif
  (void)d;
  std::string model = tr("unknown CPU");
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return trf("{}, {} threads", model, std::to_string(std::thread::hardware_concurrency()));
}

Device resolve_device(const std::string& choice) {
  if (choice == "cpu") return Device::CPU;
  if (choice == "cuda") {
    UNET_CHECK(cuda_available(), "--device cuda", cuda_unavailable_reason());
    return Device::CUDA;
  }
  UNET_CHECK(choice == "auto", "--device", trf("'{}' is not a device; use auto, cpu or cuda", choice));
  if (cuda_available()) return Device::CUDA;
#ifdef UNET_HAS_CUDA
  static std::once_flag once;
  std::call_once(
      once, [] { std::fprintf(stderr, tr("unet: %s; using the CPU.\n").c_str(), cuda_unavailable_reason().c_str()); });
#endif
  return Device::CPU;
}

}  // namespace unet
