// The dataset in memory: every volume decoded once, preprocessed, resized and kept as
// uint8, so an epoch costs no file I/O and no decoding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image.hpp"
#include "data/kaggle_scan.hpp"

namespace unet::data {

// reference: mateuszbuda/brain-segmentation-pytorch's per-volume pipeline: crop to the
//            brain's bounding box (voxels >= 0.1 x volume max), pad to square, resize
//            (image bilinear, mask nearest), rescale the 10th..99th percentile to [0, 1],
//            then z-score each channel with the volume's mean and std.
// simple:    the spec's resize to the model size and scale to [0, 1].
enum class Preprocess { Reference, Simple };
Preprocess parse_preprocess(const std::string& name);
std::string preprocess_name(Preprocess p);

struct Volume {
  std::string patient;
  std::vector<int> slice_numbers;  // the kept slices (reference mode crops empty ends)
  int64_t size = 0;                // S: slices are S x S
  std::vector<uint8_t> images;     // [D, 3, S, S]
  std::vector<uint8_t> masks;      // [D, S, S], values {0, 1}
  // Model input for channel c: (v / 255 - mean[c]) / stdev[c].
  float mean[3] = {0, 0, 0};
  float stdev[3] = {1, 1, 1};

  int64_t depth() const { return static_cast<int64_t>(slice_numbers.size()); }
  int64_t mask_area(int64_t slice) const;  // tumour pixels in a slice
};

struct LoadConfig {
  int64_t size = 256;
  Preprocess mode = Preprocess::Reference;
  bool strict = false;  // stop at the first bad file instead of skipping it
  int threads = 2;
};

struct LoadReport {
  int64_t patients = 0, slices = 0, tumour_slices = 0;
  int64_t skipped_files = 0;
  std::vector<std::string> problems;  // one line per skipped file or patient, naming it
};

std::vector<Volume> load_dataset(const ScanResult& scan, const LoadConfig& options, LoadReport& report);

// Where the model's S x S slices come from in the original H x W images: slices
// [z0, z1) were kept; rows [y0, y1) and columns [x0, x1) were cropped, placed at
// (pad_y, pad_x) in a square_h x square_w canvas and resized to S x S. Prediction uses it
// to map masks back onto the original images.
struct VolumeGeometry {
  int64_t height = 0, width = 0;
  int64_t z0 = 0, z1 = 0, y0 = 0, y1 = 0, x0 = 0, x1 = 0;
  int64_t pad_y = 0, pad_x = 0, square_h = 0, square_w = 0;
};

// One volume from decoded slices (images [D] of H x W x 1|3, masks [D] of H x W {0,1}).
Volume preprocess_volume(const std::string& patient, const std::vector<int>& numbers, const std::vector<Image>& images,
                         const std::vector<std::vector<uint8_t>>& masks, Preprocess mode, int64_t size,
                         VolumeGeometry* geometry = nullptr);

// Resizes a [h, w] plane (helper shared with prediction).
std::vector<float> resize_bilinear(const float* src, int64_t h, int64_t w, int64_t oh, int64_t ow);
std::vector<uint8_t> resize_nearest(const uint8_t* src, int64_t h, int64_t w, int64_t oh, int64_t ow);

}  // namespace unet::data
