// The BraTS metrics of a predicted segmentation against the ground truth: Dice of each tumour
// label and of the three evaluated regions, and the 95th-percentile Hausdorff distance (mm)
// of the regions, as the BraTS evaluation (medpy) computes them.
//
// Both volumes hold ENGINE CLASSES 0..3, not BraTS labels: 0 background, 1 necrotic / non-
// enhancing core (BraTS label 1), 2 edema (label 2), 3 enhancing tumour (BraTS label 4).
// A volume in BraTS labels {0, 1, 2, 4} must be mapped (4 -> 3) first, as the NIfTI reader
// does; a value above 3 is refused. Memory order [X][Y][Z], Z fastest (see VoxelGrid).
//
// Regions: WT (whole tumour) = labels {1, 2, 4}, TC (tumour core) = {1, 4}, ET (enhancing
// tumour) = {4}, so dice_et equals dice_label4; both are kept to report the usual tables.
//
// Empty masks: Dice is 1 when both are empty and 0 when exactly one is. HD95 is 0 when both
// are empty and NaN when exactly one is (the BraTS leaderboard writes 373.13 mm there instead;
// this code leaves NaN, and the mean over cases leaves it out and says how many it used).
#pragma once

#include <cstdint>
#include <vector>

#include "train/hausdorff.hpp"

namespace unet {

struct BratsCaseMetrics {
  double dice_label1 = 0.0, dice_label2 = 0.0, dice_label4 = 0.0;
  double dice_wt = 0.0, dice_tc = 0.0, dice_et = 0.0;
  double hd95_wt = 0.0, hd95_tc = 0.0, hd95_et = 0.0;  // mm; NaN when exactly one mask is empty
  double iou_wt = 0.0, iou_tc = 0.0, iou_et = 0.0;     // IoU (Jaccard) of the regions; 1 when both are empty
};

// The metrics of one case; `pred` and `truth` hold grid.voxels() engine classes each.
BratsCaseMetrics brats_case_metrics(const uint8_t* pred, const uint8_t* truth, const VoxelGrid& grid);
// The same, checking that both volumes have grid.voxels() entries.
BratsCaseMetrics brats_case_metrics(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& truth,
                                    const VoxelGrid& grid);

// A mean that ignores NaN, and how many values it used (NaN when it used none).
struct MeanOverCases {
  double mean = 0.0;
  int64_t count = 0;
};

struct BratsMeanMetrics {
  int64_t cases = 0;
  MeanOverCases dice_label1, dice_label2, dice_label4;
  MeanOverCases dice_wt, dice_tc, dice_et;
  MeanOverCases hd95_wt, hd95_tc, hd95_et;
  MeanOverCases iou_wt, iou_tc, iou_et;
};

BratsMeanMetrics brats_mean_metrics(const std::vector<BratsCaseMetrics>& cases);

}  // namespace unet
