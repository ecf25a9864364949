#include "train/checkpoint.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "unet/model_recognition.hpp"
#include "unet/state_dict.hpp"

namespace unet {

namespace {

// The optimizer's step count as stored in the metadata: digits only, within int64.
int64_t parse_adam_steps(const std::string& text, const std::string& where) {
  int64_t steps = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), steps);
  UNET_CHECK(ec == std::errc() && end == text.data() + text.size() && steps >= 0, where,
             trf("metadata 'adam_steps' is '{}', not a whole number >= 0", text.substr(0, 40)));
  return steps;
}

}  // namespace

SafetensorsFile training_checkpoint(const UNet& model, Adam* adam, const TrainConfig& config, const TrainState& state,
                                    const std::vector<std::string>& patients) {
  SafetensorsFile f = model_state(model);
  f.metadata["train_config"] = config.to_json();
  f.metadata["patients"] = nlohmann::json(patients).dump();
  f.metadata["train_state"] = state.to_json();
  if (adam != nullptr) {
    f.tensors["optimizer.exp_avg"] = RawTensor::f32({adam->exp_avg().numel()}, adam->exp_avg().to_vector());
    f.tensors["optimizer.exp_avg_sq"] = RawTensor::f32({adam->exp_avg_sq().numel()}, adam->exp_avg_sq().to_vector());
    f.metadata["adam_steps"] = std::to_string(adam->steps());
  }
  return f;
}

void restore_optimizer(Adam& adam, const SafetensorsFile& checkpoint, const std::string& where) {
  for (Tensor* t : {&adam.exp_avg(), &adam.exp_avg_sq()}) {
    const std::string name = t == &adam.exp_avg() ? "optimizer.exp_avg" : "optimizer.exp_avg_sq";
    auto it = checkpoint.tensors.find(name);
    UNET_CHECK(it != checkpoint.tensors.end(), where, trf("missing tensor '{}'", name));
    UNET_CHECK(it->second.shape == Shape{t->numel()}, where,
               trf("tensor '{}' has shape {}, the model needs [{}]", name, shape_str(it->second.shape),
                   std::to_string(t->numel())));
    t->copy_from(Tensor::from_vector({t->numel()}, it->second.as_f32(where + ": tensor '" + name + "'")));
  }
  adam.set_steps(parse_adam_steps(checkpoint.metadata_value("adam_steps", where), where));
}

LoadedModel load_model_checkpoint(const std::string& path, Device device) {
  SafetensorsFile f = read_safetensors(path);
  LoadedModel lm;
  UNetConfig config;
  if (has_engine_metadata(f)) {
    config = config_from_json(f.metadata.at("config"), path);
  } else {
    const RecognisedModel recognised = recognise_model(f, path);
    config = recognised.config;
    lm.recognised_as = describe_model(recognised);
    f.metadata.clear();  // another program's metadata: nothing in it is ours
  }
  lm.model = std::make_unique<UNet>(config, device);
  load_model_state(*lm.model, f, path);
  if (auto tc = f.metadata.find("train_config"); tc != f.metadata.end()) {
    lm.train_config = TrainConfig::from_json(tc->second, path);
    lm.has_train_config = true;
  }
  return lm;
}

}  // namespace unet
