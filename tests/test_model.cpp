// The U-Net's structure and names, weights I/O and its failure modes, and the shape errors
// of every op.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/check_error.hpp"
#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "engine/safetensors.hpp"
#include "layers/ops.hpp"
#include "tests/test_util.hpp"
#include "unet/losses.hpp"
#include "unet/state_dict.hpp"

using namespace unet;
namespace fs = std::filesystem;

namespace {
std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "unet_test_model";
  fs::create_directories(dir);
  return (dir / name).string();
}

using unet::test::check_error;

UNetConfig small(UNetLayout layout = UNetLayout::Reference) {
  UNetConfig c;
  c.base = 4;
  c.layout = layout;
  return c;
}
}  // namespace

TEST_CASE("state_dict names and order follow PyTorch") {
  UNet ref(UNetConfig::for_base(32));
  const auto& s = ref.state();
  REQUIRE(s.size() > 10);
  CHECK(s[0].name == "encoder1.enc1conv1.weight");
  CHECK(s[1].name == "encoder1.enc1norm1.weight");
  CHECK(s[2].name == "encoder1.enc1norm1.bias");
  CHECK(s[3].name == "encoder1.enc1norm1.running_mean");
  CHECK(s[4].name == "encoder1.enc1norm1.running_var");
  CHECK(s[5].name == "encoder1.enc1norm1.num_batches_tracked");
  CHECK(s[6].name == "encoder1.enc1conv2.weight");
  CHECK(s.back().name == "conv.bias");
  bool saw_upconv4_before_decoder4 = false, saw_decoder4 = false;
  for (const auto& e : s) {
    if (e.name == "upconv4.weight") saw_upconv4_before_decoder4 = !saw_decoder4;
    if (e.name == "decoder4.dec4conv1.weight") saw_decoder4 = true;
  }
  CHECK(saw_upconv4_before_decoder4);
  CHECK(saw_decoder4);

  UNet classic(UNetConfig::for_base(64));
  const auto& c = classic.state();
  CHECK(c[0].name == "inc.double_conv.0.weight");
  CHECK(c[1].name == "inc.double_conv.0.bias");
  CHECK(c[2].name == "inc.double_conv.1.weight");
  bool has_down4 = false, has_up1 = false;
  for (const auto& e : c) {
    has_down4 |= e.name == "down4.maxpool_conv.1.double_conv.4.running_var";
    has_up1 |= e.name == "up1.up.weight" && e.tensor.shape() == Shape{1024, 512, 2, 2};
  }
  CHECK(has_down4);
  CHECK(has_up1);
  CHECK(c.back().name == "outc.bias");
}

TEST_CASE("initialisation follows PyTorch's default bounds and depends on the seed only") {
  UNet a(small(), Device::CPU, 5), b(small(), Device::CPU, 5), c(small(), Device::CPU, 6);
  CHECK(a.parameters().flat().to_vector() == b.parameters().flat().to_vector());
  CHECK(a.parameters().flat().to_vector() != c.parameters().flat().to_vector());
  for (const auto& e : a.state()) {
    if (e.name != "encoder1.enc1conv1.weight") continue;
    const float bound = 1.0f / std::sqrt(3.0f * 9.0f);  // fan_in = Cin * 3 * 3
    float lo = 1, hi = -1;
    for (float v : e.tensor.to_vector()) lo = std::min(lo, v), hi = std::max(hi, v);
    CHECK(lo >= -bound);
    CHECK(hi < bound);
    CHECK(hi - lo > bound);  // actually spread over the range
  }
}

TEST_CASE("forward shapes and input checks") {
  UNet m(small());
  NoGradGuard ng;
  m.train(false);
  Tensor y = m.forward(Tensor::zeros({2, 3, 32, 48}));
  CHECK(y.shape() == Shape{2, 1, 32, 48});
  check_error([&] { m.forward(Tensor::zeros({1, 3, 30, 32})); }, {"UNet.forward", "multiples of 16"});
  check_error([&] { m.forward(Tensor::zeros({1, 1, 32, 32})); }, {"UNet.forward", "1 channels"});
}

TEST_CASE("weights round-trip through safetensors with config metadata") {
  UNet a(small(), Device::CPU, 1);
  { // give the BN buffers non-default values
    Tensor x = unet::test::random_tensor({2, 3, 16, 16}, 3);
    a.forward(x);
  }
  const std::string path = temp_path("roundtrip.safetensors");
  save_weights(a, path);
  CHECK_FALSE(fs::exists(path + ".tmp"));
  UNet b(small(), Device::CPU, 2);
  load_weights(b, path);
  CHECK(b.parameters().flat().to_vector() == a.parameters().flat().to_vector());
  CHECK(b.buffers().flat().to_vector() == a.buffers().flat().to_vector());
  const auto file = read_safetensors(path);
  CHECK(file.tensors.at("encoder1.enc1norm1.num_batches_tracked").as_i64("n")[0] == 1);
  CHECK(file.metadata.at("config").find("\"base\":4") != std::string::npos);
}

TEST_CASE("loading bad weights: missing, extra, misshapen, truncated, another architecture") {
  UNet a(small(), Device::CPU, 1);
  const std::string good = temp_path("good.safetensors");
  save_weights(a, good);
  const auto base = read_safetensors(good);
  UNet b(small(), Device::CPU, 2);
  const auto before = b.parameters().flat().to_vector();

  auto write_variant = [&](const std::string& name, auto&& mutate) {
    SafetensorsFile f = base;
    mutate(f);
    const std::string p = temp_path(name);
    write_safetensors(p, f);
    return p;
  };
  const auto missing = write_variant("missing.safetensors", [](SafetensorsFile& f) { f.tensors.erase("decoder2.dec2conv1.weight"); });
  check_error([&] { load_weights(b, missing); }, {"missing.safetensors", "missing tensor 'decoder2.dec2conv1.weight'"});
  const auto extra = write_variant("extra.safetensors", [](SafetensorsFile& f) { f.tensors["encoder9.weight"] = RawTensor::f32({1}, {0}); });
  check_error([&] { load_weights(b, extra); }, {"unexpected tensor 'encoder9.weight'"});
  const auto shape = write_variant("shape.safetensors", [](SafetensorsFile& f) {
    f.tensors["conv.weight"] = RawTensor::f32({1, 2, 1, 1}, {0, 0});
  });
  check_error([&] { load_weights(b, shape); }, {"tensor 'conv.weight' has shape [1, 2, 1, 1]", "expects [1, 4, 1, 1]"});
  const auto arch = write_variant("arch.safetensors", [](SafetensorsFile& f) {
    f.metadata["config"] = R"({"in_channels":3,"out_channels":1,"base":64,"depth":4,"layout":"classic"})";
  });
  check_error([&] { load_weights(b, arch); }, {"architecture mismatch", "base 64", "base 4"});
  CHECK(b.parameters().flat().to_vector() == before);  // nothing was half-loaded

  // Truncations at several points: inside the length, the header and the data.
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t cut : {size_t{0}, size_t{5}, size_t{20}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string p = temp_path("truncated.safetensors");
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
    CAPTURE(cut);
    check_error([&] { load_weights(b, p); }, {"truncated.safetensors"});
  }
  // Garbage that is not a safetensors file at all.
  const std::string junk = temp_path("junk.safetensors");
  std::ofstream(junk, std::ios::binary) << "this is not a checkpoint, just some text of sufficient length";
  check_error([&] { load_weights(b, junk); }, {"junk.safetensors"});
  check_error([&] { load_weights(b, temp_path("does_not_exist.safetensors")); }, {"cannot open"});
  CHECK(b.parameters().flat().to_vector() == before);
}

TEST_CASE("a failed write leaves the previous file intact") {
  UNet a(small(), Device::CPU, 1);
  const std::string dir = temp_path("readonly_dir");
  fs::create_directories(dir);
  const std::string path = dir + "/w.safetensors";
  save_weights(a, path);
  const auto size = fs::file_size(path);
  // A path whose temp file cannot be created: a directory stands where the temp file goes.
  fs::create_directories(path + ".tmp");
  UNet b(small(), Device::CPU, 2);
  check_error([&] { save_weights(b, path); }, {"w.safetensors", "cannot create"});
  CHECK(fs::file_size(path) == size);
  UNet c(small(), Device::CPU, 3);
  load_weights(c, path);
  CHECK(c.parameters().flat().to_vector() == a.parameters().flat().to_vector());
  fs::remove_all(path + ".tmp");
}

TEST_CASE("every op names itself and both shapes on a mismatch") {
  const Tensor x = Tensor::zeros({2, 3, 8, 8});
  check_error([&] { ops::conv(x, Tensor::zeros({4, 5, 3, 3}), Tensor(), 1, 1); }, {"conv2d", "[2, 3, 8, 8]", "[4, 5, 3, 3]"});
  check_error([&] { ops::conv(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({5}), 1, 1); }, {"conv2d", "bias", "[4]", "[5]"});
  check_error([&] { ops::conv_transpose(x, Tensor::zeros({4, 2, 2, 2}), Tensor(), 2, 0); },
              {"conv_transpose2d", "[2, 3, 8, 8]", "[4, 2, 2, 2]"});
  check_error([&] { ops::batch_norm_train(x, Tensor::zeros({4}), Tensor::zeros({3}), Tensor::zeros({3}), Tensor::zeros({3}), 0.1f, 1e-5f); },
              {"batch_norm", "weight", "[3]", "[4]"});
  check_error([&] { ops::max_pool(Tensor::zeros({1, 1, 1, 5}), 2); }, {"max_pool2d", "[1, 1, 1, 5]"});
  check_error([&] { ops::concat_channels(x, Tensor::zeros({2, 3, 8, 4})); }, {"concat_channels", "[2, 3, 8, 8]", "[2, 3, 8, 4]"});
  check_error([&] { ops::add(x, Tensor::zeros({2, 3, 8, 4})); }, {"add", "[2, 3, 8, 8]", "[2, 3, 8, 4]"});
  check_error([&] { bce_with_logits_loss(x, Tensor::zeros({2, 1, 8, 8})); }, {"bce_with_logits_loss", "[2, 3, 8, 8]", "[2, 1, 8, 8]"});
  check_error([&] { soft_dice_loss(x, Tensor::zeros({2, 1, 8, 8})); }, {"soft_dice_loss", "[2, 3, 8, 8]", "[2, 1, 8, 8]"});
  check_error([&] { ops::conv(Tensor::zeros({3, 8, 8}), Tensor::zeros({4, 3, 3, 3}), Tensor(), 1, 1); }, {"conv2d", "[3, 8, 8]"});
}
