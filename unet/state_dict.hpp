// Model weights <-> safetensors, under PyTorch's state_dict names, with the model config
// in the metadata. Loading is strict: a missing, extra or misshapen tensor is an error that
// names it, and a checkpoint of another architecture is refused before any tensor is read.
#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "engine/safetensors.hpp"
#include "unet/unet_model.hpp"

namespace unet {

std::string config_to_json(const UNetConfig& c);
// Refuses a malformed config, or one out of the model's ranges, before anything is
// allocated; errors name `where` (the file) and the field.
UNetConfig config_from_json(const std::string& json, const std::string& where);

// Reading the JSON objects kept in checkpoint metadata (config, train_config, train_state).
// `field` names the value in messages, e.g. "train_state.epoch"; errors name `where` too.
// parse_json_object: the text must be one JSON object.
nlohmann::json parse_json_object(const std::string& text, const std::string& where, const std::string& field);
// The member `key` of `object`; a missing one is an error naming `field`.key.
const nlohmann::json& json_member(const nlohmann::json& object, const std::string& key, const std::string& where,
                                  const std::string& field);
// One value of exactly the expected type: a whole number within the integer type's range
// (not 2.5, not "3"), any number for double, true/false, a string.
void read_json(const nlohmann::json& value, int64_t& out, const std::string& where, const std::string& field);
void read_json(const nlohmann::json& value, int& out, const std::string& where, const std::string& field);
void read_json(const nlohmann::json& value, uint64_t& out, const std::string& where, const std::string& field);
void read_json(const nlohmann::json& value, double& out, const std::string& where, const std::string& field);
void read_json(const nlohmann::json& value, bool& out, const std::string& where, const std::string& field);
void read_json(const nlohmann::json& value, std::string& out, const std::string& where, const std::string& field);

// The model's state_dict as safetensors tensors plus {"config": ...} in the metadata.
SafetensorsFile model_state(const UNet& model);
// Loads a file's tensors into the model (checks config metadata when present).
void load_model_state(UNet& model, const SafetensorsFile& file, const std::string& where);

void save_weights(const UNet& model, const std::string& path,
                  const std::map<std::string, std::string>& extra_metadata = {});
void load_weights(UNet& model, const std::string& path);

}  // namespace unet
