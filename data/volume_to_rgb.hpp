// A greyscale volume (or several of one geometry, as channels) as the 8-bit RGB slices of the
// kaggle_3m layout. MR intensities have no absolute scale, so each channel is windowed per
// volume: its 0.5th and 99.5th percentiles map to 0 and 255. `unet convert` writes these
// slices and `unet predict` on a DICOM series feeds them to the model, so both agree exactly.
#pragma once

#include <cstdint>
#include <vector>

#include "data/image.hpp"

namespace unet::data {

// channels: 1 (replicated to R, G and B) or 3 volumes, each [slices][rows][cols].
// Returns [slices] images of rows x cols x 3, 8-bit.
std::vector<Image> volume_to_rgb_slices(const std::vector<std::vector<float>>& channels, int64_t slices, int64_t rows,
                                        int64_t cols);

}  // namespace unet::data
