#include "unet/train_step.hpp"

#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "base/i18n.hpp"
#include "engine/autograd.hpp"

namespace unet {

namespace {

// Forward, loss and the readout; the loss read back is the step's one wait for the device.
Tensor forward_and_loss(UNet& model, const Tensor& x, const std::function<Tensor(const Tensor&)>& loss_of,
                        const StepReadout* readout, StepResult& r) {
  model.zero_grad();
  r.logits = model.forward(x);
  Tensor l = loss_of(r.logits);
  if (readout != nullptr && readout->out != nullptr)
    (readout->view ? readout->view(r.logits) : r.logits).copy_to_host_async(*readout->out);
  r.loss = l.item();  // the readout's copy is queued before this wait
  return l;
}

StepResult data_parallel_step(UNet& model, Adam& adam, const Tensor& x,
                              const std::function<Tensor(const Tensor&)>& loss_of, const StepReadout* readout,
                              const DataParallel& dp) {
  dist::Communicator& comm = *dp.comm;
  StepResult r;
  // The forward moves BatchNorm's running statistics and counters; a step the ranks abandon puts
  // them back, so that it changes nothing anywhere.
  FlatTensorSet& buffers = model.buffers();
  const Tensor buffers_before = buffers.numel() > 0 ? buffers.flat().clone() : Tensor();
  std::vector<int64_t> counters_before;
  for (const StateEntry& e : model.state())
    if (e.counter != nullptr) counters_before.push_back(*e.counter);
  const auto undo_forward = [&] {
    if (buffers_before.defined()) buffers.flat().copy_from(buffers_before);
    size_t k = 0;
    for (const StateEntry& e : model.state())
      if (e.counter != nullptr) *e.counter = counters_before[k++];
  };
  Tensor l;
  std::string failure;
  try {
    l = forward_and_loss(model, x, loss_of, readout, r);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const bool finite = failure.empty() && std::isfinite(r.loss);
  // The ranks agree before anything changes: [global loss, ranks failed, losses not finite, stops].
  double vote[4] = {finite ? dp.share * static_cast<double>(r.loss) : 0.0, failure.empty() ? 0.0 : 1.0,
                    failure.empty() && !finite ? 1.0 : 0.0, dp.stop_requested ? 1.0 : 0.0};
  comm.allreduce_sum_host(vote, 4);
  r.stop = vote[3] > 0;
  if (vote[1] > 0 || vote[2] > 0) undo_forward();
  if (!failure.empty())
    throw dist::AllRanksStopped(__FILE__, __LINE__, "train step", dist::rank_prefix() + failure);
  if (vote[1] > 0)
    throw dist::AllRanksStopped(
        __FILE__, __LINE__, "train step",
        dist::rank_prefix() + trf("{} other rank(s) failed at this step (their own lines say why); every rank "
                                  "stops",
                                  static_cast<int>(vote[1])));
  if (vote[2] > 0) {
    r.loss = NAN;  // every rank reports the step as not applied
    return r;
  }
  r.loss = static_cast<float>(vote[0]);
  // d(share * loss): the sum over the ranks is the gradient of the global batch's loss.
  run_backward(l, Tensor::full({1}, static_cast<float>(dp.share), l.device()));
  FlatTensorSet& params = model.parameters();
  comm.allreduce_sum(params.flat_grad().data(), params.numel(), model.device());
  adam.step();
  if (buffers.numel() > 0) comm.broadcast(buffers.flat().data(), buffers.numel(), model.device(), 0);
  r.applied = true;
  return r;
}

}  // namespace

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const std::function<Tensor(const Tensor&)>& loss_of,
                      const StepReadout* readout, const DataParallel* parallel) {
  if (parallel != nullptr && parallel->comm != nullptr && parallel->comm->size() > 1)
    return data_parallel_step(model, adam, x, loss_of, readout, *parallel);
  StepResult r;
  r.stop = parallel != nullptr && parallel->stop_requested;
  const Tensor l = forward_and_loss(model, x, loss_of, readout, r);
  if (!std::isfinite(r.loss)) return r;
  l.backward();
  adam.step();
  r.applied = true;
  return r;
}

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& target, const LossConfig& loss,
                      const StepReadout* readout, const DataParallel* parallel) {
  return train_step(
      model, adam, x, [&](const Tensor& logits) { return segmentation_loss(logits, target, loss); }, readout, parallel);
}

StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& classes, const MulticlassLossConfig& loss,
                      const StepReadout* readout, const DataParallel* parallel) {
  return train_step(
      model, adam, x, [&](const Tensor& logits) { return multiclass_segmentation_loss(logits, classes, loss); }, readout,
      parallel);
}

}  // namespace unet
