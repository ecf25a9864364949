#include "train/lr_schedule.hpp"

#include <algorithm>

#include "base/i18n.hpp"
#include "train/run_folder.hpp"

namespace unet {

void schedule_learning_rate(TrainState& state, const TrainConfig& config, double metric,
                            const std::function<void(const std::string&)>& say) {
  if (config.lr_schedule != "plateau") return;
  if (metric > state.plateau_best * (1.0 + 1e-4)) {
    state.plateau_best = metric;
    state.plateau_bad = 0;
  } else if (++state.plateau_bad > config.plateau_patience) {
    const double new_lr = std::max(state.lr * config.plateau_factor, config.min_lr);
    if (new_lr < state.lr && say) say(trf("plateau: learning rate {} -> {}", fmt(state.lr), fmt(new_lr)));
    state.lr = new_lr;
    state.plateau_bad = 0;
  }
}

}  // namespace unet
