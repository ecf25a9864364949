// Sliding-window settings of `unet eval` and `unet predict` for a BraTS model.
#include <CLI/CLI.hpp>

#include "base/i18n.hpp"
#include "tools/brats_commands.hpp"

namespace unet::tools {

BratsInferenceOptions brats_inference_options(const LoadedModel& loaded, int64_t patch_flag, double overlap_flag) {
  // A model not trained here brings no settings: TrainConfig's defaults are the reference
  // program's (128^3 tiles, half overlap).
  BratsInferenceOptions o;
  o.patch = patch_flag > 0 ? patch_flag : loaded.train_config.patch;
  o.overlap = overlap_flag >= 0.0 ? overlap_flag : loaded.train_config.overlap;
  const int64_t step = int64_t{1} << loaded.model->config().depth;
  if (o.patch % step != 0)
    throw CLI::ValidationError(
        "--patch", trf("must be a multiple of {} (the model halves the volume {} times), got {}", std::to_string(step),
                       std::to_string(loaded.model->config().depth), std::to_string(o.patch)));
  return o;
}

}  // namespace unet::tools
