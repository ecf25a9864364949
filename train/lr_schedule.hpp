// The learning-rate schedule of a run, applied once per epoch to its state.
#pragma once

#include <functional>
#include <string>

#include "train/train_config.hpp"
#include "train/train_state.hpp"

namespace unet {

// --lr-schedule plateau: ReduceLROnPlateau(mode="max", threshold=1e-4 relative) on the
// validation metric the best checkpoint is chosen by; nothing for "none". `say` is told of
// each reduction.
void schedule_learning_rate(TrainState& state, const TrainConfig& config, double metric,
                            const std::function<void(const std::string&)>& say);

}  // namespace unet
