// Class maps for multi-class segmentation: logits or scores [N, C, S] -> class index [N, S]
// (argmax), and class index [N, S] -> one-hot [N, C, S]. Class indices are floats holding
// integers 0..C-1; an index outside that range has an all-zero one-hot row.
#pragma once

#include <cstdint>

#include "base/hd.hpp"
#include "kernels/softmax.hpp"

namespace unet::kernels {

// y_v = argmax_k x_{v,k}, ties to the lowest k (as torch.argmax); a NaN wins, the first one
// (torch.argmax treats NaN as the largest value).
struct ArgmaxChannelsOp {
  const float* x;
  int64_t c;
  int64_t s;
  float* y;
  UNET_HD void operator()(int64_t v) const {
    const float* xv = x + voxel_base(v, c, s);
    int64_t best = 0;
    float best_value = xv[0];
    for (int64_t k = 1; k < c; ++k) {
      const float value = xv[k * s];
      const bool best_is_nan = best_value != best_value;
      if (!best_is_nan && (value > best_value || value != value)) {
        best = k;
        best_value = value;
      }
    }
    y[v] = static_cast<float>(best);
  }
};

// y_{n,k,s} = [class_of(t_{n,s}) == k]: one thread per output element.
struct OneHotOp {
  const float* t;
  int64_t c;
  int64_t s;
  float* y;
  UNET_HD void operator()(int64_t i) const {
    const int64_t n = i / (c * s), k = (i / s) % c, sp = i % s;
    y[i] = class_of(t[n * s + sp]) == k ? 1.0f : 0.0f;
  }
};

}  // namespace unet::kernels
