// Channel concatenation of two [N, C, *S] tensors and its backward split.
//
// Image n of the result is image n of a followed by image n of b, so the kernels copy runs of
// contiguous floats: this holds for plain NCHW and for channel-blocked layouts alike (whole
// blocks on both sides), and a run is as long as the device likes (ConcatRuns below).
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

// Floats per image: a_len = Ca * S, b_len = Cb * S. Call i copies floats [i*run, (i+1)*run) of
// the result; `run` divides both lengths, so a run never straddles a and b.
struct ConcatRuns {
  int64_t a_len, b_len, run;
  // Where run i starts in the result, and whether it comes from a (else b) at `offset` there.
  UNET_HD bool from_a(int64_t i, int64_t& offset) const {
    const int64_t start = i * run, per_image = a_len + b_len;
    const int64_t n = start / per_image, r = start - n * per_image;
    const bool a_side = r < a_len;
    offset = a_side ? n * a_len + r : n * b_len + (r - a_len);
    return a_side;
  }
};

// y [N, Ca+Cb, *S] = cat(a [N, Ca, *S], b [N, Cb, *S]).
struct ConcatChannelsOp {
  ConcatRuns runs;
  const float* a;
  const float* b;
  float* y;
  UNET_HD void operator()(int64_t i) const {
    int64_t offset = 0;
    const float* src = (runs.from_a(i, offset) ? a : b) + offset;
    float* dst = y + i * runs.run;
    for (int64_t k = 0; k < runs.run; ++k) dst[k] = src[k];
  }
};

// da, db = split(dy); either may be null when its input needs no gradient.
struct ConcatChannelsBackwardOp {
  ConcatRuns runs;
  const float* dy;
  float* da;
  float* db;
  UNET_HD void operator()(int64_t i) const {
    int64_t offset = 0;
    float* dst = runs.from_a(i, offset) ? da : db;
    if (dst == nullptr) return;
    dst += offset;
    const float* src = dy + i * runs.run;
    for (int64_t k = 0; k < runs.run; ++k) dst[k] = src[k];
  }
};

}  // namespace unet::kernels
