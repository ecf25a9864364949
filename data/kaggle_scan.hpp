// Finds the Kaggle LGG layout: kaggle_3m/<case>/<case>_<n>.tif with <case>_<n>_mask.tif.
// Accepts the kaggle_3m folder itself or the folder above it (the download also holds a
// duplicate lgg-mri-segmentation/kaggle_3m, data.csv and a README; those are ignored).
#pragma once

#include <string>
#include <vector>

namespace unet::data {

struct SliceFiles {
  int number = 0;     // <n>, the slice's position in the volume (1-based in the real set)
  std::string image;  // path of <case>_<n>.tif
  std::string mask;   // path of <case>_<n>_mask.tif
};

struct PatientFiles {
  std::string id;                 // the case folder's name, e.g. TCGA_CS_4941_19960909
  std::vector<SliceFiles> slices; // ordered by number (10 after 9)
};

struct ScanResult {
  std::string root;  // the kaggle_3m folder actually used
  std::vector<PatientFiles> patients;  // ordered by id
  std::vector<std::string> warnings;   // unpaired files, odd names
  int64_t slice_count() const;
};

// True for .tif / .tiff (any case).
bool is_tiff_path(const std::string& path);
// "<case>_<n>" -> (n, false), "<case>_<n>_mask" -> (n, true); false when the stem has no
// slice number.
bool parse_slice_name(const std::string& stem, int& number, bool& is_mask);

// Errors: the folder is missing, or holds no case folder with image/mask pairs.
ScanResult scan_kaggle(const std::string& folder);

}  // namespace unet::data
