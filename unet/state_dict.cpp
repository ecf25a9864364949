#include "unet/state_dict.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "base/error.hpp"

namespace unet {

std::string config_to_json(const UNetConfig& c) {
  return nlohmann::json{{"in_channels", c.in_channels}, {"out_channels", c.out_channels}, {"base", c.base},
                        {"depth", c.depth}, {"layout", c.layout_name()}}
      .dump();
}

UNetConfig config_from_json(const std::string& json, const std::string& where) {
  try {
    const auto j = nlohmann::json::parse(json);
    UNetConfig c;
    c.in_channels = j.at("in_channels").get<int64_t>();
    c.out_channels = j.at("out_channels").get<int64_t>();
    c.base = j.at("base").get<int64_t>();
    c.depth = j.at("depth").get<int64_t>();
    c.layout = UNetConfig::parse_layout(j.at("layout").get<std::string>());
    return c;
  } catch (const nlohmann::json::exception& e) {
    UNET_THROW(where, std::string("bad model config in metadata: ") + e.what());
  }
}

namespace {
std::string describe(const UNetConfig& c) {
  return c.layout_name() + " layout, base " + std::to_string(c.base) + ", depth " + std::to_string(c.depth) + ", " +
         std::to_string(c.in_channels) + " -> " + std::to_string(c.out_channels) + " channels";
}
}  // namespace

SafetensorsFile model_state(const UNet& model) {
  SafetensorsFile file;
  for (const StateEntry& e : model.state()) {
    file.tensors[e.name] = e.counter != nullptr ? RawTensor::i64({}, {*e.counter})
                                                : RawTensor::f32(e.tensor.shape(), e.tensor.to_vector());
  }
  file.metadata["config"] = config_to_json(model.config());
  file.metadata["format"] = "unet-engine";
  return file;
}

void load_model_state(UNet& model, const SafetensorsFile& file, const std::string& where) {
  if (auto it = file.metadata.find("config"); it != file.metadata.end()) {
    const UNetConfig saved = config_from_json(it->second, where);
    UNET_CHECK(saved == model.config(), where,
               "architecture mismatch: the checkpoint holds a U-Net with " + describe(saved) +
                   ", the model is " + describe(model.config()));
  }
  std::set<std::string> expected;
  for (const StateEntry& e : model.state()) expected.insert(e.name);
  for (const auto& [name, t] : file.tensors)
    UNET_CHECK(expected.count(name) || name.rfind("optimizer.", 0) == 0 || name.rfind("train.", 0) == 0, where,
               "unexpected tensor '" + name + "' (not in this model's state_dict)");
  // Check everything before writing anything, so a bad file leaves the model untouched.
  for (const StateEntry& e : model.state()) {
    auto it = file.tensors.find(e.name);
    UNET_CHECK(it != file.tensors.end(), where, "missing tensor '" + e.name + "'");
    const RawTensor& t = it->second;
    if (e.counter != nullptr) {
      UNET_CHECK(t.dtype == "I64" && t.bytes.size() == 8, where,
                 "tensor '" + e.name + "' must be a scalar I64, got " + t.dtype + " " + shape_str(t.shape));
    } else {
      UNET_CHECK(t.shape == e.tensor.shape(), where,
                 "tensor '" + e.name + "' has shape " + shape_str(t.shape) + ", the model expects " +
                     shape_str(e.tensor.shape()));
      UNET_CHECK(t.dtype == "F32", where, "tensor '" + e.name + "' has dtype " + t.dtype + ", expected F32");
    }
  }
  for (const StateEntry& e : model.state()) {
    const RawTensor& t = file.tensors.at(e.name);
    if (e.counter != nullptr) {
      *e.counter = t.as_i64(e.name)[0];
    } else {
      Tensor src = Tensor::from_vector(e.tensor.shape(), t.as_f32(e.name));
      Tensor dst = e.tensor;
      dst.copy_from(src);
    }
  }
}

void save_weights(const UNet& model, const std::string& path, const std::map<std::string, std::string>& extra_metadata) {
  SafetensorsFile file = model_state(model);
  for (const auto& [k, v] : extra_metadata) file.metadata[k] = v;
  write_safetensors(path, file);
}

void load_weights(UNet& model, const std::string& path) { load_model_state(model, read_safetensors(path), path); }

}  // namespace unet
