// BatchNorm with its statistics summed over every rank of a data-parallel run (--sync-bn):
// the per-channel sums each rank contributes, and the backward from the summed statistics.
// The forward normalises with the backend's inference primitive once mean and var are known.
#pragma once

#include <cmath>
#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

// How many chunks a channel's `values` (N times the spatial size) are summed in: a function of
// the size alone, so the sums do not depend on the device or the thread count.
inline int64_t channel_sum_chunks(int64_t values) {
  const int64_t chunks = (values + 4095) / 4096;
  return chunks < 1 ? 1 : (chunks > 256 ? 256 : chunks);
}

// partial[ch, g] = sum over chunk g of channel ch's values of (a - a_shift[ch]) (b - b_shift[ch]),
// a and b [N, C, P]; without b the factor is 1; a null shift is 0. Each chunk in double.
struct ChannelPartialSumOp {
  int64_t n, c, p, chunks;
  const float* a;
  const float* a_shift;
  const float* b;
  const float* b_shift;
  float* partial;  // [C, chunks]
  UNET_HD void operator()(int64_t i) const {
    const int64_t ch = i / chunks, g = i % chunks;
    const int64_t values = n * p, per = (values + chunks - 1) / chunks;
    const int64_t begin = g * per, end = begin + per < values ? begin + per : values;
    const double sa = a_shift != nullptr ? a_shift[ch] : 0.0, sb = b_shift != nullptr ? b_shift[ch] : 0.0;
    double acc = 0.0;
    int64_t sample = begin / p, pos = begin % p;
    for (int64_t j = begin; j < end; ++j) {
      const int64_t e = (sample * c + ch) * p + pos;  // [N, C, P]
      const double va = static_cast<double>(a[e]) - sa;
      acc += b != nullptr ? va * (static_cast<double>(b[e]) - sb) : va;
      if (++pos == p) pos = 0, ++sample;
    }
    partial[i] = static_cast<float>(acc);
  }
};

// out[ch] = sum over g of partial[ch, g], in double, in order.
struct ChannelSumFinishOp {
  int64_t chunks;
  const float* partial;
  float* out;
  UNET_HD void operator()(int64_t ch) const {
    double acc = 0.0;
    for (int64_t g = 0; g < chunks; ++g) acc += partial[ch * chunks + g];
    out[ch] = static_cast<float>(acc);
  }
};

// dx = gamma r (dy - S1 / M - (x - mean) r^2 S2 / M), r = 1 / sqrt(var + eps), where S1 = sum dy and
// S2 = sum dy (x - mean) over all M values of the channel on every rank.
struct SyncBatchNormBackwardOp {
  int64_t c, p;
  float inv_count;  // 1 / M
  float eps;
  const float* x;
  const float* dy;
  const float* mean;
  const float* var;
  const float* gamma;
  const float* sums;  // [2, C]: S1, S2 (summed over the ranks)
  float* dx;
  UNET_HD void operator()(int64_t i) const {
    const int64_t ch = (i / p) % c;
    const float r = 1.0f / sqrtf(var[ch] + eps);
    dx[i] = gamma[ch] * r * (dy[i] - sums[ch] * inv_count - (x[i] - mean[ch]) * r * r * sums[c + ch] * inv_count);
  }
};

// dgamma = s2 r, dbeta = s1, from this rank's own sums [2, C] (s1 = sum dy, s2 = sum dy (x - mean)):
// each rank's parameter gradients are summed with the others' afterwards, as every gradient is.
struct SyncBatchNormParamGradOp {
  int64_t c;
  float eps;
  const float* var;
  const float* local_sums;
  float* dgamma;
  float* dbeta;
  UNET_HD void operator()(int64_t ch) const {
    dgamma[ch] = local_sums[c + ch] / sqrtf(var[ch] + eps);
    dbeta[ch] = local_sums[ch];
  }
};

}  // namespace unet::kernels
