// Preprocessing and image size for `unet predict` and `unet eval`. A model trained here brings
// its own (the checkpoint's "train_config"), which --preprocess and --size override. A model
// from elsewhere (imported, or a foreign file recognised from its tensors) takes them from
// the flags, with the reference program's values as defaults, and they are printed.
#pragma once

#include <cstdint>
#include <string>

#include "train/checkpoint.hpp"

namespace unet::tools {

struct InferenceSettings {
  std::string preprocess;  // reference | simple
  int64_t size = 0;        // the model's input is size x size
};

// `preprocess_flag` empty and `size_flag` 0 mean "not given". Refuses (naming `ckpt`) a model
// whose channels do not fit kaggle_3m images: 3 input channels, 1 output (the mask).
InferenceSettings inference_settings(const LoadedModel& loaded, const std::string& ckpt,
                                     const std::string& preprocess_flag, int64_t size_flag);

}  // namespace unet::tools
