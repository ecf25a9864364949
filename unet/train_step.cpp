#include "unet/train_step.hpp"

#include <cmath>

namespace unet {

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const std::function<Tensor(const Tensor&)>& loss_of) {
  StepResult r;
  model.zero_grad();
  r.logits = model.forward(x);
  const Tensor l = loss_of(r.logits);
  r.loss = l.item();
  if (!std::isfinite(r.loss)) return r;
  l.backward();
  adam.step();
  r.applied = true;
  return r;
}

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& target, const LossConfig& loss) {
  return train_step(model, adam, x, [&](const Tensor& logits) { return segmentation_loss(logits, target, loss); });
}

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& classes, const MulticlassLossConfig& loss) {
  return train_step(model, adam, x, [&](const Tensor& logits) { return multiclass_segmentation_loss(logits, classes, loss); });
}

}  // namespace unet
