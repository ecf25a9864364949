// Channel concatenation of two NCHW tensors and its backward split.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

// Where element i of the concatenation [N, Ca+Cb, H, W] comes from: image n, channel c of
// the concatenation, pixel p.
struct ConcatIndex {
  int64_t n, c, p;
};

UNET_HD ConcatIndex concat_index(int64_t i, int64_t c_total, int64_t hw) {
  const int64_t n = i / (c_total * hw);
  const int64_t rest = i - n * c_total * hw;
  const int64_t c = rest / hw;
  return ConcatIndex{n, c, rest - c * hw};
}

// y [N, Ca+Cb, H, W] = cat(a [N, Ca, H, W], b [N, Cb, H, W]); i indexes y.
struct ConcatChannelsOp {
  int64_t ca, cb, hw;
  const float* a;
  const float* b;
  float* y;
  UNET_HD void operator()(int64_t i) const {
    const ConcatIndex k = concat_index(i, ca + cb, hw);
    y[i] = k.c < ca ? a[(k.n * ca + k.c) * hw + k.p] : b[(k.n * cb + (k.c - ca)) * hw + k.p];
  }
};

// da, db = split(dy); either may be null when its input needs no gradient.
struct ConcatChannelsBackwardOp {
  int64_t ca, cb, hw;
  const float* dy;
  float* da;
  float* db;
  UNET_HD void operator()(int64_t i) const {
    const ConcatIndex k = concat_index(i, ca + cb, hw);
    if (k.c < ca) {
      if (da != nullptr) da[(k.n * ca + k.c) * hw + k.p] = dy[i];
    } else if (db != nullptr) {
      db[(k.n * cb + (k.c - ca)) * hw + k.p] = dy[i];
    }
  }
};

}  // namespace unet::kernels
