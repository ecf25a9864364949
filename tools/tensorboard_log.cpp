#include "tools/tensorboard_log.hpp"

namespace unet::tools {

int64_t log_step(TensorBoardWriter& tb, const StepInfo& s) {
  const int64_t global = (s.epoch - 1) * s.steps_in_epoch + s.step;
  tb.scalar("train/loss_per_step", s.loss, global);
  return global;
}

void log_epoch(TensorBoardWriter& tb, const EpochMetrics& m, bool brats, int64_t global_step) {
  const int64_t e = global_step;
  tb.scalar("epoch", static_cast<double>(m.epoch), e);
  tb.scalar("train/loss", m.train_loss, e);
  tb.scalar("val/loss", m.val_loss, e);
  tb.scalar("lr", m.lr, e);
  if (!brats) {
    tb.scalar("train/dice", m.train_dice, e);
    tb.scalar("val/dice_per_slice", m.val_dice_slice, e);
    tb.scalar("val/dsc_per_volume", m.val_dsc_volume, e);
    tb.scalar("val/iou_per_slice", m.val_iou_slice, e);
    tb.scalar("val/iou_per_volume", m.val_iou_volume, e);
    return;
  }
  tb.scalar("train/dice_label1", m.train_dice_l1, e);
  tb.scalar("train/dice_label2", m.train_dice_l2, e);
  tb.scalar("train/dice_label4", m.train_dice_l4, e);
  tb.scalar("val/dice_label1", m.val_dice_l1, e);
  tb.scalar("val/dice_label2", m.val_dice_l2, e);
  tb.scalar("val/dice_label4", m.val_dice_l4, e);
  tb.scalar("val/dice_WT", m.val_dice_wt, e);
  tb.scalar("val/dice_TC", m.val_dice_tc, e);
  tb.scalar("val/dice_ET", m.val_dice_et, e);
  tb.scalar("val/mean_region_dice", m.val_dsc_volume, e);
  tb.scalar("val/iou_WT", m.val_iou_wt, e);
  tb.scalar("val/iou_TC", m.val_iou_tc, e);
  tb.scalar("val/iou_ET", m.val_iou_et, e);
  // An undefined HD95 (-1: the region empty on one side in every case) is left out of the curve.
  for (const auto& [tag, v] : {std::pair{"val/hd95_WT_mm", m.val_hd95_wt}, std::pair{"val/hd95_TC_mm", m.val_hd95_tc},
                               std::pair{"val/hd95_ET_mm", m.val_hd95_et}})
    if (v >= 0) tb.scalar(tag, v, e);
}

}  // namespace unet::tools
