// Segmentation losses. Binary (the 2D model): logits [N, 1, H, W] against targets in {0, 1}
// of the same shape. Multi-class (the 3D BraTS model): logits [N, C, spatial...] against a
// class map [N, spatial...] (or [N, 1, spatial...]) of floats holding 0..C-1.
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

// --- Multi-class (softmax over the C channels of each voxel) ---------------------------------
// A class index outside 0..C-1 is the caller's error: it matches no class (Dice) and adds no
// loss (cross-entropy); the kernels read nothing out of bounds.

// 1 - mean over classes k of (2 sum(p_k y_k) + smooth) / (sum(p_k) + sum(y_k) + smooth),
// p = softmax(logits), y = one-hot(classes), each sum over the whole batch: the reference
// program's 3D DiceLoss (smooth = 1e-5 there) -> [1]
Tensor softmax_dice_loss(const Tensor& logits, const Tensor& classes, float smooth = 1e-5f);
// mean over all voxels of -log softmax(logits)[class] (torch's F.cross_entropy) -> [1]
Tensor cross_entropy_loss(const Tensor& logits, const Tensor& classes);
// softmax_dice_loss + cross_entropy_loss, weight 1 each, as nnU-Net -> [1]
Tensor dice_ce_loss(const Tensor& logits, const Tensor& classes, float smooth = 1e-5f);

enum class MulticlassLossKind { Dice, CrossEntropy, DiceCrossEntropy };

// The multi-class model's losses have their own names: "dice" there is the softmax Dice over
// C classes, not the binary model's sigmoid Dice, so the two parsers stay apart.
struct MulticlassLossConfig {
  MulticlassLossKind kind = MulticlassLossKind::Dice;  // the reference program's loss
  float dice_smooth = 1e-5f;

  static MulticlassLossKind parse(const std::string& name);  // "dice", "ce", "dice+ce"
  static std::string name(MulticlassLossKind kind);
};

Tensor multiclass_segmentation_loss(const Tensor& logits, const Tensor& classes, const MulticlassLossConfig& config);

}  // namespace unet
