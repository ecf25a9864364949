// report.html of a BraTS (3D) training run: the run's facts; curves of the loss, the Dice of
// each label (training patches and validation cases) and the validation Dice of each region;
// the epochs; a validation pass with each case's Dice per label and region and HD95; and
// pictures image | ground truth | prediction in three planes for the first validation cases.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tools/report.hpp"
#include "train/brats_metrics.hpp"
#include "train/brats_trainer.hpp"

namespace unet::tools {

struct BratsReportCase {
  std::string id;
  BratsCaseMetrics metrics;
};

struct BratsRunReport {
  std::string title;
  std::string config_json;
  std::vector<EpochMetrics> history;
  std::vector<std::pair<std::string, std::string>> facts;  // (name, value)
  std::vector<BratsReportCase> cases;                      // the validation pass
  BratsMeanMetrics mean;
  std::vector<ReportSlice> pictures;                       // PNG bytes with captions
};

// Writes dir/report.html (self-contained: inline SVG charts, embedded PNG pictures) and the
// charts beside it as dir/{loss,label_dice,region_dice}.{svg,png}.
void write_report(const std::string& dir, const BratsRunReport& report);

// Builds the report of a BraTS run: runs a sliding-window validation pass and draws the three
// planes through the tumour of the first `picture_cases` validation cases.
BratsRunReport make_brats_run_report(BratsTrainer& trainer, double total_seconds, int picture_cases = 3);

}  // namespace unet::tools
