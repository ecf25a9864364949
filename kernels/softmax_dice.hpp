// Multi-class soft Dice on p = softmax(z) over the channel axis, against class indices t
// [N, S], as the reference program's 3D DiceLoss: per class k, over the whole batch,
// dice_k = (2 I_k + s) / (P_k + T_k + s) with I_k = sum p_k y_k, P_k = sum p_k, T_k = sum y_k
// (y = one-hot(t)); loss = 1 - mean_k dice_k. p [N, C, S] comes from SoftmaxChannelsOp.
#pragma once

#include <cstdint>

#include "base/hd.hpp"
#include "kernels/softmax.hpp"

namespace unet::kernels {

// The 3C sums, each reduced separately over the N S voxels:
// sums[k] = I_k, sums[C + k] = P_k, sums[2C + k] = T_k.
struct ClassIntersectionValue {
  const float* p;
  const float* t;
  int64_t c;
  int64_t s;
  int64_t k;  // the class summed
  UNET_HD float operator()(int64_t v) const { return class_of(t[v]) == k ? p[voxel_base(v, c, s) + k * s] : 0.0f; }
};

struct ClassProbabilityValue {
  const float* p;
  int64_t c;
  int64_t s;
  int64_t k;
  UNET_HD float operator()(int64_t v) const { return p[voxel_base(v, c, s) + k * s]; }
};

struct ClassCountValue {
  const float* t;
  int64_t k;
  UNET_HD float operator()(int64_t v) const { return class_of(t[v]) == k ? 1.0f : 0.0f; }
};

// out[0] = 1 - (1/C) sum_k (2 I_k + s) / (P_k + T_k + s), from the device sums (one thread).
struct SoftmaxDiceLossOp {
  const float* sums;
  int64_t c;
  float smooth;
  float* out;
  UNET_HD void operator()(int64_t) const {
    float total = 0.0f;
    for (int64_t k = 0; k < c; ++k) total += (2.0f * sums[k] + smooth) / (sums[c + k] + sums[2 * c + k] + smooth);
    out[0] = 1.0f - total / static_cast<float>(c);
  }
};

// dL/dz_k = sum_j dL/dp_j p_j (delta_jk - p_k) = p_k (g_k - sum_j g_j p_j), g_j = -(2 y_j D_j - 2 I_j - s) / (C D_j^2)
// with D_j = P_j + T_j + s; one thread per voxel writes its C gradients.
struct SoftmaxDiceBackwardOp {
  const float* p;
  const float* t;
  const float* sums;
  int64_t c;
  int64_t s;
  float smooth;
  const float* grad_out;  // device scalar
  float* dz;
  UNET_HD void operator()(int64_t v) const {
    const int64_t base = voxel_base(v, c, s), label = class_of(t[v]);
    const float inv_c = 1.0f / static_cast<float>(c);
    // Two passes over the C classes (C is small): sum_j g_j p_j first, then each dz_k.
    float gp = 0.0f;
    for (int64_t j = 0; j < c; ++j) gp += dice_dp(j, label, inv_c) * p[base + j * s];
    for (int64_t k = 0; k < c; ++k) dz[base + k * s] = grad_out[0] * p[base + k * s] * (dice_dp(k, label, inv_c) - gp);
  }
  UNET_HD float dice_dp(int64_t j, int64_t label, float inv_c) const {
    const float denom = sums[c + j] + sums[2 * c + j] + smooth;
    const float numer = 2.0f * sums[j] + smooth;
    const float y = label == j ? 1.0f : 0.0f;
    return -(2.0f * y * denom - numer) * inv_c / (denom * denom);
  }
};

}  // namespace unet::kernels
