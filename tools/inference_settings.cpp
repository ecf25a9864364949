#include "tools/inference_settings.hpp"

#include <cstdio>

#include "base/error.hpp"

namespace unet::tools {

InferenceSettings inference_settings(const LoadedModel& loaded, const std::string& ckpt,
                                     const std::string& preprocess_flag, int64_t size_flag) {
  const UNetConfig& c = loaded.model->config();
  auto channels = [](int64_t n) {
    return std::to_string(n) + (n == 1 ? " channel" : " channels");
  };
  UNET_CHECK(c.in_channels == 3 && c.out_channels == 1, ckpt,
             "the model takes " + channels(c.in_channels) + " in and gives " + channels(c.out_channels) +
                 " out; predict and eval give it the 3 channels of a kaggle_3m image and read 1 output channel "
                 "(the tumour mask)");
  // Without training settings, TrainConfig's defaults stand: reference preprocessing at
  // 256x256, which are also the values of the reference program (mateuszbuda/brain-segmentation-pytorch).
  const TrainConfig& tc = loaded.train_config;
  const InferenceSettings s{preprocess_flag.empty() ? tc.preprocess : preprocess_flag,
                            size_flag > 0 ? size_flag : tc.size};
  if (!loaded.recognised_as.empty())
    std::printf("%s: no unet-engine metadata; recognised from its tensors as a %s\n", ckpt.c_str(),
                loaded.recognised_as.c_str());
  if (!loaded.has_train_config) {
    const bool both_given = !preprocess_flag.empty() && size_flag > 0;
    std::printf("%s: not trained here; preprocessing %s, size %lld (%s)\n", ckpt.c_str(), s.preprocess.c_str(),
                static_cast<long long>(s.size),
                both_given ? "from --preprocess and --size"
                           : "the reference program's values unless --preprocess and --size say otherwise");
  }
  return s;
}

}  // namespace unet::tools
