// One Adam step over a flat parameter buffer, in the exact order of operations of
// torch.optim.Adam (1.13, amsgrad=False), so results agree to rounding.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

// Held in double, as the Python numbers torch.optim.Adam is given: what is derived from them
// (1 - beta, the bias corrections) is computed in double and only then rounded to float.
struct AdamConfig {
  double lr = 1e-3;  // the spec's default
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;  // L2 added to the gradient, as torch.optim.Adam
};

// m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
// p -= step_size * m / (sqrt(v) / bias_correction2_sqrt + eps).
struct AdamStepOp {
  // Every scalar as torch passes it to its float32 kernels: rounded from the double value.
  float beta1, beta2, one_minus_beta1, one_minus_beta2, eps, weight_decay;
  // For the step t being taken: step_size = lr / (1 - beta1^t), bias_correction2_sqrt = sqrt(1 - beta2^t).
  float step_size;
  float bias_correction2_sqrt;
  float* p;
  const float* g;
  float* m;
  float* v;
  UNET_HD void operator()(int64_t i) const {
    float grad = g[i];
    if (weight_decay != 0.0f) grad += weight_decay * p[i];
    m[i] = m[i] * beta1 + one_minus_beta1 * grad;
    v[i] = v[i] * beta2 + one_minus_beta2 * grad * grad;
    const float denom = sqrtf(v[i]) / bias_correction2_sqrt + eps;
    p[i] += -step_size * (m[i] / denom);
  }
};

}  // namespace unet::kernels
