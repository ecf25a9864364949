#include "train/evaluate.hpp"

#include <cmath>

#include "data/augment.hpp"
#include "engine/autograd.hpp"
#include "base/host_buffer.hpp"
#include "unet/inference_memory.hpp"
#include "train/metrics.hpp"

namespace unet {

EvalResult evaluate(UNet& model, const std::vector<data::Volume>& volumes, const std::vector<size_t>& which,
                    const LossConfig& loss, const EvalConfig& options) {
  NoGradGuard no_grad;
  const bool was_training = model.training();
  model.train(false);
  const InferenceMemoryPolicy memory(model);
  EvalResult r;
  double loss_sum = 0.0, dice_sum = 0.0, iou_sum = 0.0;
  int64_t slices = 0;
  constexpr float logit_threshold = 0.0f;  // probability 0.5, as the reference program and the training Dice
  for (size_t vi : which) {
    const data::Volume& v = volumes[vi];
    const int64_t s = v.size, plane = s * s, depth = v.depth();
    VolumeResult vr;
    vr.patient = v.patient;
    std::vector<uint8_t> pred(static_cast<size_t>(depth * plane));
    std::vector<float> prob(options.keep_predictions ? static_cast<size_t>(depth * plane) : 0);
    for (int64_t d0 = 0; d0 < depth; d0 += options.batch) {
      const int64_t n = std::min(options.batch, depth - d0);
      HostBuffer img(static_cast<size_t>(n * 3 * plane)), msk(static_cast<size_t>(n * plane));
      for (int64_t i = 0; i < n; ++i)
        data::render_sample(v, d0 + i, data::Affine::identity(), img.data() + i * 3 * plane, msk.data() + i * plane);
      const Tensor x = Tensor::from_host({n, 3, s, s}, img.data(), model.device());  // [N, 3, S, S]
      const Tensor t = Tensor::from_host({n, 1, s, s}, msk.data(), model.device());  // [N, 1, S, S]
      const Tensor logits = model.forward(x);
      loss_sum += static_cast<double>(segmentation_loss(logits, t, loss).item()) * static_cast<double>(n);
      const std::vector<float> z = logits.to_vector();
      for (int64_t i = 0; i < n * plane; ++i) {
        pred[static_cast<size_t>(d0 * plane + i)] = z[static_cast<size_t>(i)] > logit_threshold ? 1 : 0;
        if (options.keep_predictions) prob[static_cast<size_t>(d0 * plane + i)] = 1.0f / (1.0f + std::exp(-z[static_cast<size_t>(i)]));
      }
    }
    if (options.largest_component) keep_largest_component(pred, depth, s);
    for (int64_t d = 0; d < depth; ++d) {
      dice_sum += dice(pred.data() + d * plane, v.masks.data() + d * plane, plane);
      iou_sum += iou(pred.data() + d * plane, v.masks.data() + d * plane, plane);
    }
    slices += depth;
    vr.dsc = dice_volume(pred, v.masks);
    vr.iou = iou_volume(pred, v.masks);
    if (options.keep_predictions) {
      vr.prediction = std::move(pred);
      vr.probability = std::move(prob);
    }
    r.volumes.push_back(std::move(vr));
  }
  model.train(was_training);
  if (slices > 0) {
    r.loss = loss_sum / static_cast<double>(slices);
    r.dice_per_slice = dice_sum / static_cast<double>(slices);
    r.iou_per_slice = iou_sum / static_cast<double>(slices);
  }
  std::vector<double> dscs, ious;
  for (const auto& v : r.volumes) dscs.push_back(v.dsc), ious.push_back(v.iou);
  r.dsc_per_volume = mean_of(dscs);
  r.iou_per_volume = mean_of(ious);
  return r;
}

}  // namespace unet
