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

// x [N, C, H, W] and target [N, 1, H, W] on the model's device. Reading the loss waits for
// the device; a NaN or Inf loss leaves the weights and the optimizer untouched.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& target, const LossConfig& loss);
// The multi-class model: x [N, C, D, H, W], classes [N, D, H, W] holding 0..K-1.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& classes, const MulticlassLossConfig& loss);
// Any loss of the logits.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const std::function<Tensor(const Tensor&)>& loss_of);

}  // namespace unet
