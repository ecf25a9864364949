// A BraTS (3D) checkpoint comes back as the 3D U-Net for `unet eval` / `unet predict`:
// the model config of a brats3d model is read back from its JSON and from a saved file.
#include <doctest/doctest.h>

#include <filesystem>

#include "train/checkpoint.hpp"
#include "unet/state_dict.hpp"

using namespace unet;

TEST_CASE("the brats3d layout survives config_to_json / config_from_json") {
  UNetConfig c = UNetConfig::brats3d();
  c.base = 4;
  const UNetConfig back = config_from_json(config_to_json(c), "test");
  CHECK(back.layout == UNetLayout::Brats3d);
  CHECK(back.rank() == 3);
  CHECK(back.in_channels == 4);
  CHECK(back.out_channels == 4);
  CHECK(back.base == 4);
  CHECK(back.depth == c.depth);
}

TEST_CASE("a BraTS training checkpoint loads as the 3D U-Net with its weights") {
  UNetConfig c = UNetConfig::brats3d();
  c.base = 4;
  UNet model(c, Device::CPU, 7);
  TrainConfig tc = TrainConfig::brats_defaults();
  tc.base = 4;
  tc.patch = 16;
  tc.data = "brats_data";  // a saved configuration names its data and run folder
  tc.out = "brats_run";
  const auto path = (std::filesystem::temp_directory_path() / "unet_test_brats_checkpoint.safetensors").string();
  write_safetensors(path, training_checkpoint(model, nullptr, tc, TrainState{}, {"case_1"}));
  const LoadedModel lm = load_model_checkpoint(path, Device::CPU);
  std::filesystem::remove(path);
  REQUIRE(lm.model != nullptr);
  CHECK(lm.model->config().rank() == 3);
  CHECK(lm.train_config.is_brats());
  CHECK(lm.train_config.patch == 16);
  const auto a = model.state(), b = lm.model->state();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].name == b[i].name);
    if (a[i].counter == nullptr) CHECK(a[i].tensor.to_vector() == b[i].tensor.to_vector());  // stored as f32: exact
  }
}
