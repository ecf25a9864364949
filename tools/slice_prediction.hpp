// The 2D model on the slices of one volume, shared by `unet predict` on TIFF folders and on
// DICOM series: the checkpoint's preprocessing, the model on its grid, and the probabilities
// mapped back onto each slice at its own size and thresholded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/device.hpp"
#include "data/dataset.hpp"
#include "data/image.hpp"
#include "unet/unet_model.hpp"

namespace unet::tools {

struct SlicePredictionSettings {
  data::Preprocess preprocess = data::Preprocess::Reference;
  int64_t size = 256;       // the model's input is size x size
  int64_t batch = 16;       // slices per forward pass
  float threshold = 0.5f;   // on the probability
  Device device = Device::CPU;
};

// images [D] of H x W x 1|3 (one volume, in slice order, numbered `numbers`); truths [D] of
// H x W {0,1} (only the reference preprocessing's crop uses them, as in training). Returns
// [D] masks of H x W {0,1}.
std::vector<std::vector<uint8_t>> predict_slice_masks(UNet& model, const std::string& volume_name,
                                                      const std::vector<int>& numbers,
                                                      const std::vector<data::Image>& images,
                                                      const std::vector<std::vector<uint8_t>>& truths,
                                                      const SlicePredictionSettings& settings);

// 8-bit RGB for display: grayscale replicated, 16-bit scaled by `vmax` (the volume maximum).
std::vector<uint8_t> display_rgb(const data::Image& im, float vmax);

}  // namespace unet::tools
