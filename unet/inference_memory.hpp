// Host memory during inference. Each decoder level needs larger blocks than anything freed
// so far; when the CPU allocator's cache holds a lot (large batches), handing it back before
// the level keeps the peak RSS near what is in use, while small batches keep their cache
// (releasing costs page faults). Training needs none of this: the autograd graph holds the
// activations and a steady step hits the cache. The device allocator already returns its
// cache when an allocation fails, and cudaFree/cudaMalloc here would cost more than it saves.
#pragma once

#include "base/allocator.hpp"
#include "unet/unet_model.hpp"

namespace unet {

// While alive, `model`'s forward passes release the CPU cache above 256 MB between levels.
class InferenceMemoryPolicy {
 public:
  explicit InferenceMemoryPolicy(UNet& model) : model_(model), previous_(model.before_decoder_level) {
    if (model.device() != Device::CPU) return;
    model.before_decoder_level = [](int64_t) {
      constexpr std::size_t kReleaseAbove = std::size_t{256} << 20;
      if (allocator_for(Device::CPU).stats().cached > kReleaseAbove) allocator_for(Device::CPU).empty_cache();
    };
  }
  ~InferenceMemoryPolicy() { model_.before_decoder_level = previous_; }
  InferenceMemoryPolicy(const InferenceMemoryPolicy&) = delete;
  InferenceMemoryPolicy& operator=(const InferenceMemoryPolicy&) = delete;

 private:
  UNet& model_;
  std::function<void(int64_t)> previous_;
};

}  // namespace unet
