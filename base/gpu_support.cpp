#include "base/gpu_support.hpp"

#include <cctype>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace {
// cudaErrorNoDevice; kept as a number so that this file needs no CUDA header.
constexpr int kCudaErrorNoDevice = 100;

std::string cuda_version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

std::string driver_advice(int runtime_version) {
  const std::string branch = minimum_driver_branch(runtime_version / 1000);
  return branch.empty() ? trf("a driver for CUDA {}.x", runtime_version / 1000) : trf("{} or newer", branch);
}

std::string compute_capability_text(int cc) { return std::to_string(cc / 10) + "." + std::to_string(cc % 10); }
}  // namespace

std::string minimum_driver_branch(int cuda_major) {
  if (cuda_major == 13) return "R580";
  if (cuda_major == 12) return "R525";
  if (cuda_major == 11) return "R450";
  return "";
}

std::string gpu_unavailable_reason(const CudaProbeResult& p) {
  const std::string build = trf("this CUDA {} build", cuda_version_text(p.runtime_version));
  if (p.driver_version == 0)
    return trf("no NVIDIA driver (cudaDriverGetVersion gives 0); {} needs {}", build, driver_advice(p.runtime_version));
  // Within one CUDA major version a newer runtime runs on an older driver of the same major
  // (minor version compatibility), so only the major decides "too old".
  if (p.driver_version / 1000 < p.runtime_version / 1000)
    return trf("driver too old for {} (needs CUDA >= {}.0, {}; found a driver for CUDA {})", build,
               std::to_string(p.runtime_version / 1000), driver_advice(p.runtime_version),
               cuda_version_text(p.driver_version));
  if (p.count_error == kCudaErrorNoDevice || (p.count_error == 0 && p.device_count == 0))
    return trf("no CUDA device (the NVIDIA driver for CUDA {} sees no GPU)", cuda_version_text(p.driver_version));
  if (p.count_error != 0)
    return trf("no usable GPU (cudaGetDeviceCount: {}, error {}, with a driver for CUDA {})", p.count_error_name,
               std::to_string(p.count_error), cuda_version_text(p.driver_version));
  return "";
}

std::vector<CompiledArchitecture> parse_cuda_architectures(const std::string& list) {
  std::vector<CompiledArchitecture> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = list.find_first_of(";, ", start);
    if (end == std::string::npos) end = list.size();
    const std::string entry = list.substr(start, end - start);
    start = end + 1;
    if (entry.empty()) continue;
    std::size_t digits = 0;
    while (digits < entry.size() && std::isdigit(static_cast<unsigned char>(entry[digits]))) ++digits;
    const std::string suffix = entry.substr(digits);
    UNET_CHECK(digits > 0 && (suffix.empty() || suffix == "-real" || suffix == "-virtual"), "CUDA architectures",
               trf("'{}' in '{}' is not of the form 86, 86-real or 86-virtual", entry, list));
    const int cc = std::stoi(entry.substr(0, digits));
    if (suffix != "-virtual") out.push_back({cc, false});
    if (suffix != "-real") out.push_back({cc, true});
  }
  UNET_CHECK(!out.empty(), "CUDA architectures", trf("the list '{}' names no architecture", list));
  return out;
}

std::string architecture_mismatch(int major, int minor, const std::vector<CompiledArchitecture>& compiled) {
  const int device = 10 * major + minor;
  std::string names;
  for (const CompiledArchitecture& a : compiled) {
    if (a.is_ptx ? a.compute_capability <= device
                 : a.compute_capability / 10 == major && a.compute_capability <= device)
      return "";
    names += (names.empty() ? "" : ", ") + std::string(a.is_ptx ? "PTX " : "sm_") +
             std::to_string(a.compute_capability);
  }
  return trf(
      "the GPU has compute capability {}, but this binary holds code only for {}; rebuild with "
      "-DCMAKE_CUDA_ARCHITECTURES={}",
      compute_capability_text(device), names, std::to_string(device));
}

}  // namespace unet
