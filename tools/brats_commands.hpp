// The BraTS (3D) halves of `unet eval` and `unet predict`: cmd_eval.cpp and cmd_predict.cpp
// load the checkpoint, see that its model is the 3D U-Net and hand over here.
#pragma once

#include <cstdint>
#include <string>

#include "train/brats_evaluate.hpp"
#include "train/checkpoint.hpp"

namespace unet::tools {

// Sliding-window settings: the checkpoint's, unless the flags (> 0, >= 0) say otherwise.
// A usage error when the patch is not a multiple of 2^depth of the model.
BratsInferenceOptions brats_inference_options(const LoadedModel& loaded, int64_t patch_flag, double overlap_flag);

struct BratsEvalRequest {
  std::string ckpt, data, out, patients;  // out "" = beside the checkpoint, in eval/
  BratsInferenceOptions inference;
  bool strict = false;
};
// Evaluates every labelled case of the folder, one case in memory at a time: a console
// table, OUT/per_case.csv and OUT/summary.json. Returns the exit status.
int run_brats_eval(LoadedModel& loaded, const BratsEvalRequest& request);

struct BratsPredictRequest {
  std::string ckpt, input, out;
  BratsInferenceOptions inference;
  bool strict = false;
};
// Predicts every case of a case folder or a BraTS root: OUT/<case>_pred.nii.gz (labels 0, 1,
// 2, 4 with the flair file's header) and OUT/<case>_{axial,coronal,sagittal}.png.
int run_brats_predict(LoadedModel& loaded, const BratsPredictRequest& request);

}  // namespace unet::tools
