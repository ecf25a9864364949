#include "tools/inference_settings.hpp"

#include <cstdio>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet::tools {

InferenceSettings inference_settings(const LoadedModel& loaded, const std::string& ckpt,
                                     const std::string& preprocess_flag, int64_t size_flag) {
  const UNetConfig& c = loaded.model->config();
  auto channels = [](int64_t n) {
    return std::to_string(n) + (n == 1 ? " channel" : " channels");
  };
  UNET_CHECK(c.in_channels == 3 && c.out_channels == 1, ckpt,
             trf("the model takes {} in and gives {} out; predict and eval give it the 3 channels of a kaggle_3m image "
                 "and read 1 output channel (the tumour mask)",
                 channels(c.in_channels), channels(c.out_channels)));
  // Without training settings, TrainConfig's defaults stand: reference preprocessing at
  // 256x256, which are also the values of the reference program (mateuszbuda/brain-segmentation-pytorch).
  const TrainConfig& tc = loaded.train_config;
  const InferenceSettings s{preprocess_flag.empty() ? tc.preprocess : preprocess_flag,
                            size_flag > 0 ? size_flag : tc.size};
  if (!loaded.recognised_as.empty())
    std::printf(tr("%s: no unet-engine metadata; recognised from its tensors as a %s\n").c_str(), ckpt.c_str(),
                loaded.recognised_as.c_str());
  if (!loaded.has_train_config) {
    const bool both_given = !preprocess_flag.empty() && size_flag > 0;
    std::printf(tr("%s: not trained here; preprocessing %s, size %lld (%s)\n").c_str(), ckpt.c_str(),
                s.preprocess.c_str(), static_cast<long long>(s.size),
                (both_given ? tr("from --preprocess and --size")
                            : tr("the reference program's values unless --preprocess and --size say otherwise"))
                    .c_str());
  }
  return s;
}

}  // namespace unet::tools
