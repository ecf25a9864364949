// Checkpoints of this program: what a training run saves (weights, configuration, state,
// optimizer moments, the patients it trained on) and how a model comes back from a file for
// evaluation or prediction. The format is safetensors (engine/safetensors.hpp), named as
// PyTorch's state_dict().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/safetensors.hpp"
#include "train/train_config.hpp"
#include "train/train_state.hpp"
#include "unet/adam.hpp"
#include "unet/unet_model.hpp"

namespace unet {

// The file a training run writes: best.safetensors (adam == nullptr) or last.safetensors
// (with the optimizer's moments and step count, for an exact resume).
SafetensorsFile training_checkpoint(const UNet& model, Adam* adam, const TrainConfig& config, const TrainState& state,
                                    const std::vector<std::string>& patients);

// Puts the moments and step count of `checkpoint` into `adam`; errors name `where` and the field.
void restore_optimizer(Adam& adam, const SafetensorsFile& checkpoint, const std::string& where);

// A checkpoint's model for evaluation or prediction: a file of this program (weights +
// config), or a foreign one (a PyTorch state_dict as safetensors) recognised from its tensors.
struct LoadedModel {
  std::unique_ptr<UNet> model;
  TrainConfig train_config;       // defaults when the file has none
  bool has_train_config = false;  // the file was written by a training run here
  std::string recognised_as;      // set for a foreign file: what its tensors say it is
};
LoadedModel load_model_checkpoint(const std::string& path, Device device);

}  // namespace unet
