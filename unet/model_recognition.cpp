#include "unet/model_recognition.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace {

// U-Nets deeper than this are refused before anything is built: the widths double per level.
constexpr int64_t kMaxDepth = 8;
// How many names of each kind of problem a message shows (then "and N more").
constexpr size_t kShown = 3;

// A layout is told by the name of its first convolution; the number of stages and the
// first and last convolutions' shapes give the rest of its config.
struct KnownLayout {
  UNetLayout layout;
  std::string first_conv;                // weight [base, in_channels, 3, 3(, 3)]
  std::string out_conv;                  // weight [out_channels, base, 1, 1(, 1)]
  std::string (*stage_conv)(int64_t k);  // the first conv of encoder stage k >= 1 (reference) / down stage k (classic)
};

const std::vector<KnownLayout>& known_layouts() {
  static const std::vector<KnownLayout> layouts = {
      {UNetLayout::Reference, "encoder1.enc1conv1.weight", "conv.weight",
       [](int64_t k) {
         return "encoder" + std::to_string(k) + ".enc" + std::to_string(k) + "conv1.weight";
       }},
      {UNetLayout::Classic, "inc.double_conv.0.weight", "outc.weight",
       [](int64_t k) {
         return "down" + std::to_string(k) + ".maxpool_conv.1.double_conv.0.weight";
       }},
      // enc1 is the full-size stage and enc{depth+1} the bottleneck.
      {UNetLayout::Brats3d, "enc1.layers.0.weight", "final.weight",
       [](int64_t k) {
         return "enc" + std::to_string(k + 1) + ".layers.0.weight";
       }},
  };
  return layouts;
}

struct ExpectedTensor {
  std::string name;
  Shape shape;
  bool counter = false;  // num_batches_tracked: one I64
};

// The state_dict of a U-Net, names and shapes, without building it at full size (a file
// can claim any width): every dimension of its tensors is either fixed (kernel size, input
// and output channels) or proportional to the base width, so the shapes at base b follow
// from two tiny models of base 1 and 2.
std::vector<ExpectedTensor> expected_state(const UNetConfig& config) {
  UNetConfig c1 = config, c2 = config;
  c1.base = 1;
  c2.base = 2;
  const UNet m1(c1), m2(c2);
  std::vector<ExpectedTensor> out;
  for (size_t i = 0; i < m1.state().size(); ++i) {
    const StateEntry& e1 = m1.state()[i];
    const StateEntry& e2 = m2.state()[i];
    ExpectedTensor t{e1.name, {}, e1.counter != nullptr};
    if (!t.counter)
      for (size_t d = 0; d < e1.tensor.shape().size(); ++d) {
        const int64_t at1 = e1.tensor.shape()[d], at2 = e2.tensor.shape()[d];
        t.shape.push_back(at1 + (at2 - at1) * (config.base - 1));
      }
    out.push_back(std::move(t));
  }
  return out;
}

std::string dtype_of_float_file(const std::string& dtype) {
  return dtype == "F16" || dtype == "BF16" || dtype == "F64"
             ? tr(" (unet import converts float16, bfloat16 and float64 files to float32)")
             : std::string();
}

// What differs between a file and a candidate model, each list in the model's order.
struct Mismatch {
  std::vector<std::string> missing, shape, dtype, extra;
  std::string dtype_hint;
  size_t count() const { return missing.size() + shape.size() + dtype.size() + extra.size(); }
};

Mismatch compare(const SafetensorsFile& file, const std::vector<ExpectedTensor>& expected) {
  Mismatch m;
  std::set<std::string> names;
  for (const ExpectedTensor& e : expected) {
    names.insert(e.name);
    auto it = file.tensors.find(e.name);
    if (it == file.tensors.end()) {
      m.missing.push_back(e.name);
      continue;
    }
    const RawTensor& t = it->second;
    if (e.counter) {
      if (t.dtype != "I64" || t.bytes.size() != 8)
        m.dtype.push_back(trf("{} is {} {}, expected one I64", e.name, t.dtype, shape_str(t.shape)));
    } else if (t.shape != e.shape) {
      m.shape.push_back(trf("{} is {}, expected {}", e.name, shape_str(t.shape), shape_str(e.shape)));
    } else if (t.dtype != "F32") {
      m.dtype.push_back(trf("{} is {}, expected F32", e.name, t.dtype));
      if (m.dtype_hint.empty()) m.dtype_hint = dtype_of_float_file(t.dtype);
    }
  }
  for (const auto& [name, t] : file.tensors)
    if (!names.count(name)) m.extra.push_back(name + " " + shape_str(t.shape));
  return m;
}

// "2 tensors missing: a, b" / "5 tensors missing: a, b, c and 2 more"
std::string listed(const std::vector<std::string>& items, const std::string& what) {
  std::string s = items.size() == 1 ? trf("1 tensor {}: ", what) : trf("{} tensors {}: ", items.size(), what);
  for (size_t i = 0; i < items.size() && i < kShown; ++i) s += (i ? ", " : "") + items[i];
  if (items.size() > kShown) s += trf(" and {} more", items.size() - kShown);
  return s;
}

std::string describe_layout_config(const UNetConfig& c) {
  return trf("{} layout, base {}, depth {}, {} -> {} channels", c.layout_name(), c.base, c.depth, c.in_channels,
             c.out_channels);
}

// The config that a layout's names and its first and last convolutions suggest.
UNetConfig suggested_config(const SafetensorsFile& file, const KnownLayout& layout, const std::string& where) {
  UNetConfig c;
  c.layout = layout.layout;
  const RawTensor& first = file.tensors.at(layout.first_conv);
  const bool three_d = c.rank() == 3;
  UNET_CHECK(static_cast<int64_t>(first.shape.size()) == c.rank() + 2 && first.shape[0] >= 1 && first.shape[1] >= 1,
             where,
             three_d ? trf("'{}' has shape {}; the first convolution of a 3D U-Net is [base, in_channels, 3, 3, 3]",
                           layout.first_conv, shape_str(first.shape))
                     : trf("'{}' has shape {}; the first convolution of a 2D U-Net is [base, in_channels, 3, 3]",
                           layout.first_conv, shape_str(first.shape)));
  c.base = first.shape[0];
  c.in_channels = first.shape[1];
  if (auto out = file.tensors.find(layout.out_conv);
      out != file.tensors.end() && !out->second.shape.empty() && out->second.shape[0] >= 1)
    c.out_channels = out->second.shape[0];
  int64_t stages = 0;
  while (stages <= kMaxDepth && file.tensors.count(layout.stage_conv(stages + 1))) ++stages;
  // Each layout numbers exactly `depth` stages: the reference layout its encoders (the
  // bottleneck has a name of its own), the classic layout its downs (the full-size stage is
  // "inc", the last down is the bottleneck).
  c.depth = std::max<int64_t>(1, stages);
  UNET_CHECK(c.depth <= kMaxDepth, where,
             trf("its names are those of a {} U-Net in the {} layout with more than {} levels ('{}'); this program "
                 "runs depths 1 to {}",
                 std::string(three_d ? "3D" : "2D"), c.layout_name(), std::to_string(kMaxDepth),
                 layout.stage_conv(kMaxDepth + 1), std::to_string(kMaxDepth)));
  return c;
}

std::string some_tensors(const SafetensorsFile& file) {
  std::string s;
  size_t i = 0;
  for (const auto& [name, t] : file.tensors) {
    if (i == kShown) break;
    s += (i++ ? ", " : "") + name + " " + shape_str(t.shape);
  }
  if (file.tensors.size() > kShown) s += " and " + std::to_string(file.tensors.size() - kShown) + " more";
  return s;
}

}  // namespace

bool has_engine_metadata(const SafetensorsFile& file) {
  auto format = file.metadata.find("format");
  return file.metadata.count("config") && (format == file.metadata.end() || format->second == "unet-engine");
}

RecognisedModel recognise_model(const SafetensorsFile& file, const std::string& where) {
  UNET_CHECK(!file.tensors.empty(), where, tr("holds no tensors; expected the weights of a model"));
  // Each layout whose first convolution is present is a candidate; the closest one wins.
  bool found = false;
  RecognisedModel best;
  Mismatch best_mismatch;
  for (const KnownLayout& layout : known_layouts()) {
    if (!file.tensors.count(layout.first_conv)) continue;
    const UNetConfig config = suggested_config(file, layout, where);
    Mismatch m = compare(file, expected_state(config));
    if (!found || m.count() < best_mismatch.count()) {
      best = RecognisedModel{kind_of(config), config};
      best_mismatch = std::move(m);
      found = true;
    }
  }
  UNET_CHECK(found, where,
             trf("not a model this program knows. It looked for a 2D U-Net: the reference layout "
                 "(mateuszbuda/brain-segmentation-pytorch) begins with '{}', the classic layout with '{}'; and for the "
                 "BraTS 3D U-Net, which begins with '{}'. The file has none of them. Its {} tensors: {}",
                 known_layouts()[0].first_conv, known_layouts()[1].first_conv, known_layouts()[2].first_conv,
                 std::to_string(file.tensors.size()), some_tensors(file)));
  if (best_mismatch.count() == 0) return best;
  std::string problems;
  auto add = [&](const std::vector<std::string>& items, const std::string& what) {
    if (!items.empty()) problems += (problems.empty() ? "" : "; ") + listed(items, what);
  };
  add(best_mismatch.missing, tr("missing"));
  add(best_mismatch.shape, tr("with another shape"));
  add(best_mismatch.dtype, tr("with another dtype"));
  add(best_mismatch.extra, tr("that the model does not have"));
  UNET_THROW(where, trf("its names are those of a {}, but it does not match one: {}{}", describe_model(best), problems,
                        best_mismatch.dtype_hint));
}

ModelKind kind_of(const UNetConfig& config) { return config.rank() == 3 ? ModelKind::UNet3D : ModelKind::UNet2D; }

std::string describe_model(const RecognisedModel& model) {
  switch (model.kind) {
    case ModelKind::UNet2D:
      return "2D U-Net, " + describe_layout_config(model.config);
    case ModelKind::UNet3D:
      return "3D U-Net, " + describe_layout_config(model.config);
  }
  return tr("unknown model");
}

}  // namespace unet
