// Segmentation losses on logits [N, 1, H, W] against targets in {0, 1} of the same shape.
#pragma once

#include <string>

#include "engine/tensor.hpp"

namespace unet {

// mean over all elements of BCE-with-logits (torch.nn.BCEWithLogitsLoss) -> [1]
Tensor bce_with_logits_loss(const Tensor& logits, const Tensor& target);

// 1 - (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth), p = sigmoid(logits), summed over
// the whole batch as the reference program's DiceLoss (smooth = 1 there) -> [1]
Tensor soft_dice_loss(const Tensor& logits, const Tensor& target, float smooth = 1.0f);

enum class LossKind { Bce, Dice, BceDice };

struct LossConfig {
  LossKind kind = LossKind::Bce;  // the spec's default: BCE-with-logits
  float bce_weight = 1.0f;        // used by BceDice
  float dice_weight = 1.0f;       // used by BceDice
  float dice_smooth = 1.0f;

  static LossKind parse(const std::string& name);  // "bce", "dice", "bce+dice"
  static std::string name(LossKind kind);
};

Tensor segmentation_loss(const Tensor& logits, const Tensor& target, const LossConfig& config);

}  // namespace unet
