// A synthetic BraTS 2020 training set in the exact layout and formats:
// out/MICCAI_BraTS2020_TrainingData/BraTS20_Training_NNN/BraTS20_Training_NNN_{flair,t1,t1ce,t2,seg}.nii
// Per case: a skull-stripped, brain-shaped ellipsoid (zero outside) with white and grey matter
// and ventricles, a smooth bias field and noise, int16 images; a tumour of nested sub-regions,
// necrotic core (label 1) inside an enhancing rim (label 4) inside edema (label 2), with the
// usual contrasts (FLAIR and T2 bright edema, T1ce bright rim, T1 dark core); seg uint8 {0,1,2,4}.
// Every second case is written .nii.gz, the others .nii. Voxel spacing 1 mm and the real
// set's affine (x and y flipped). Deterministic for a seed.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace unet::data {

struct SynthBratsConfig {
  std::string out;                               // the set is written to out/MICCAI_BraTS2020_TrainingData
  int cases = 10;
  uint64_t seed = 0;
  std::array<int64_t, 3> size{240, 240, 155};    // X, Y, Z (the real set: 240 x 240 x 155)
  int threads = 2;
};

struct SynthBratsReport {
  std::string root;                              // the MICCAI_BraTS2020_TrainingData folder
  int64_t cases = 0, files = 0, compressed_cases = 0;
  int64_t tumour_voxels = 0;                     // labels != 0, over all cases
};

SynthBratsReport synth_brats(const SynthBratsConfig& config);

// "BraTS20_Training_001" for index 0.
std::string synth_brats_case_id(int index);

}  // namespace unet::data
