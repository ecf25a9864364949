// report.html of a BraTS (3D) training run: the run's facts and curves, and a validation pass
// with the per-case Dice of each region.
#pragma once

#include "tools/report.hpp"
#include "train/brats_trainer.hpp"

namespace unet::tools {

// Builds the report of a BraTS run (runs a sliding-window validation pass).
RunReport make_brats_run_report(BratsTrainer& trainer, double total_seconds);

}  // namespace unet::tools
