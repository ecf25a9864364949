// Soft Dice loss on sigmoid(logits), over the whole batch as one set of voxels, as the
// reference program's DiceLoss: 1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s).
#pragma once

#include <cstdint>

#include "base/hd.hpp"
#include "kernels/elementwise.hpp"

namespace unet::kernels {

// The three sums are reduced separately: sums[0] = sum(p t), sums[1] = sum(p), sums[2] = sum(t).
struct DiceIntersectionValue {
  const float* z;
  const float* t;
  UNET_HD float operator()(int64_t i) const { return stable_sigmoid(z[i]) * t[i]; }
};

struct SigmoidValue {
  const float* z;
  UNET_HD float operator()(int64_t i) const { return stable_sigmoid(z[i]); }
};

// out[0] = 1 - (2 I + s) / (P + T + s), from the device sums.
struct DiceLossOp {
  const float* sums;
  float smooth;
  float* out;
  UNET_HD void operator()(int64_t) const {
    out[0] = 1.0f - (2.0f * sums[0] + smooth) / (sums[1] + sums[2] + smooth);
  }
};

// dL/dz_i = -(2 t_i D - (2 I + s)) / D^2 * p_i (1 - p_i), D = P + T + s.
struct DiceBackwardOp {
  const float* z;
  const float* t;
  const float* sums;
  float smooth;
  const float* grad_out;  // device scalar
  float* dz;
  UNET_HD void operator()(int64_t i) const {
    const float denom = sums[1] + sums[2] + smooth;
    const float numer = 2.0f * sums[0] + smooth;
    const float p = stable_sigmoid(z[i]);
    const float dl_dp = -(2.0f * t[i] * denom - numer) / (denom * denom);
    dz[i] = grad_out[0] * dl_dp * p * (1.0f - p);
  }
};

}  // namespace unet::kernels
