// Binary cross-entropy on logits, mean over all elements, as torch's BCEWithLogitsLoss.
#pragma once

#include <cstdint>

#include "base/hd.hpp"
#include "kernels/elementwise.hpp"

namespace unet::kernels {

// max(z, 0) - z t + log(1 + exp(-|z|)): no overflow for any z (exp sees -|z| <= 0), and
// log1pf keeps precision when exp(-|z|) is tiny (|z| up to 100 and beyond).
UNET_HD float bce_with_logits(float z, float t) {
  const float abs_z = z >= 0.0f ? z : -z;
  return (z > 0.0f ? z : 0.0f) - z * t + log1pf(expf(-abs_z));
}

struct BceValue {
  const float* z;
  const float* t;
  UNET_HD float operator()(int64_t i) const { return bce_with_logits(z[i], t[i]); }
};

// dz = grad_out * scale * (sigmoid(z) - t), scale = 1/numel for the mean.
struct BceBackwardOp {
  const float* z;
  const float* t;
  const float* grad_out;  // device scalar
  float scale;
  float* dz;
  UNET_HD void operator()(int64_t i) const {
    dz[i] = grad_out[0] * scale * (stable_sigmoid(z[i]) - t[i]);
  }
};

}  // namespace unet::kernels
