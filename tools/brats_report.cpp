#include "tools/brats_report.hpp"

#include <cstdio>
#include <filesystem>

#include "base/device.hpp"
#include "tools/visuals.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

RunReport make_brats_run_report(BratsTrainer& trainer, double total_seconds) {
  RunReport r;
  const TrainConfig& c = trainer.config();
  r.title = "unet-engine BraTS run: " + fs::path(c.out).filename().string();
  r.config_json = c.to_json();
  r.history = trainer.state().history;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f s", total_seconds);
  r.facts = {{"data", c.data},
             {"cases (training / validation)", std::to_string(trainer.cases().size()) + " (" +
                                                   std::to_string(trainer.cases().size() - trainer.validation_cases().size()) +
                                                   " / " + std::to_string(trainer.validation_cases().size()) + ")"},
             {"model", "3D U-Net base " + std::to_string(c.base) + ", depth " + std::to_string(trainer.model().config().depth) +
                           ", " + trainer.model().config().layout_name() + " layout, " +
                           std::to_string(trainer.model().parameter_count()) + " parameters"},
             {"device", std::string(device_name(trainer.device())) + ": " + hardware_description(trainer.device())},
             {"training time", buf},
             {"epochs done", std::to_string(trainer.state().history.size()) + " of " + std::to_string(c.epochs)},
             {"best validation mean region Dice (WT+TC+ET)/3",
              std::to_string(trainer.state().best_dsc) + " (epoch " + std::to_string(trainer.state().best_epoch) + ")"}};
  if (trainer.validation_cases().empty()) return r;
  const BratsEvalResult ev = trainer.evaluate_validation();
  for (const auto& cr : ev.cases) {
    r.volume_names.push_back(cr.id);
    r.volume_dsc.push_back(cr.metrics.dice_wt);
  }
  return r;
}

}  // namespace unet::tools
