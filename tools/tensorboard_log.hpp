// The curves of a training run in TensorBoard: which scalars, under which names. Per step the
// training loss; per epoch the epoch's training and validation figures and the learning rate
// (2D: Dice per slice, DSC and IoU per volume; BraTS: Dice per label and region, HD95).
#pragma once

#include "train/tensorboard_writer.hpp"
#include "train/train_state.hpp"
#include "train/trainer.hpp"

namespace unet::tools {

// One x axis for every curve, the global step ((epoch - 1) * steps per epoch + step):
// TensorBoard takes a step that goes back for a restarted run and drops the later points, so
// the epoch's figures go at the epoch's last step, with the epoch itself as the curve "epoch".
// Returns the global step.
int64_t log_step(TensorBoardWriter& tb, const StepInfo& step);
void log_epoch(TensorBoardWriter& tb, const EpochMetrics& m, bool brats, int64_t global_step);

}  // namespace unet::tools
