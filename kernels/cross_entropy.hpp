// Cross-entropy over the channel axis of logits z [N, C, S] against class indices t [N, S],
// as torch's F.cross_entropy (mean over the N S voxels). A class index outside 0..C-1 is a
// caller's error; it reads nothing out of bounds and contributes zero loss.
#pragma once

#include <cstdint>

#include "base/hd.hpp"
#include "kernels/softmax.hpp"

namespace unet::kernels {

// -log softmax(z)_t = max + log(sum_k exp(z_k - max)) - z_t: the sum is at least 1, so the
// log never sees 0, and exp() never overflows.
struct CrossEntropyValue {
  const float* z;
  const float* t;
  int64_t c;
  int64_t s;
  UNET_HD float operator()(int64_t v) const {
    const int64_t base = voxel_base(v, c, s), label = class_of(t[v]);
    if (label < 0 || label >= c) return 0.0f;
    const ChannelExpSum es = channel_exp_sum(z + base, c, s);
    return es.max + logf(es.sum) - z[base + label * s];
  }
};

// dz_k = grad_out * scale * (softmax(z)_k - [t == k]), scale = 1/(N S) for the mean.
struct CrossEntropyBackwardOp {
  const float* z;
  const float* t;
  int64_t c;
  int64_t s;
  const float* grad_out;  // device scalar
  float scale;
  float* dz;
  UNET_HD void operator()(int64_t v) const {
    const int64_t base = voxel_base(v, c, s), label = class_of(t[v]);
    const ChannelExpSum es = channel_exp_sum(z + base, c, s);
    const float g = grad_out[0] * scale;
    if (label < 0 || label >= c) {  // no loss, no gradient (see above)
      for (int64_t k = 0; k < c; ++k) dz[base + k * s] = 0.0f;
      return;
    }
    const float inv = 1.0f / es.sum;
    for (int64_t k = 0; k < c; ++k) {
      const float p = expf(z[base + k * s] - es.max) * inv;
      dz[base + k * s] = g * (p - (k == label ? 1.0f : 0.0f));
    }
  }
};

}  // namespace unet::kernels
