// Softmax over the channel axis of logits z [N, C, S] (S = the product of the spatial dims, so
// the same code serves [N, C, H, W] and [N, C, D, H, W]). Voxel v in [0, N S) is (n, s) with
// n = v / S, s = v % S; its C values sit S apart. C is small (4 for BraTS): a voxel loops over it.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

// The first of voxel v's C values.
UNET_HD int64_t voxel_base(int64_t v, int64_t c, int64_t s) {
  return (v / s) * c * s + v % s;
}

// A class index stored as a float, rounded to the nearest integer (so 2.9999998 is class 3).
UNET_HD int64_t class_of(float t) {
  return static_cast<int64_t>(floorf(t + 0.5f));
}

// max_k z_k and sum_k exp(z_k - max) of the C values at z[0], z[s], ...: exp() never sees a
// positive argument, and the sum is at least 1 (the max's own term).
struct ChannelExpSum {
  float max;
  float sum;
};
UNET_HD ChannelExpSum channel_exp_sum(const float* z, int64_t c, int64_t s) {
  float m = z[0];
  for (int64_t k = 1; k < c; ++k) m = z[k * s] > m ? z[k * s] : m;
  float e = 0.0f;
  for (int64_t k = 0; k < c; ++k) e += expf(z[k * s] - m);
  return {m, e};
}

// p_k = exp(z_k - max_j z_j) / sum_j exp(z_j - max_j z_j): one thread per voxel writes its C values.
struct SoftmaxChannelsOp {
  const float* z;
  int64_t c;
  int64_t s;
  float* p;
  UNET_HD void operator()(int64_t v) const {
    const int64_t base = voxel_base(v, c, s);
    float m = z[base];
    for (int64_t k = 1; k < c; ++k) m = z[base + k * s] > m ? z[base + k * s] : m;
    // The exponentials go to p first and are scaled there: C expf per voxel, not 2C.
    float sum = 0.0f;
    for (int64_t k = 0; k < c; ++k) {
      const float e = expf(z[base + k * s] - m);
      p[base + k * s] = e;
      sum += e;
    }
    const float inv = 1.0f / sum;
    for (int64_t k = 0; k < c; ++k) p[base + k * s] *= inv;
  }
};

}  // namespace unet::kernels
