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

// y_{v,k} = [class_of(t_v) == k]: one thread per voxel writes its C values (one division per
// voxel rather than three per output value).
struct OneHotOp {
  const float* t;
  int64_t c;
  int64_t s;
  float* y;
  UNET_HD void operator()(int64_t v) const {
    const int64_t base = voxel_base(v, c, s), label = class_of(t[v]);
    for (int64_t k = 0; k < c; ++k) y[base + k * s] = label == k ? 1.0f : 0.0f;
  }
};

}  // namespace unet::kernels
