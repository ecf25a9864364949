// BraTS segmentation labels {0, 1, 2, 4} and the engine's classes {0, 1, 2, 3}:
// 0 background, 1 necrotic / non-enhancing core, 2 edema, 4 (class 3) enhancing tumour.
// Labels are mapped to classes on reading and back on writing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/nifti_io.hpp"

namespace unet::data {

inline constexpr int kBratsClasses = 4;

// Class of a label; -1 for a value that is not a BraTS label (3, 5, 1.5, -1...).
inline int brats_label_to_class(float label) {
  if (label == 0.0f) return 0;
  if (label == 1.0f) return 1;
  if (label == 2.0f) return 2;
  if (label == 4.0f) return 3;
  return -1;
}
inline int brats_class_to_label(int cls) { return cls == 3 ? 4 : cls; }

// Classes ([X][Y][Z], from the NIfTI voxels of `path`) or an error naming the file, the first
// bad value, where it is and how many voxels hold a value other than 0, 1, 2 or 4.
std::vector<uint8_t> brats_labels_to_classes(const std::vector<float>& labels, const std::array<int64_t, 3>& dims,
                                             const std::string& path);

// Writes classes 0..3 ([X][Y][Z]) as labels 0, 1, 2, 4 with the header of `reference`
// (affine, qform/sform, pixdim, units), datatype uint8 or int16, no scaling; .nii.gz or .nii by
// the name's ending; atomic (see write_nifti).
void write_brats_labels(const std::string& path, const NiftiHeader& reference, const std::vector<uint8_t>& classes,
                        NiftiDatatype type = NiftiDatatype::UInt8);

}  // namespace unet::data
