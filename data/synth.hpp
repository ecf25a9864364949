// A synthetic dataset in the exact kaggle_3m layout and formats: per patient a volume of
// 20-88 slices, 256x256 RGB uint8 TIFF (pre-contrast, FLAIR, post-contrast) with head,
// scalp, skull, grey and white matter and ventricles, a smooth bias field and noise, and an
// irregular 3D tumour (FLAIR-bright, partly enhancing after contrast, with a dark core)
// over a contiguous run of slices; masks are single-channel uint8 0/255. About a third of
// all slices are positive, as in the real set. Deterministic for a seed.
#pragma once

#include <cstdint>
#include <string>

#include "data/tiff_io.hpp"

namespace unet::data {

struct SynthConfig {
  std::string out;         // writes out/kaggle_3m/<case>/...
  int patients = 110;
  uint64_t seed = 0;
  int threads = 2;
  int64_t size = 256;      // the real set is 256x256
  int min_slices = 20, max_slices = 88;
  TiffCompression compression = TiffCompression::None;  // the real files are uncompressed
};

struct SynthReport {
  int64_t patients = 0, slices = 0, positive_slices = 0;
};

SynthReport generate_synthetic(const SynthConfig& config);

// The case id of patient i for a seed, e.g. "SYNTH_SY_0007_19990412".
std::string synthetic_case_id(uint64_t seed, int index);

}  // namespace unet::data
