// Where a run stands: per-epoch metrics and everything needed to continue exactly where it
// stopped. Bound to JSON once, below the structs; every TrainState field is required, so a
// damaged checkpoint names the missing one instead of resuming from a wrong place.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace unet {

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_dice = 0;
  double val_loss = 0, val_dice_slice = 0, val_dsc_volume = 0;
  double val_iou_slice = 0, val_iou_volume = 0;  // IoU (Jaccard) beside Dice per slice and per volume
  double lr = 0;
  double seconds = 0;  // wall time of the epoch (console and report only; not in metrics.csv)
  bool best = false;   // this epoch improved the best DSC and best.safetensors was written
  // BraTS runs (0 in 2D runs): Dice of the training patches per label (1, 2, 4), and the
  // validation cases' mean Dice per label and region and mean HD95 per region in mm (-1 when
  // no case had the region in both prediction and truth). val_dsc_volume is then the mean
  // region Dice (WT + TC + ET) / 3, the number the best checkpoint is chosen by.
  double train_dice_l1 = 0, train_dice_l2 = 0, train_dice_l4 = 0;
  double val_dice_l1 = 0, val_dice_l2 = 0, val_dice_l4 = 0;
  double val_dice_wt = 0, val_dice_tc = 0, val_dice_et = 0;
  double val_hd95_wt = 0, val_hd95_tc = 0, val_hd95_et = 0;
  double val_iou_wt = 0, val_iou_tc = 0, val_iou_et = 0;  // mean IoU (Jaccard) per region
};
// Stored as an object; reads the [epoch, train_loss, ...] arrays of runs saved before too.
void to_json(nlohmann::json& j, const EpochMetrics& m);
void from_json(const nlohmann::json& j, EpochMetrics& m);

// Everything needed to continue a run exactly where it stopped.
struct TrainState {
  int64_t epoch = 0;       // 0-based epoch in progress (or next to start)
  int64_t next_batch = 0;  // batches of `epoch` already done
  double partial_loss = 0, partial_dice = 0;
  int64_t partial_samples = 0;
  double best_dsc = -1.0;
  int64_t best_epoch = 0;
  double lr = 0.0;
  int64_t plateau_bad = 0;
  double plateau_best = -1.0;
  std::vector<EpochMetrics> history;
  std::string to_json() const;
  static TrainState from_json(const std::string& json, const std::string& where);
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainState, epoch, next_batch, partial_loss, partial_dice, partial_samples, best_dsc, best_epoch, lr, plateau_bad, plateau_best, history)

}  // namespace unet
