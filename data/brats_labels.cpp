#include "data/brats_labels.hpp"

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet::data {

std::vector<uint8_t> brats_labels_to_classes(const std::vector<float>& labels, const std::array<int64_t, 3>& dims,
                                             const std::string& path) {
  std::vector<uint8_t> classes(labels.size());
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < labels.size(); ++i) {
    const int c = brats_label_to_class(labels[i]);
    if (c < 0) {
      if (bad++ == 0) first = static_cast<int64_t>(i);
      continue;
    }
    classes[i] = static_cast<uint8_t>(c);
  }
  if (bad > 0) {
    const int64_t yz = dims[1] * dims[2];
    const int64_t x = first / yz, y = (first % yz) / dims[2], z = first % dims[2];
    UNET_THROW(path, trf("label value {} at voxel ({}, {}, {}) is not a BraTS label ({} voxel(s) hold values other "
                         "than 0, 1, 2 and 4)",
                         std::to_string(labels[static_cast<size_t>(first)]), std::to_string(x), std::to_string(y),
                         std::to_string(z), std::to_string(bad)));
  }
  return classes;
}

void write_brats_labels(const std::string& path, const NiftiHeader& reference, const std::vector<uint8_t>& classes,
                        NiftiDatatype type) {
  UNET_CHECK(type == NiftiDatatype::UInt8 || type == NiftiDatatype::Int16, path,
             tr("labels are written as uint8 or int16 only"));
  std::vector<float> labels(classes.size());
  for (size_t i = 0; i < classes.size(); ++i) {
    UNET_CHECK(classes[i] < kBratsClasses, path,
               trf("class {} at index {} is not 0..3", std::to_string(classes[i]), std::to_string(i)));
    labels[i] = static_cast<float>(brats_class_to_label(classes[i]));
  }
  write_nifti(path, reference, labels, type);
}

}  // namespace unet::data
