// Training augmentation, the reference program's set: scale 0.95-1.05, rotation +-15
// degrees, horizontal flip with p = 0.5. One affine map is drawn per sample and applied to
// image (bilinear) and mask (nearest) alike, around the image centre; pixels that come from
// outside the image are 0 in the normalised input (the volume mean) and background in the mask.
#pragma once

#include <cstdint>

#include "data/dataset.hpp"
#include "base/rng.hpp"

namespace unet::data {

struct AugmentConfig {
  float scale = 0.05f;       // scale factor drawn from [1 - scale, 1 + scale]
  float max_degrees = 15.0f; // angle drawn from [-max, max]
  float flip_p = 0.5f;
};

struct Affine {
  float scale = 1.0f, degrees = 0.0f;
  bool flip = false;
  static Affine identity() { return {}; }
  static Affine draw(Rng& rng, const AugmentConfig& c);
};

// Writes slice `slice` of `v` as model input [3, S, S] and target [S, S] (0/1 floats).
void render_sample(const Volume& v, int64_t slice, const Affine& a, float* image, float* mask);

}  // namespace unet::data
