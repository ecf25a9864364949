// Backend parity, CUDA half: every kernel and layer on the GPU against the CPU (and the
// kernels against the double reference too). On a machine without a usable GPU it runs
// nothing, says how many cases it skipped and why, and exits 77, which ctest reports as
// "Skipped" — never as passed. With a GPU its first line is "GPU: <name, memory, compute
// capability>". `--probe` stops after that first line (exit 0 or 77): bench/gpu_verdict.sh
// asks it whether a GPU is usable and accepts only those two explicit answers.
#include <cstdio>
#include <cstring>
#include <exception>

#include "base/device.hpp"
#include "tests/parity_cases.hpp"

using namespace unet;
using namespace unet::test;

int main(int argc, char** argv) {
  const bool probe_only = argc > 1 && std::strcmp(argv[1], "--probe") == 0;
  const auto kernels = kernel_cases();
  const auto layers = layer_cases();
  const size_t total = kernels.size() + layers.size();
  if (!cuda_available()) {
    std::printf("SKIPPED: %zu CUDA parity cases (%zu kernels, %zu layers) not run: %s\n", total, kernels.size(),
                layers.size(), cuda_unavailable_reason().c_str());
    return 77;
  }
  std::printf("GPU: %s\n", hardware_description(Device::CUDA).c_str());
  std::fflush(stdout);  // the line survives a crash later in the suite
  if (probe_only) return 0;
  size_t failed = 0;
  auto report = [&](const ParityCase& c, const ParityResult& gpu, const ParityResult& cpu) {
    bool ok = gpu.guards_intact && gpu.outputs.size() == cpu.outputs.size();
    double worst = 0.0;
    for (size_t i = 0; ok && i < gpu.outputs.size(); ++i) {
      const double e = nmse(gpu.outputs[i], std::vector<double>(cpu.outputs[i].begin(), cpu.outputs[i].end()));
      worst = std::max(worst, e);
      ok = e <= c.tolerance;
    }
    if (ok && c.reference) {
      const auto ref = c.reference();
      for (size_t i = 0; ok && i < ref.size(); ++i) ok = nmse(gpu.outputs[i], ref[i]) <= c.tolerance;
    }
    std::printf("  %-55s nmse %.2e  %s%s\n", c.name.c_str(), worst, ok ? "OK" : "FAIL",
                gpu.guards_intact ? "" : " (guard bytes overwritten)");
    failed += ok ? 0 : 1;
  };
  // One case that throws (a cuDNN status, a CUDA error) is reported and counted; the rest still run.
  size_t threw = 0;
  for (const auto* list : {&kernels, &layers})
    for (const auto& c : *list) {
      try {
        report(c, c.run(Device::CUDA), c.run(Device::CPU));
      } catch (const std::exception& e) {
        std::printf("  %-55s THREW: %s\n", c.name.c_str(), e.what());
        std::fflush(stdout);
        ++threw;
      }
    }
  std::printf("%zu passed, %zu failed, %zu threw (of %zu cases)\n", total - failed - threw, failed, threw, total);
  return failed + threw == 0 ? 0 : 1;
}
