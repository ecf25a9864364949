// Per-voxel class operations for multi-class segmentation (the 3D BraTS model, and any
// [N, C, spatial...] logits): softmax probabilities, the argmax class map and one-hot
// targets. For evaluation and inference: they record no gradient. Class maps are float
// tensors holding the integers 0..C-1, shaped [N, spatial...] (a [N, 1, spatial...] map is
// accepted as input too).
#pragma once

#include <cstdint>

#include "engine/tensor.hpp"

namespace unet {

// How a multi-class tensor [N, C, spatial...] is seen by the kernels: [N, C, S], S the
// product of the spatial dims (1 when there are none).
struct ClassLayout {
  int64_t n = 0;
  int64_t c = 0;
  int64_t s = 0;
};

// The layout of logits or scores [N, C, spatial...] with C >= 2; throws naming `op` otherwise.
ClassLayout class_layout(const char* op, const Tensor& logits);
// Checks that `classes` is a class map for `logits`: [N, spatial...] or [N, 1, spatial...],
// on the same device. Returns the logits' layout.
ClassLayout check_class_map(const char* op, const Tensor& logits, const Tensor& classes);

// softmax over the channel axis: [N, C, spatial...] -> the same shape, each voxel's C values
// summing to 1.
Tensor softmax_channels(const Tensor& logits);
// The class with the largest logit (ties to the lowest, as torch.argmax): [N, C, spatial...]
// -> [N, spatial...].
Tensor argmax_channels(const Tensor& logits);
// [N, spatial...] (or [N, 1, spatial...]) class map -> [N, num_classes, spatial...] of 0/1.
// An index outside 0..num_classes-1 gives an all-zero row (this op does not look at values).
Tensor one_hot_channels(const Tensor& classes, int64_t num_classes);

}  // namespace unet
