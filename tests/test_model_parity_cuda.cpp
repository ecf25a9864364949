// Whole-model GPU/CPU parity at the spec's sizes: the base-32 reference model and the base-64
// classic model at 256 x 256, batch 16 and an odd tail batch of 5: forward, BCE+Dice, backward,
// 3 Adam steps, running statistics and the eval-mode forward, GPU against CPU, with bounds
// derived from a perturbed CPU run (tests/model_parity.hpp). TF32 is off (fp32 against fp32)
// and algorithms deterministic. Without a usable GPU it says why and exits 77 (ctest: Skipped).
// `--quick`: base 32 only, batch 5 (for a first look).
#include <cstdio>
#include <cstring>
#include <exception>

#include "base/device.hpp"
#include "base/gpu_math.hpp"
#include "tests/model_parity.hpp"

using namespace unet;
using namespace unet::test;

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (!cuda_available()) {
    std::printf("SKIPPED: whole-model GPU/CPU parity not run: %s\n", cuda_unavailable_reason().c_str());
    return 77;
  }
  std::printf("GPU: %s\n", hardware_description(Device::CUDA).c_str());
  set_gpu_allow_tf32(false);
  set_gpu_deterministic(true);
  int failed = 0, threw = 0, cases = 0;
  for (int64_t base : {32, 64}) {
    if (quick && base == 64) continue;
    for (int64_t batch : {16, 5}) {
      if (quick && batch == 16) continue;
      ++cases;
      const UNetConfig cfg = UNetConfig::for_base(base);
      std::printf("base %lld, batch %lld, 256 x 256:\n", static_cast<long long>(base), static_cast<long long>(batch));
      std::fflush(stdout);
      try {
        const ModelTrace cpu = trace_model(cfg, Device::CPU, batch, 256, 11);
        const ModelTrace spread = trace_model(cfg, Device::CPU, batch, 256, 11, true);
        const ModelTrace gpu = trace_model(cfg, Device::CUDA, batch, 256, 11);
        bool ok = true;
        for (const auto& c : compare_traces(gpu, cpu, spread)) {
          std::printf("  %-32s nmse %.2e  bound %.2e  %s\n", c.name.c_str(), c.error, c.bound, c.ok() ? "OK" : "FAIL");
          ok = ok && c.ok();
        }
        failed += ok ? 0 : 1;
      } catch (const std::exception& e) {
        std::printf("  THREW: %s\n", e.what());
        ++threw;
      }
      std::fflush(stdout);
    }
  }
  std::printf("%d passed, %d failed, %d threw (of %d model cases)\n", cases - failed - threw, failed, threw, cases);
  return failed + threw == 0 ? 0 : 1;
}
