// Channel concatenation of two NCHW tensors and its backward split.
#pragma once

#include <cstdint>

#include "engine/hd.hpp"

namespace unet::kernels {

// y [N, Ca+Cb, H, W] = cat(a [N, Ca, H, W], b [N, Cb, H, W]); i indexes y.
struct ConcatChannelsOp {
  int64_t ca, cb, hw;
  const float* a;
  const float* b;
  float* y;
  UNET_HD void operator()(int64_t i) const {
    const int64_t c_total = ca + cb;
    const int64_t n = i / (c_total * hw);
    const int64_t rest = i - n * c_total * hw;
    const int64_t c = rest / hw;
    const int64_t p = rest - c * hw;
    y[i] = c < ca ? a[(n * ca + c) * hw + p] : b[(n * cb + (c - ca)) * hw + p];
  }
};

// da, db = split(dy); either may be null when its input needs no gradient.
struct ConcatChannelsBackwardOp {
  int64_t ca, cb, hw;
  const float* dy;
  float* da;
  float* db;
  UNET_HD void operator()(int64_t i) const {
    const int64_t c_total = ca + cb;
    const int64_t n = i / (c_total * hw);
    const int64_t rest = i - n * c_total * hw;
    const int64_t c = rest / hw;
    const int64_t p = rest - c * hw;
    if (c < ca) {
      if (da != nullptr) da[(n * ca + c) * hw + p] = dy[i];
    } else if (db != nullptr) {
      db[(n * cb + (c - ca)) * hw + p] = dy[i];
    }
  }
};

}  // namespace unet::kernels
