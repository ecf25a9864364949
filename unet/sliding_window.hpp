// Whole-volume prediction from a model that sees one patch at a time, the way nnU-Net does it:
// tiles overlap, each tile's prediction is weighted by a Gaussian that trusts the patch centre
// more than its borders, and the weighted sum is divided by the summed weights.
//
// Works on 3D volumes [C, X, Y, Z] (memory order [X][Y][Z], Z fastest) and on 2D images
// [C, X, Y]. The result is the weighted mean of whatever the predictor returns: pass logits
// and apply softmax_over_classes() to the result (as nnU-Net does), or pass probabilities.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/tensor.hpp"

namespace unet {

// Maps an input patch [1, C, P0, P1(, P2)] to scores [1, K, P0, P1(, P2)] (logits or
// probabilities). It may return a tensor on a GPU; it is copied to the host.
using PatchPredictor = std::function<Tensor(const Tensor&)>;

// Start positions of the tiles along an axis of `size` voxels (size >= patch): the step is
// patch * (1 - overlap), the number of tiles ceil((size - patch) / step) + 1, and the tiles are
// spread evenly (rounded to the nearest voxel, ties to even) from 0 to size - patch.
// E.g. size 240, patch 128, overlap 0.5 -> {0, 56, 112}.
std::vector<int64_t> sliding_window_steps(int64_t size, int64_t patch, double overlap = 0.5);

// The importance map over a patch, flat in row-major order: per axis exp(-d^2 / (2 sigma^2))
// with sigma = patch * sigma_scale and d the distance to the voxel patch / 2 (integer
// division), multiplied over the axes, so the maximum (at that voxel) is 1. Values that
// underflow to 0 are replaced by the smallest nonzero value, so that no voxel gets weight 0.
std::vector<float> gaussian_importance_map(const std::vector<int64_t>& patch, double sigma_scale = 1.0 / 8.0);

struct SlidingWindowOptions {
  std::vector<int64_t> patch;         // the spatial patch size: 3 entries for a volume, 2 for an image
  double overlap = 0.5;               // in [0, 1)
  double sigma_scale = 1.0 / 8.0;     // of the Gaussian importance map
  Device patch_device = Device::CPU;  // where the input patches are handed to the predictor
};

// Predicts `image` ([C, X, Y, Z] or [C, X, Y], any device) tile by tile and returns the
// weighted mean [K, X, Y, Z] (or [K, X, Y]) on the CPU. An axis shorter than the patch is
// zero-padded on both sides (the extra voxel after, when the padding is odd) and cropped back.
Tensor sliding_window_predict(const Tensor& image, const PatchPredictor& predict, const SlidingWindowOptions& options);

// Softmax over the first (class) axis of [K, ...] scores: a new CPU tensor.
Tensor softmax_over_classes(const Tensor& scores);

// The class with the highest score at each voxel of [K, ...] scores (the lowest class on a
// tie), flat in the voxels' row-major order.
std::vector<uint8_t> argmax_classes(const Tensor& scores);

}  // namespace unet
