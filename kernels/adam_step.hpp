// One Adam step over a flat parameter buffer, in the exact order of operations of
// torch.optim.Adam (1.13, amsgrad=False), so results agree to rounding.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

struct AdamConfig {
  float lr = 1e-3f;  // the spec's default
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  float weight_decay = 0.0f;  // L2 added to the gradient, as torch.optim.Adam
};

// p -= step_size * m / (sqrt(v) / bias_correction2_sqrt + eps), after the moment updates.
struct AdamStepOp {
  AdamConfig h;
  // For the step t being taken, computed on the host in double as torch does in Python:
  // step_size = lr / (1 - beta1^t), bias_correction2_sqrt = sqrt(1 - beta2^t).
  float step_size;
  float bias_correction2_sqrt;
  float* p;
  const float* g;
  float* m;
  float* v;
  UNET_HD void operator()(int64_t i) const {
    float grad = g[i];
    if (h.weight_decay != 0.0f) grad += h.weight_decay * p[i];
    m[i] = m[i] * h.beta1 + (1.0f - h.beta1) * grad;
    v[i] = v[i] * h.beta2 + (1.0f - h.beta2) * grad * grad;
    const float denom = sqrtf(v[i]) / bias_correction2_sqrt + h.eps;
    p[i] += -step_size * (m[i] / denom);
  }
};

}  // namespace unet::kernels
