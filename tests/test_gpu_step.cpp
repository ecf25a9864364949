// A training step waits for the GPU once: the loss read, with the logits copied in the same
// wait (unet/train_step.hpp) and the inputs queued from pinned buffers without waiting. Counts
// the host's waits on the stream over 5 steps of a small U-Net. Without a usable GPU it says
// why and exits 77 (ctest: Skipped).
#include <cstdio>

#include "base/device.hpp"
#include "unet/train_step.hpp"

using namespace unet;

int main() {
  if (!cuda_available()) {
    std::printf("SKIPPED: the per-step wait count needs a GPU: %s\n", cuda_unavailable_reason().c_str());
    return 77;
  }
  const int64_t n = 4, s = 64;
  UNetConfig cfg = UNetConfig::for_base(32);
  cfg.base = 8;
  UNet model(cfg, Device::CUDA, 3);
  Adam adam(model.parameters(), AdamConfig{});
  const LossConfig loss{};
  HostBuffer images(static_cast<size_t>(n * 3 * s * s)), masks(static_cast<size_t>(n * s * s)),
      logits(static_cast<size_t>(n * s * s));
  for (size_t i = 0; i < images.size(); ++i) images.data()[i] = static_cast<float>(i % 97) / 97.0f;
  for (size_t i = 0; i < masks.size(); ++i) masks.data()[i] = (i % 13) < 3 ? 1.0f : 0.0f;
  const StepReadout readout{nullptr, &logits};
  auto step = [&] {
    const Tensor x = Tensor::from_host_async({n, 3, s, s}, images, Device::CUDA);
    const Tensor t = Tensor::from_host_async({n, 1, s, s}, masks, Device::CUDA);
    return train_step(model, adam, x, t, loss, &readout);
  };
  step();  // the first step allocates and picks algorithms
  const uint64_t before = cuda_synchronizations();
  for (int i = 0; i < 5; ++i)
    if (!step().applied) {
      std::printf("FAIL: a loss is not finite\n");
      return 1;
    }
  const uint64_t waits = cuda_synchronizations() - before;
  std::printf("%llu waits for the GPU in 5 training steps (budget: 5)\n", static_cast<unsigned long long>(waits));
  return waits <= 5 ? 0 : 1;
}
