#include "unet/state_dict.hpp"

#include <climits>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

std::string config_to_json(const UNetConfig& c) {
  return nlohmann::json{{"in_channels", c.in_channels}, {"out_channels", c.out_channels}, {"base", c.base},
                        {"depth", c.depth}, {"layout", c.layout_name()}}
      .dump();
}

namespace {
// A JSON value, for a message, at most 60 characters.
std::string excerpt(const nlohmann::json& v) {
  const std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

// A whole number within [lo, hi], as int64 (uint64 values above INT64_MAX are out of range
// for every caller but the uint64 one, which reads them itself).
int64_t whole_number(const nlohmann::json& v, int64_t lo, int64_t hi, const std::string& where,
                     const std::string& field) {
  UNET_CHECK(v.is_number_integer(), where, trf("{} is {}, not a whole number", field, excerpt(v)));
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi)
                                           : v.get<int64_t>() >= lo && v.get<int64_t>() <= hi;
  UNET_CHECK(fits, where,
             trf("{} is {}, out of range {} to {}", field, excerpt(v), std::to_string(lo), std::to_string(hi)));
  return v.get<int64_t>();
}
}  // namespace

nlohmann::json parse_json_object(const std::string& text, const std::string& where, const std::string& field) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    UNET_THROW(where, trf("{} is not valid JSON: {}", field, e.what()));
  }
  UNET_CHECK(j.is_object(), where, trf("{} is {}, not a JSON object", field, excerpt(j)));
  return j;
}

const nlohmann::json& json_member(const nlohmann::json& object, const std::string& key, const std::string& where,
                                  const std::string& field) {
  UNET_CHECK(object.is_object() && object.contains(key), where, trf("{}.{} is missing", field, key));
  return object.at(key);
}

void read_json(const nlohmann::json& v, int64_t& out, const std::string& where, const std::string& field) {
  out = whole_number(v, INT64_MIN, INT64_MAX, where, field);
}

void read_json(const nlohmann::json& v, int& out, const std::string& where, const std::string& field) {
  out = static_cast<int>(whole_number(v, INT_MIN, INT_MAX, where, field));
}

void read_json(const nlohmann::json& v, uint64_t& out, const std::string& where, const std::string& field) {
  UNET_CHECK(v.is_number_unsigned(), where, trf("{} is {}, not a whole number >= 0", field, excerpt(v)));
  out = v.get<uint64_t>();
}

void read_json(const nlohmann::json& v, double& out, const std::string& where, const std::string& field) {
  UNET_CHECK(v.is_number(), where, trf("{} is {}, not a number", field, excerpt(v)));
  out = v.get<double>();
}

void read_json(const nlohmann::json& v, bool& out, const std::string& where, const std::string& field) {
  UNET_CHECK(v.is_boolean(), where, trf("{} is {}, not true or false", field, excerpt(v)));
  out = v.get<bool>();
}

void read_json(const nlohmann::json& v, std::string& out, const std::string& where, const std::string& field) {
  UNET_CHECK(v.is_string(), where, trf("{} is {}, not a string", field, excerpt(v)));
  out = v.get<std::string>();
}

UNetConfig config_from_json(const std::string& json, const std::string& where) {
  const nlohmann::json j = parse_json_object(json, where, "the model config");
  UNetConfig c;
  read_json(json_member(j, "in_channels", where, "config"), c.in_channels, where, "config.in_channels");
  read_json(json_member(j, "out_channels", where, "config"), c.out_channels, where, "config.out_channels");
  read_json(json_member(j, "base", where, "config"), c.base, where, "config.base");
  read_json(json_member(j, "depth", where, "config"), c.depth, where, "config.depth");
  std::string layout;
  read_json(json_member(j, "layout", where, "config"), layout, where, "config.layout");
  UNET_CHECK(layout == "reference" || layout == "classic" || layout == "brats3d", where,
             trf("config.layout '{}' is not a U-Net layout; use reference, classic or brats3d", layout.substr(0, 60)));
  c.layout = UNetConfig::parse_layout(layout);
  c.validate(where);
  return c;
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
               trf("architecture mismatch: the checkpoint holds a U-Net with {}, the model is {}", describe(saved),
                   describe(model.config())));
  }
  std::set<std::string> expected;
  for (const StateEntry& e : model.state()) expected.insert(e.name);
  for (const auto& [name, t] : file.tensors)
    UNET_CHECK(expected.count(name) || name.rfind("optimizer.", 0) == 0 || name.rfind("train.", 0) == 0, where,
               trf("unexpected tensor '{}' (not in this model's state_dict)", name));
  // Check everything before writing anything, so a bad file leaves the model untouched.
  for (const StateEntry& e : model.state()) {
    auto it = file.tensors.find(e.name);
    UNET_CHECK(it != file.tensors.end(), where, trf("missing tensor '{}'", e.name));
    const RawTensor& t = it->second;
    if (e.counter != nullptr) {
      UNET_CHECK(t.dtype == "I64" && t.bytes.size() == 8 && (t.shape.empty() || t.shape == Shape{1}), where,
                 trf("tensor '{}' must be a scalar I64, got {} {}", e.name, t.dtype, shape_str(t.shape)));
    } else {
      UNET_CHECK(t.shape == e.tensor.shape(), where,
                 trf("tensor '{}' has shape {}, the model expects {}", e.name, shape_str(t.shape),
                     shape_str(e.tensor.shape())));
      UNET_CHECK(t.dtype == "F32", where, trf("tensor '{}' has dtype {}, expected F32", e.name, t.dtype));
      UNET_CHECK(t.bytes.size() == static_cast<size_t>(e.tensor.numel()) * sizeof(float), where,
                 trf("tensor '{}' has {} bytes, its shape {} of F32 needs {}", e.name, std::to_string(t.bytes.size()),
                     shape_str(t.shape), std::to_string(e.tensor.numel() * 4)));
    }
  }
  for (const StateEntry& e : model.state()) {
    const RawTensor& t = file.tensors.at(e.name);
    const std::string what = where + ": tensor '" + e.name + "'";
    if (e.counter != nullptr) {
      *e.counter = t.as_i64(what)[0];
    } else {
      Tensor src = Tensor::from_vector(e.tensor.shape(), t.as_f32(what));
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
