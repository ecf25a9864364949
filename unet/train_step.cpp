#include "unet/train_step.hpp"

#include <cmath>

namespace unet {

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& target, const LossConfig& loss) {
  StepResult r;
  model.zero_grad();
  r.logits = model.forward(x);
  const Tensor l = segmentation_loss(r.logits, target, loss);
  r.loss = l.item();
  if (!std::isfinite(r.loss)) return r;
  l.backward();
  adam.step();
  r.applied = true;
  return r;
}

}  // namespace unet
