// Running statistics of BatchNorm2d, as torch: running = (1 - m) running + m batch, with the
// unbiased batch variance (n / (n - 1)) for running_var. cuDNN does this itself inside
// cudnnBatchNormalizationForwardTraining; oneDNN does not, so the CPU path runs this.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

struct RunningStatsOp {
  const float* batch_mean;
  const float* batch_var;  // biased (divided by n)
  float momentum;
  float unbias;  // n / (n - 1)
  float* running_mean;
  float* running_var;
  UNET_HD void operator()(int64_t c) const {
    running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * batch_mean[c];
    running_var[c] = (1.0f - momentum) * running_var[c] + momentum * batch_var[c] * unbias;
  }
};

}  // namespace unet::kernels
