// One training step, the same for the trainer, `unet demo` and `unet bench`:
// zero the gradients, forward, loss, backward, Adam.
#pragma once

#include <functional>

#include "unet/adam.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

namespace unet {

struct StepResult {
  Tensor logits;     // [N, K, *S], for the caller's metrics
  float loss = 0.0f;
  bool applied = false;  // false when the loss was not finite: no backward, no update
};

// What a caller reads back of a step besides the loss: `view` of the logits (empty: the logits
// themselves; or e.g. their argmax), copied into `out` in the same wait as the loss, so that a
// step waits for the GPU once. Backward and Adam are queued after that wait and run while the
// host computes its metrics from `out` and prepares the next batch.
struct StepReadout {
  std::function<Tensor(const Tensor&)> view;
  HostBuffer* out = nullptr;
};

// x [N, C, H, W] and target [N, 1, H, W] on the model's device. Reading the loss waits for
// the device; a NaN or Inf loss leaves the weights and the optimizer untouched.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& target, const LossConfig& loss,
                      const StepReadout* readout = nullptr);
// The multi-class model: x [N, C, D, H, W], classes [N, D, H, W] holding 0..K-1.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& classes, const MulticlassLossConfig& loss,
                      const StepReadout* readout = nullptr);
// Any loss of the logits.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const std::function<Tensor(const Tensor&)>& loss_of,
                      const StepReadout* readout = nullptr);

}  // namespace unet
