// Recognising a model from its tensor names and shapes (files without this program's
// metadata), and the refusals: another architecture, a missing tensor, a shape or dtype
// that disagrees, extra tensors.
#include <doctest/doctest.h>

#include "base/error.hpp"
#include "unet/model_recognition.hpp"
#include "unet/state_dict.hpp"

using namespace unet;

namespace {

// A model's state_dict as a foreign file: the tensors, no metadata of ours.
SafetensorsFile foreign_state(const UNetConfig& c) {
  SafetensorsFile f = model_state(UNet(c));
  f.metadata = {{"format", "pt"}};
  return f;
}

UNetConfig config(UNetLayout layout, int64_t base, int64_t depth, int64_t in, int64_t out) {
  UNetConfig c;
  c.layout = layout;
  c.base = base;
  c.depth = depth;
  c.in_channels = in;
  c.out_channels = out;
  return c;
}

// The error message of recognise_model on `f` ("" when it recognises the file).
std::string refusal(const SafetensorsFile& f) {
  try {
    recognise_model(f, "model.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("both 2D layouts are recognised with their base, depth and channels") {
  for (const UNetConfig& c : {config(UNetLayout::Reference, 4, 4, 3, 1), config(UNetLayout::Classic, 4, 4, 3, 1),
                              config(UNetLayout::Reference, 6, 3, 1, 2), config(UNetLayout::Classic, 5, 5, 4, 3),
                              config(UNetLayout::Reference, 3, 1, 2, 1), config(UNetLayout::Classic, 2, 2, 1, 1)}) {
    CAPTURE(describe_model({ModelKind::UNet2D, c}));
    const RecognisedModel r = recognise_model(foreign_state(c), "model.safetensors");
    CHECK(r.kind == ModelKind::UNet2D);
    CHECK(r.config == c);
  }
}

TEST_CASE("the spec's two models are recognised at full size") {
  CHECK(recognise_model(foreign_state(UNetConfig::for_base(32)), "m").config == UNetConfig::for_base(32));
  CHECK(recognise_model(foreign_state(UNetConfig::for_base(64)), "m").config == UNetConfig::for_base(64));
}

TEST_CASE("has_engine_metadata: our config and format, or our config alone; anything else is foreign") {
  SafetensorsFile f = model_state(UNet(config(UNetLayout::Reference, 2, 1, 3, 1)));
  CHECK(has_engine_metadata(f));
  f.metadata.erase("format");
  CHECK(has_engine_metadata(f));  // written by hand with our config
  f.metadata["format"] = "pt";
  CHECK_FALSE(has_engine_metadata(f));  // another program's "config" is not ours
  f.metadata.clear();
  CHECK_FALSE(has_engine_metadata(f));
}

TEST_CASE("another architecture is refused, naming both layouts and some of its tensors") {
  SafetensorsFile f;
  f.tensors["conv1.weight"] = RawTensor::f32({64, 3, 7, 7}, std::vector<float>(64 * 3 * 49));
  f.tensors["fc.weight"] = RawTensor::f32({10, 512}, std::vector<float>(5120));
  f.tensors["fc.bias"] = RawTensor::f32({10}, std::vector<float>(10));
  f.tensors["layer1.0.conv1.weight"] = RawTensor::f32({64, 64, 3, 3}, std::vector<float>(64 * 64 * 9));
  const std::string e = refusal(f);
  CAPTURE(e);
  CHECK(contains(e, "model.safetensors: not a model this program knows"));
  CHECK(contains(e, "'encoder1.enc1conv1.weight'"));
  CHECK(contains(e, "'inc.double_conv.0.weight'"));
  CHECK(contains(e, "Its 4 tensors: conv1.weight [64, 3, 7, 7], fc.bias [10], fc.weight [10, 512] and 1 more"));
}

TEST_CASE("a missing tensor is named, with the model the names suggest") {
  SafetensorsFile f = foreign_state(config(UNetLayout::Reference, 4, 4, 3, 1));
  f.tensors.erase("decoder2.dec2norm1.running_var");
  const std::string e = refusal(f);
  CAPTURE(e);
  CHECK(contains(e, "its names are those of a 2D U-Net, reference layout, base 4, depth 4, 3 -> 1 channels"));
  CHECK(contains(e, "1 tensor missing: decoder2.dec2norm1.running_var"));
}

TEST_CASE("many problems: a few of each are shown, with counts") {
  SafetensorsFile f = foreign_state(config(UNetLayout::Classic, 4, 4, 3, 1));
  for (const char* name : {"up1.up.weight", "up1.up.bias", "up2.up.weight", "up2.up.bias", "up3.up.weight"})
    f.tensors.erase(name);
  f.tensors["up4.up.weight"] = RawTensor::f32({8, 4, 3, 3}, std::vector<float>(8 * 4 * 9));
  f.tensors["extra.a"] = RawTensor::f32({2}, {0, 0});
  f.tensors["extra.b"] = RawTensor::f32({2}, {0, 0});
  const std::string e = refusal(f);
  CAPTURE(e);
  CHECK(contains(e, "classic layout, base 4, depth 4"));
  CHECK(contains(e, "5 tensors missing: up1.up.weight, up1.up.bias, up2.up.weight and 2 more"));
  CHECK(contains(e, "1 tensor with another shape: up4.up.weight is [8, 4, 3, 3], expected [8, 4, 2, 2]"));
  CHECK(contains(e, "2 tensors that the model does not have: extra.a [2], extra.b [2]"));
}

TEST_CASE("a tensor of another dtype is refused; float16 points to unet import") {
  SafetensorsFile f = foreign_state(config(UNetLayout::Reference, 2, 2, 3, 1));
  RawTensor& w = f.tensors.at("conv.weight");
  w.dtype = "F16";
  w.bytes.resize(w.bytes.size() / 2);
  RawTensor& counter = f.tensors.at("encoder1.enc1norm1.num_batches_tracked");
  counter = RawTensor::f32({}, {0.0f});
  const std::string e = refusal(f);
  CAPTURE(e);
  CHECK(contains(e,
                 "2 tensors with another dtype: encoder1.enc1norm1.num_batches_tracked is F32 [], expected one I64, "
                 "conv.weight is F16, expected F32"));
  CHECK(contains(e, "unet import converts float16"));
}

TEST_CASE("a first convolution that is not 4-D, and a depth beyond the limit, are refused before building") {
  SafetensorsFile f = foreign_state(config(UNetLayout::Reference, 2, 1, 3, 1));
  f.tensors["encoder1.enc1conv1.weight"] = RawTensor::f32({6}, std::vector<float>(6));
  CHECK(contains(refusal(f),
                 "'encoder1.enc1conv1.weight' has shape [6]; the first convolution of a 2D U-Net is "
                 "[base, in_channels, 3, 3]"));
  SafetensorsFile deep = foreign_state(config(UNetLayout::Reference, 1, 8, 3, 1));
  for (int k = 9; k <= 12; ++k) {
    const std::string name = "encoder" + std::to_string(k) + ".enc" + std::to_string(k) + "conv1.weight";
    deep.tensors[name] = RawTensor::f32({1}, {0.0f});
  }
  CHECK(contains(refusal(deep),
                 "with more than 8 levels ('encoder9.enc9conv1.weight'); this program runs depths 1 to 8"));
  CHECK(contains(refusal(SafetensorsFile{}), "holds no tensors"));
}
