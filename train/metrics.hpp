// Segmentation metrics on binary masks (values 0/1).
#pragma once

#include <cstdint>
#include <vector>

namespace unet {

// Dice = 2 |P n T| / (|P| + |T|); defined as 1 when both are empty (a correct "no tumour").
double dice(const uint8_t* pred, const uint8_t* truth, int64_t n);

// The reference program's DSC per volume: the volume's slices taken together.
double dice_volume(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& truth);

// IoU (Jaccard) = |P n T| / |P u T| = D / (2 - D) for the same pair; 1 when both are empty.
double iou(const uint8_t* pred, const uint8_t* truth, int64_t n);
double iou_volume(const std::vector<uint8_t>& pred, const std::vector<uint8_t>& truth);

// Keeps only the largest 6-connected 3D component of a [depth, size, size] mask, as the
// reference's optional post-processing (in place).
void keep_largest_component(std::vector<uint8_t>& mask, int64_t depth, int64_t size);

double mean_of(const std::vector<double>& v);
double median_of(std::vector<double> v);

}  // namespace unet
