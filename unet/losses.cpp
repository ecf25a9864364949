#include "unet/losses.hpp"

#include "layers/profiler.hpp"

#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"
#include "layers/ops.hpp"
#include "unet/class_ops.hpp"

namespace unet {

namespace {
void check_pair(const char* op, const Tensor& logits, const Tensor& target) {
  check_same_shape(op, logits, target);
  check_same_device(op, logits, target);
  UNET_CHECK(logits.numel() > 0, op, trf("empty input {}", shape_str(logits.shape())));
}
}  // namespace

Tensor bce_with_logits_loss(const Tensor& logits, const Tensor& target) {
  check_pair("bce_with_logits_loss", logits, target);
  const Device d = logits.device();
  const int64_t n = logits.numel();
  Tensor total = Tensor::empty({1}, d);
  kernels::bce_with_logits_sum(d, n, logits.data(), target.data(), total.data());
  Tensor loss = Tensor::empty({1}, d);
  kernels::scale(d, 1, 1.0f / static_cast<float>(n), total.data(), loss.data());
  record(loss, "bce_with_logits_loss", {logits, target},
         [n, d, z = detached(logits), t = detached(target)](const Tensor& dy) {
           Tensor dz = Tensor::empty(z.shape(), d);
           kernels::bce_with_logits_backward(d, n, z.data(), t.data(), dy.data(), 1.0f / static_cast<float>(n), dz.data());
           return std::vector<Tensor>{dz, Tensor()};  // no gradient for the target
         });
  return loss;
}

Tensor soft_dice_loss(const Tensor& logits, const Tensor& target, float smooth) {
  check_pair("soft_dice_loss", logits, target);
  const Device d = logits.device();
  const int64_t n = logits.numel();
  Tensor sums = Tensor::empty({3}, d);  // sum(p t), sum(p), sum(t)
  kernels::dice_sums(d, n, logits.data(), target.data(), sums.data());
  Tensor loss = Tensor::empty({1}, d);
  kernels::dice_loss(d, sums.data(), smooth, loss.data());
  record(loss, "soft_dice_loss", {logits, target},
         [n, d, smooth, sums, z = detached(logits), t = detached(target)](const Tensor& dy) {
           Tensor dz = Tensor::empty(z.shape(), d);
           kernels::dice_backward(d, n, z.data(), t.data(), sums.data(), smooth, dy.data(), dz.data());
           return std::vector<Tensor>{dz, Tensor()};
         });
  return loss;
}

LossKind LossConfig::parse(const std::string& name) {
  if (name == "bce") return LossKind::Bce;
  if (name == "dice") return LossKind::Dice;
  if (name == "bce+dice") return LossKind::BceDice;
  UNET_THROW("--loss", trf("'{}' is not a loss; use bce, dice or bce+dice", name));
}

std::string LossConfig::name(LossKind kind) {
  switch (kind) {
    case LossKind::Bce: return "bce";
    case LossKind::Dice: return "dice";
    case LossKind::BceDice: return "bce+dice";
  }
  return "?";
}

Tensor segmentation_loss(const Tensor& logits, const Tensor& target, const LossConfig& config) {
  // Bytes: logits and target read (twice for BCE+Dice).
  ScopedOpTimer timer(logits.device(), [&] { return "loss " + LossConfig::name(config.kind) + " " + shape_str(logits.shape()); },
                      false, 0.0, (config.kind == LossKind::BceDice ? 16.0 : 8.0) * static_cast<double>(logits.numel()));
  switch (config.kind) {
    case LossKind::Bce: return bce_with_logits_loss(logits, target);
    case LossKind::Dice: return soft_dice_loss(logits, target, config.dice_smooth);
    case LossKind::BceDice:
      return ops::add(ops::scale(bce_with_logits_loss(logits, target), config.bce_weight),
                      ops::scale(soft_dice_loss(logits, target, config.dice_smooth), config.dice_weight));
  }
  UNET_THROW("segmentation_loss", tr("unknown loss kind"));
}

Tensor softmax_dice_loss(const Tensor& logits, const Tensor& classes, float smooth) {
  const ClassLayout l = check_class_map("softmax_dice_loss", logits, classes);
  const Device d = logits.device();
  Tensor p = Tensor::empty(logits.shape(), d);  // kept for the backward, as PyTorch keeps softmax's output
  kernels::softmax_channels(d, l.n, l.c, l.s, logits.data(), p.data());
  Tensor sums = Tensor::empty({3 * l.c}, d);  // per class: sum(p y), sum(p), sum(y)
  kernels::softmax_dice_sums(d, l.n, l.c, l.s, p.data(), classes.data(), sums.data());
  Tensor loss = Tensor::empty({1}, d);
  kernels::softmax_dice_loss(d, l.c, sums.data(), smooth, loss.data());
  record(loss, "softmax_dice_loss", {logits, classes},
         [l, d, smooth, p, sums, t = detached(classes)](const Tensor& dy) {
           Tensor dz = Tensor::empty(p.shape(), d);
           kernels::softmax_dice_backward(d, l.n, l.c, l.s, p.data(), t.data(), sums.data(), smooth, dy.data(),
                                          dz.data());
           return std::vector<Tensor>{dz, Tensor()};  // no gradient for the class map
         });
  return loss;
}

Tensor cross_entropy_loss(const Tensor& logits, const Tensor& classes) {
  const ClassLayout l = check_class_map("cross_entropy_loss", logits, classes);
  const Device d = logits.device();
  const float inv_voxels = 1.0f / static_cast<float>(l.n * l.s);
  Tensor total = Tensor::empty({1}, d);
  kernels::cross_entropy_sum(d, l.n, l.c, l.s, logits.data(), classes.data(), total.data());
  Tensor loss = Tensor::empty({1}, d);
  kernels::scale(d, 1, inv_voxels, total.data(), loss.data());
  record(loss, "cross_entropy_loss", {logits, classes},
         [l, d, inv_voxels, z = detached(logits), t = detached(classes)](const Tensor& dy) {
           Tensor dz = Tensor::empty(z.shape(), d);
           kernels::cross_entropy_backward(d, l.n, l.c, l.s, z.data(), t.data(), dy.data(), inv_voxels, dz.data());
           return std::vector<Tensor>{dz, Tensor()};
         });
  return loss;
}

Tensor dice_ce_loss(const Tensor& logits, const Tensor& classes, float smooth) {
  return ops::add(softmax_dice_loss(logits, classes, smooth), cross_entropy_loss(logits, classes));
}

MulticlassLossKind MulticlassLossConfig::parse(const std::string& name) {
  if (name == "dice") return MulticlassLossKind::Dice;
  if (name == "ce") return MulticlassLossKind::CrossEntropy;
  if (name == "dice+ce") return MulticlassLossKind::DiceCrossEntropy;
  UNET_THROW("--loss", trf("'{}' is not a multi-class loss; use dice, ce or dice+ce", name));
}

std::string MulticlassLossConfig::name(MulticlassLossKind kind) {
  switch (kind) {
    case MulticlassLossKind::Dice: return "dice";
    case MulticlassLossKind::CrossEntropy: return "ce";
    case MulticlassLossKind::DiceCrossEntropy: return "dice+ce";
  }
  return "?";
}

Tensor multiclass_segmentation_loss(const Tensor& logits, const Tensor& classes, const MulticlassLossConfig& config) {
  switch (config.kind) {
    case MulticlassLossKind::Dice: return softmax_dice_loss(logits, classes, config.dice_smooth);
    case MulticlassLossKind::CrossEntropy: return cross_entropy_loss(logits, classes);
    case MulticlassLossKind::DiceCrossEntropy: return dice_ce_loss(logits, classes, config.dice_smooth);
  }
  UNET_THROW("multiclass_segmentation_loss", tr("unknown loss kind"));
}

}  // namespace unet
