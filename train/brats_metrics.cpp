#include "train/brats_metrics.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace {

constexpr uint8_t kLastEngineClass = 3;  // BraTS label 4

// A region is a set of engine classes: bit c set = class c belongs to it.
constexpr uint8_t kWholeTumour = 0b1110, kTumourCore = 0b1010, kEnhancingTumour = 0b1000;

void check_classes(const uint8_t* volume, int64_t n, const char* which) {
  for (int64_t i = 0; i < n; ++i)
    UNET_CHECK(volume[i] <= kLastEngineClass, "brats_case_metrics",
               trf("the {} volume holds the value {} at voxel index {}; expected engine classes 0..3 (map BraTS label "
                   "4 to class 3 first)",
                   which, std::to_string(volume[i]), std::to_string(i)));
}

bool in(uint8_t members, uint8_t engine_class) {
  return (members >> engine_class) & 1u;
}

double dice_of(const uint8_t* pred, const uint8_t* truth, int64_t n, uint8_t members) {
  int64_t both = 0, in_pred = 0, in_truth = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool p = in(members, pred[i]), t = in(members, truth[i]);
    both += p && t;
    in_pred += p;
    in_truth += t;
  }
  if (in_pred + in_truth == 0) return 1.0;  // both empty: a correct "none of it"
  return 2.0 * static_cast<double>(both) / static_cast<double>(in_pred + in_truth);
}

double iou_of(const uint8_t* pred, const uint8_t* truth, int64_t n, uint8_t members) {
  int64_t both = 0, either = 0;
  for (int64_t i = 0; i < n; ++i) {
    const bool p = in(members, pred[i]), t = in(members, truth[i]);
    both += p && t;
    either += p || t;
  }
  return either == 0 ? 1.0 : static_cast<double>(both) / static_cast<double>(either);  // both empty: correct
}

std::vector<uint8_t> region_mask(const uint8_t* volume, int64_t n, uint8_t members) {
  std::vector<uint8_t> mask(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) mask[static_cast<size_t>(i)] = in(members, volume[i]);
  return mask;
}

double region_hd95(const uint8_t* pred, const uint8_t* truth, const VoxelGrid& grid, uint8_t members) {
  const int64_t n = grid.voxels();
  return hd95(region_mask(pred, n, members).data(), region_mask(truth, n, members).data(), grid);
}

MeanOverCases mean_ignoring_nan(const std::vector<BratsCaseMetrics>& cases, double BratsCaseMetrics::*field) {
  MeanOverCases m;
  double sum = 0.0;
  for (const auto& c : cases)
    if (!std::isnan(c.*field)) sum += c.*field, ++m.count;
  m.mean = m.count ? sum / static_cast<double>(m.count) : std::numeric_limits<double>::quiet_NaN();
  return m;
}

}  // namespace

BratsCaseMetrics brats_case_metrics(const uint8_t* pred, const uint8_t* truth, const VoxelGrid& grid) {
  check_voxel_grid(grid, "brats_case_metrics");
  const int64_t n = grid.voxels();
  check_classes(pred, n, "predicted");
  check_classes(truth, n, "ground-truth");
  BratsCaseMetrics m;
  m.dice_label1 = dice_of(pred, truth, n, 1u << 1);
  m.dice_label2 = dice_of(pred, truth, n, 1u << 2);
  m.dice_label4 = dice_of(pred, truth, n, 1u << 3);
  m.dice_wt = dice_of(pred, truth, n, kWholeTumour);
  m.dice_tc = dice_of(pred, truth, n, kTumourCore);
  m.dice_et = dice_of(pred, truth, n, kEnhancingTumour);
  m.iou_wt = iou_of(pred, truth, n, kWholeTumour);
  m.iou_tc = iou_of(pred, truth, n, kTumourCore);
  m.iou_et = iou_of(pred, truth, n, kEnhancingTumour);
  m.hd95_wt = region_hd95(pred, truth, grid, kWholeTumour);
  m.hd95_tc = region_hd95(pred, truth, grid, kTumourCore);
  m.hd95_et = region_hd95(pred, truth, grid, kEnhancingTumour);
  return m;
}

BratsCaseMetrics brats_case_metrics(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& truth,
                                    const VoxelGrid& grid) {
  check_voxel_grid(grid, "brats_case_metrics");
  const auto expected = static_cast<size_t>(grid.voxels());
  UNET_CHECK(pred.size() == expected && truth.size() == expected, "brats_case_metrics",
             trf("the predicted volume has {} voxels and the ground truth {}; the grid {} x {} x {} needs {} each",
                 std::to_string(pred.size()), std::to_string(truth.size()), std::to_string(grid.nx),
                 std::to_string(grid.ny), std::to_string(grid.nz), std::to_string(expected)));
  return brats_case_metrics(pred.data(), truth.data(), grid);
}

BratsMeanMetrics brats_mean_metrics(const std::vector<BratsCaseMetrics>& cases) {
  BratsMeanMetrics m;
  m.cases = static_cast<int64_t>(cases.size());
  m.dice_label1 = mean_ignoring_nan(cases, &BratsCaseMetrics::dice_label1);
  m.dice_label2 = mean_ignoring_nan(cases, &BratsCaseMetrics::dice_label2);
  m.dice_label4 = mean_ignoring_nan(cases, &BratsCaseMetrics::dice_label4);
  m.dice_wt = mean_ignoring_nan(cases, &BratsCaseMetrics::dice_wt);
  m.dice_tc = mean_ignoring_nan(cases, &BratsCaseMetrics::dice_tc);
  m.dice_et = mean_ignoring_nan(cases, &BratsCaseMetrics::dice_et);
  m.iou_wt = mean_ignoring_nan(cases, &BratsCaseMetrics::iou_wt);
  m.iou_tc = mean_ignoring_nan(cases, &BratsCaseMetrics::iou_tc);
  m.iou_et = mean_ignoring_nan(cases, &BratsCaseMetrics::iou_et);
  m.hd95_wt = mean_ignoring_nan(cases, &BratsCaseMetrics::hd95_wt);
  m.hd95_tc = mean_ignoring_nan(cases, &BratsCaseMetrics::hd95_tc);
  m.hd95_et = mean_ignoring_nan(cases, &BratsCaseMetrics::hd95_et);
  return m;
}

}  // namespace unet
