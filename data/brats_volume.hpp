// One BraTS case in memory: the four modalities z-scored over the brain, the classes 0..3 and
// the voxel spacing; and the loader of a whole data set, which names and skips bad cases.
// Memory: a 240x240x155 case is 8.9 M voxels, 143 MB of float images + 9 MB of classes;
// use max_data (or load_brats_case one case at a time) for the full 369-case set.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/brats_scan.hpp"
#include "data/nifti_io.hpp"

namespace unet::data {

struct BratsCase {
  std::string id;
  std::array<int64_t, 3> dims{0, 0, 0};      // X, Y, Z
  std::array<double, 3> spacing{1, 1, 1};    // mm, from the flair file (for HD95)
  std::vector<float> image;                  // [4][X][Y][Z]: flair, t1, t1ce, t2, z-scored
  std::vector<uint8_t> classes;              // [X][Y][Z], 0..3; empty when !has_labels
  bool has_labels = false;
  NiftiHeader reference;                     // the flair file's header, to write predictions with

  int64_t voxel_count() const { return dims[0] * dims[1] * dims[2]; }
  int64_t tumour_voxels() const;             // classes != 0
};

// Per-modality z-score over the nonzero voxels: v -> (v - mean) / (std + 1e-8), with the
// population std (numpy's .std()); zero voxels (outside the skull-stripped brain) stay zero.
// Accumulated in double.
void normalize_nonzero(float* voxels, int64_t n);

// Reads, checks and normalises one case. Errors name the file and the defect: a missing
// modality, a truncated or non-3D file, dims that differ between modalities or between
// image and seg, labels other than 0, 1, 2, 4. Without a seg file: has_labels = false.
BratsCase load_brats_case(const BratsCaseFiles& files);

struct BratsLoadConfig {
  bool strict = false;          // stop at the first bad case instead of skipping it
  bool require_labels = true;   // training: a case without seg is skipped; prediction: allowed
  int64_t max_data = 0;         // > 0: only the first N cases of the scan (sorted by id)
  int threads = 2;
};

struct BratsLoadReport {
  int64_t cases = 0, skipped = 0, without_labels = 0;
  std::vector<std::string> problems;  // one line per skipped case, naming the file and the defect
};

// Loads every usable case, in id order. Errors: strict and a bad case (the error names its
// file), or no usable case at all.
std::vector<BratsCase> load_brats_dataset(const BratsScan& scan, const BratsLoadConfig& config,
                                          BratsLoadReport& report);

}  // namespace unet::data
