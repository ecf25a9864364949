// Model weights <-> safetensors, under PyTorch's state_dict names, with the model config
// in the metadata. Loading is strict: a missing, extra or misshapen tensor is an error that
// names it, and a checkpoint of another architecture is refused before any tensor is read.
#pragma once

#include <map>
#include <string>

#include "engine/safetensors.hpp"
#include "unet/unet_model.hpp"

namespace unet {

std::string config_to_json(const UNetConfig& c);
UNetConfig config_from_json(const std::string& json, const std::string& where);

// The model's state_dict as safetensors tensors plus {"config": ...} in the metadata.
SafetensorsFile model_state(const UNet& model);
// Loads a file's tensors into the model (checks config metadata when present).
void load_model_state(UNet& model, const SafetensorsFile& file, const std::string& where);

void save_weights(const UNet& model, const std::string& path,
                  const std::map<std::string, std::string>& extra_metadata = {});
void load_weights(UNet& model, const std::string& path);

}  // namespace unet
