#include "unet/losses.hpp"

#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "kernels/kernels.hpp"
#include "layers/ops.hpp"

namespace unet {

namespace {
void check_pair(const char* op, const Tensor& logits, const Tensor& target) {
  check_same_shape(op, logits, target);
  check_same_device(op, logits, target);
  UNET_CHECK(logits.numel() > 0, op, "empty input " + shape_str(logits.shape()));
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
  UNET_THROW("--loss", "'" + name + "' is not a loss; use bce, dice or bce+dice");
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
  switch (config.kind) {
    case LossKind::Bce: return bce_with_logits_loss(logits, target);
    case LossKind::Dice: return soft_dice_loss(logits, target, config.dice_smooth);
    case LossKind::BceDice:
      return ops::add(ops::scale(bce_with_logits_loss(logits, target), config.bce_weight),
                      ops::scale(soft_dice_loss(logits, target, config.dice_smooth), config.dice_weight));
  }
  UNET_THROW("segmentation_loss", "unknown loss kind");
}

}  // namespace unet
