#include "unet/train_step.hpp"

#include <cmath>

namespace unet {

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const std::function<Tensor(const Tensor&)>& loss_of,
                      const StepReadout* readout) {
  StepResult r;
  model.zero_grad();
  r.logits = model.forward(x);
  const Tensor l = loss_of(r.logits);
  if (readout != nullptr && readout->out != nullptr)
    (readout->view ? readout->view(r.logits) : r.logits).copy_to_host_async(*readout->out);
  r.loss = l.item();  // the step's one wait for the device: the readout's copy is queued before it
  if (!std::isfinite(r.loss)) return r;
  l.backward();
  adam.step();
  r.applied = true;
  return r;
}

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& target, const LossConfig& loss,
                      const StepReadout* readout) {
  return train_step(model, adam, x, [&](const Tensor& logits) { return segmentation_loss(logits, target, loss); },
                    readout);
}

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& classes, const MulticlassLossConfig& loss,
                      const StepReadout* readout) {
  return train_step(
      model, adam, x, [&](const Tensor& logits) { return multiclass_segmentation_loss(logits, classes, loss); }, readout);
}

}  // namespace unet
