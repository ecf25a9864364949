// report.html: one self-contained page per run (charts as inline SVG, pictures as embedded
// PNG), with the charts also written as PNG files beside it.
#pragma once

#include <string>
#include <vector>

#include "train/trainer.hpp"

namespace unet::tools {

struct ReportSlice {
  std::string caption;
  std::string png;  // PNG bytes
};

// One validation volume in the report's slice viewer: a frame per shown slice.
struct ReportVolume {
  std::string name;
  std::vector<ReportSlice> frames;  // image | ground truth | prediction | overlay, in slice order
  int64_t total_slices = 0;         // of the volume (frames may show every k-th)
};

struct RunReport {
  std::string title;
  std::string config_json;
  std::vector<EpochMetrics> history;
  std::vector<std::string> volume_names;
  std::vector<double> volume_dsc;
  std::vector<ReportSlice> slices;
  std::vector<ReportVolume> viewer;  // the slice viewer; empty: no viewer section
  std::vector<std::pair<std::string, std::string>> facts;  // (name, value): timing, hardware, data...
};

// Writes dir/report.html and dir/{loss,dice,dsc_per_volume}.{svg,png}.
void write_report(const std::string& dir, const RunReport& report);

// dsc_per_volume.{svg,png,csv}; the CSV has an iou column when `iou` is given.
void write_dsc_chart(const std::string& dir, const std::vector<std::string>& names, const std::vector<double>& dsc,
                     const std::vector<double>& iou = {});

// Builds the report of a training run (runs a validation pass keeping predictions).
RunReport make_run_report(Trainer& trainer, double total_seconds, int max_slices = 6);

}  // namespace unet::tools
