// Elementwise kernels: one functor per op; operator()(i) computes element i.
// Run by kernels/cpu (OpenMP) and kernels/cuda (grid-stride) unchanged.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

struct FillOp {
  float value;
  float* y;
  UNET_HD void operator()(int64_t i) const { y[i] = value; }
};

// y[i] = x[0]: spreads a device scalar (e.g. the gradient of a sum) over a tensor.
struct BroadcastScalarOp {
  const float* x;
  float* y;
  UNET_HD void operator()(int64_t i) const { y[i] = x[0]; }
};

struct AddOp {
  const float* a;
  const float* b;
  float* y;
  UNET_HD void operator()(int64_t i) const { y[i] = a[i] + b[i]; }
};

// y += alpha * x: gradient accumulation.
struct AxpyOp {
  float alpha;
  const float* x;
  float* y;
  UNET_HD void operator()(int64_t i) const { y[i] += alpha * x[i]; }
};

struct ScaleOp {
  float alpha;
  const float* x;
  float* y;
  UNET_HD void operator()(int64_t i) const { y[i] = alpha * x[i]; }
};

struct ReluForwardOp {
  const float* x;
  float* y;
  UNET_HD void operator()(int64_t i) const { y[i] = x[i] > 0.0f ? x[i] : 0.0f; }
};

// Uses the output: y > 0 exactly where x > 0, and the input need not be kept.
struct ReluBackwardOp {
  const float* y;
  const float* dy;
  float* dx;
  UNET_HD void operator()(int64_t i) const { dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; }
};

// Stable for any x: exp() only ever sees a non-positive argument.
UNET_HD float stable_sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}

struct SigmoidForwardOp {
  const float* x;
  float* y;
  UNET_HD void operator()(int64_t i) const { y[i] = stable_sigmoid(x[i]); }
};

struct SigmoidBackwardOp {
  const float* y;
  const float* dy;
  float* dx;
  UNET_HD void operator()(int64_t i) const { dx[i] = dy[i] * y[i] * (1.0f - y[i]); }
};

// Value functor for reductions.
struct IdentityValue {
  const float* x;
  UNET_HD float operator()(int64_t i) const { return x[i]; }
};

}  // namespace unet::kernels
