// One training step, the same for the trainer, `unet demo` and `unet bench`:
// zero the gradients, forward, loss, backward, Adam.
#pragma once

#include <functional>

#include "dist/communicator.hpp"
#include "unet/adam.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

namespace unet {

struct StepResult {
  Tensor logits;     // [N, K, *S], for the caller's metrics
  float loss = 0.0f;     // data-parallel: the global batch's loss (each rank's, weighted by its share)
  bool applied = false;  // false when the loss was not finite (on any rank): no backward, no update
  bool stop = false;     // data-parallel: some rank asked to stop; every rank stops after this step
};

// A step of a data-parallel run: this rank holds `share` of the global batch. The ranks agree
// after the forward (a rank that failed or a loss that is not finite stops them all before any
// update: AllRanksStopped), each rank's backward runs from its loss weighted by its share, the
// gradients are summed over the ranks in one collective on the flat gradient buffer, and each
// rank takes the same Adam step; BatchNorm's running statistics are then rank 0's on every rank
// (as DDP's broadcast buffers), so every rank holds the same model after every step.
struct DataParallel {
  dist::Communicator* comm = nullptr;
  double share = 1.0;           // this rank's samples / the global batch's
  bool stop_requested = false;  // this rank asks every rank to stop after this step (Ctrl-C)
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
                      const StepReadout* readout = nullptr, const DataParallel* parallel = nullptr);
// The multi-class model: x [N, C, D, H, W], classes [N, D, H, W] holding 0..K-1.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const Tensor& classes, const MulticlassLossConfig& loss,
                      const StepReadout* readout = nullptr, const DataParallel* parallel = nullptr);
// Any loss of the logits.
StepResult train_step(UNet& model, Adam& adam, const Tensor& x, const std::function<Tensor(const Tensor&)>& loss_of,
                      const StepReadout* readout = nullptr, const DataParallel* parallel = nullptr);

}  // namespace unet
