// Finds BraTS cases: case folders <id>/ holding <id>_{flair,t1,t1ce,t2,seg}.nii[.gz]
// (BraTS 2020: BraTS20_Training_NNN/BraTS20_Training_NNN_flair.nii; BraTS 2021:
// BraTS2021_NNNNN/BraTS2021_NNNNN_flair.nii.gz). The folder given may be one case folder,
// or hold case folders at any one level below it (MICCAI_BraTS2020_TrainingData, or the
// folder above it); other files there (name_mapping.csv, survival_info.csv) are ignored.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace unet::data {

// The input channels, in this order: flair, t1, t1ce, t2.
inline constexpr std::array<const char*, 4> kBratsModalities = {"flair", "t1", "t1ce", "t2"};

struct BratsCaseFiles {
  std::string id;                      // the case folder's name
  std::string folder;
  std::array<std::string, 4> images;   // by kBratsModalities; "" when missing
  std::string seg;                     // "" when the case has no labels (prediction only)
  std::vector<std::string> defects;    // missing modalities, two files for one modality

  bool has_labels() const { return !seg.empty(); }
};

struct BratsScan {
  std::string root;                     // the folder given
  std::vector<BratsCaseFiles> cases;    // ordered by id
  std::vector<std::string> warnings;    // files ignored, and why
};

// The role of a file from its name: "flair", "t1", "t1ce", "t2" or "seg" ("" for other
// files). The role is the last '_'-separated word of the name before .nii / .nii.gz, in any
// case; "Segm" counts as seg (BraTS20_Training_355 ships W39_1998.09.19_Segm.nii).
std::string brats_file_role(const std::string& filename);

// Errors: the folder is missing, or no case folder with NIfTI modality files is found
// within three levels below it.
BratsScan scan_brats(const std::string& folder);

}  // namespace unet::data
