#include "tools/tensorboard_log.hpp"

#include <utility>
#include <vector>

namespace unet::tools {

int64_t log_step(TensorBoardWriter& tb, const StepInfo& s) {
  const int64_t global = (s.epoch - 1) * s.steps_in_epoch + s.step;
  tb.scalar("train/loss_per_step", s.loss, global);
  return global;
}

void log_epoch(TensorBoardWriter& tb, const EpochMetrics& m, bool brats, int64_t global_step) {
  using Curves = std::vector<std::pair<const char*, double>>;
  Curves curves{{"epoch", static_cast<double>(m.epoch)}, {"train/loss", m.train_loss}, {"val/loss", m.val_loss},
                {"lr", m.lr}};
  const Curves more =
      brats ? Curves{{"train/dice_label1", m.train_dice_l1}, {"train/dice_label2", m.train_dice_l2},
                     {"train/dice_label4", m.train_dice_l4}, {"val/dice_label1", m.val_dice_l1},
                     {"val/dice_label2", m.val_dice_l2},     {"val/dice_label4", m.val_dice_l4},
                     {"val/dice_WT", m.val_dice_wt},         {"val/dice_TC", m.val_dice_tc},
                     {"val/dice_ET", m.val_dice_et},         {"val/mean_region_dice", m.val_dsc_volume},
                     {"val/iou_WT", m.val_iou_wt},           {"val/iou_TC", m.val_iou_tc},
                     {"val/iou_ET", m.val_iou_et}}
            : Curves{{"train/dice", m.train_dice},           {"val/dice_per_slice", m.val_dice_slice},
                     {"val/dsc_per_volume", m.val_dsc_volume}, {"val/iou_per_slice", m.val_iou_slice},
                     {"val/iou_per_volume", m.val_iou_volume}};
  curves.insert(curves.end(), more.begin(), more.end());
  // An undefined HD95 (-1: the region empty on one side in every case) is left out of the curve.
  if (brats)
    for (const auto& [tag, v] : Curves{{"val/hd95_WT_mm", m.val_hd95_wt}, {"val/hd95_TC_mm", m.val_hd95_tc},
                                       {"val/hd95_ET_mm", m.val_hd95_et}})
      if (v >= 0) curves.emplace_back(tag, v);
  for (const auto& [tag, v] : curves) tb.scalar(tag, v, global_step);
}

}  // namespace unet::tools
