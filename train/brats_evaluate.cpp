#include "train/brats_evaluate.hpp"

#include <cmath>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "engine/autograd.hpp"
#include "train/hausdorff.hpp"
#include "unet/sliding_window.hpp"

namespace unet {

namespace {
// Restores the model's training flag when inference is done.
class EvalMode {
 public:
  explicit EvalMode(UNet& m) : model_(m), was_training_(m.training()) { model_.train(false); }
  ~EvalMode() { model_.train(was_training_); }
  EvalMode(const EvalMode&) = delete;
  EvalMode& operator=(const EvalMode&) = delete;

 private:
  UNet& model_;
  bool was_training_;
};
}  // namespace

Tensor predict_case_logits(UNet& model, const data::BratsCase& c, const BratsInferenceOptions& options) {
  const auto& d = c.dims;
  UNET_CHECK(model.config().rank() == 3, c.id, tr("the model is a 2D U-Net; a BraTS case needs the 3D U-Net"));
  UNET_CHECK(model.config().in_channels == 4, c.id,
             trf("the model takes {} input channels, a BraTS case has 4", std::to_string(model.config().in_channels)));
  const Tensor image = Tensor::from_vector({4, d[0], d[1], d[2]}, c.image);  // [4, X, Y, Z]
  EvalMode eval(model);
  NoGradGuard no_grad;
  SlidingWindowOptions sw;
  sw.patch = {options.patch, options.patch, options.patch};
  sw.overlap = options.overlap;
  sw.patch_device = model.device();
  return sliding_window_predict(image, [&](const Tensor& x) { return model.forward(x); }, sw);
}

std::vector<uint8_t> predict_case_classes(UNet& model, const data::BratsCase& c, const BratsInferenceOptions& options) {
  return argmax_classes(predict_case_logits(model, c, options));
}

BratsCaseResult evaluate_brats_case(UNet& model, const data::BratsCase& c, const MulticlassLossConfig& loss,
                                    const BratsInferenceOptions& options, bool keep_prediction) {
  UNET_CHECK(c.has_labels, c.id, tr("has no seg file; evaluation needs the labels"));
  const Tensor logits = predict_case_logits(model, c, options);  // [K, X, Y, Z]
  BratsCaseResult cr;
  cr.id = c.id;
  {
    NoGradGuard no_grad;
    Shape batched = logits.shape();
    batched.insert(batched.begin(), 1);  // [1, K, X, Y, Z]
    std::vector<float> classes(c.classes.begin(), c.classes.end());
    const Tensor truth = Tensor::from_vector({1, c.dims[0], c.dims[1], c.dims[2]}, classes);
    cr.loss = multiclass_segmentation_loss(logits.reshape(batched), truth, loss).item();
  }
  std::vector<uint8_t> pred = argmax_classes(logits);
  const VoxelGrid grid{c.dims[0], c.dims[1], c.dims[2], c.spacing[0], c.spacing[1], c.spacing[2]};
  cr.metrics = brats_case_metrics(pred, c.classes, grid);
  if (keep_prediction) cr.prediction = std::move(pred);
  return cr;
}

BratsEvalResult evaluate_brats(UNet& model, const std::vector<size_t>& which, const BratsCaseSource& case_of,
                               const MulticlassLossConfig& loss, const BratsInferenceOptions& options,
                               bool keep_predictions, const std::function<void(const BratsCaseResult&)>& on_case) {
  std::vector<BratsCaseResult> cases;
  for (size_t i : which) {
    const std::shared_ptr<const data::BratsCase> c = case_of(i);
    if (!c) continue;  // the source could not give it (and said so)
    BratsCaseResult cr = evaluate_brats_case(model, *c, loss, options, keep_predictions);
    if (on_case) on_case(cr);
    cases.push_back(std::move(cr));
  }
  return brats_eval_result(std::move(cases));
}

BratsEvalResult brats_eval_result(std::vector<BratsCaseResult> cases) {
  BratsEvalResult r;
  std::vector<BratsCaseMetrics> metrics;
  for (const BratsCaseResult& cr : cases) {
    r.loss += cr.loss;
    metrics.push_back(cr.metrics);
  }
  if (!cases.empty()) r.loss /= static_cast<double>(cases.size());
  r.mean = brats_mean_metrics(metrics);
  r.region_dice = (r.mean.dice_wt.mean + r.mean.dice_tc.mean + r.mean.dice_et.mean) / 3.0;
  r.cases = std::move(cases);
  return r;
}

BratsEvalResult evaluate_brats(UNet& model, const std::vector<data::BratsCase>& cases, const std::vector<size_t>& which,
                               const MulticlassLossConfig& loss, const BratsInferenceOptions& options,
                               bool keep_predictions, const std::function<void(const BratsCaseResult&)>& on_case) {
  // Non-owning pointers into `cases` (the aliasing constructor with no owner).
  const BratsCaseSource in_memory = [&](size_t i) {
    return std::shared_ptr<const data::BratsCase>(std::shared_ptr<void>(), &cases.at(i));
  };
  return evaluate_brats(model, which, in_memory, loss, options, keep_predictions, on_case);
}

}  // namespace unet
