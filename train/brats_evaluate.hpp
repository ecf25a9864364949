// The BraTS model over whole cases: sliding-window inference (Gaussian-weighted tiles, as
// nnU-Net), the argmax class map, and the BraTS metrics of each case against its labels.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/brats_volume.hpp"
#include "engine/tensor.hpp"
#include "train/brats_metrics.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

namespace unet {

struct BratsInferenceOptions {
  int64_t patch = 128;   // tiles of patch^3 voxels (a multiple of 2^depth)
  double overlap = 0.5;  // of neighbouring tiles
};

// The Gaussian-weighted mean of the tiles' logits over the whole case: [K, X, Y, Z] on the
// CPU. The model runs in evaluation mode, without gradients, on its own device.
Tensor predict_case_logits(UNet& model, const data::BratsCase& c, const BratsInferenceOptions& options);

// The engine classes 0..K-1 of every voxel ([X][Y][Z]) from those logits.
std::vector<uint8_t> predict_case_classes(UNet& model, const data::BratsCase& c, const BratsInferenceOptions& options);

struct BratsCaseResult {
  std::string id;
  BratsCaseMetrics metrics;
  double loss = 0.0;                // of the stitched whole-case logits
  std::vector<uint8_t> prediction;  // engine classes [X][Y][Z]; kept when asked for
};

struct BratsEvalResult {
  std::vector<BratsCaseResult> cases;
  BratsMeanMetrics mean;
  double loss = 0.0;         // mean over cases
  double region_dice = 0.0;  // (WT + TC + ET) / 3 of the means: what the best checkpoint is chosen by
};

// The result of the cases evaluated, in their order: mean loss, mean metrics, region Dice.
BratsEvalResult brats_eval_result(std::vector<BratsCaseResult> cases);

// One labelled case: its loss, prediction and metrics.
BratsCaseResult evaluate_brats_case(UNet& model, const data::BratsCase& c, const MulticlassLossConfig& loss,
                                    const BratsInferenceOptions& options, bool keep_prediction = false);

// Where evaluation finds case i (e.g. a data::BratsCaseStore that reads it from disk); a null
// case is left out.
using BratsCaseSource = std::function<std::shared_ptr<const data::BratsCase>(size_t)>;

// Evaluates the labelled cases `which` (indices of `case_of`); `on_case` (optional) is told
// each case's result as it is done. The means are over the cases evaluated.
BratsEvalResult evaluate_brats(UNet& model, const std::vector<size_t>& which, const BratsCaseSource& case_of,
                               const MulticlassLossConfig& loss, const BratsInferenceOptions& options,
                               bool keep_predictions = false,
                               const std::function<void(const BratsCaseResult&)>& on_case = {});

// The same over cases in memory (indices into `cases`).
BratsEvalResult evaluate_brats(UNet& model, const std::vector<data::BratsCase>& cases, const std::vector<size_t>& which,
                               const MulticlassLossConfig& loss, const BratsInferenceOptions& options,
                               bool keep_predictions = false,
                               const std::function<void(const BratsCaseResult&)>& on_case = {});

}  // namespace unet
