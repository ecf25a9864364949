// Random training patches from BraTS cases, as the reference program draws them: per case and
// epoch `sample_num` patches of P x P x P, each re-drawn until it holds more than
// `min_tumor_voxels` labelled voxels, then flipped along each axis with probability 0.5
// (image and label together). A volume smaller than the patch along an axis is zero-padded
// there, at a random offset. Every patch is a pure function of (seed, epoch, case, sample):
// the same on any thread count, and resumable from the epoch number alone.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "data/brats_volume.hpp"

namespace unet::data {

struct PatchConfig {
  std::array<int64_t, 3> size{128, 128, 128};  // along X, Y, Z
  int sample_num = 4;                          // patches per case per epoch
  int64_t min_tumor_voxels = 100;              // a patch must hold MORE than this many (class != 0)
  // Draws before giving up. Then the patch is centred on a random tumour voxel (clamped to
  // the volume), which holds tumour whenever the case has any; without tumour the last draw
  // is kept.
  int max_tries = 50;
  bool flip = true;
};

// Where a patch came from, for tests and logs.
struct PatchInfo {
  std::array<int64_t, 3> origin{0, 0, 0};  // volume coordinates of the patch's voxel (0,0,0) before flipping; may be < 0 (padding)
  std::array<bool, 3> flipped{false, false, false};
  int tries = 0;                           // draws made (max_tries + 1 when it fell back to a tumour voxel)
  int64_t tumour_voxels = 0;               // in the final patch
};

// A batch: images [N, 4, Px, Py, Pz] and classes [N, Px, Py, Pz] as float 0..3.
struct PatchBatch {
  int64_t count = 0;
  std::array<int64_t, 3> size{0, 0, 0};
  std::vector<float> images;
  std::vector<float> labels;
};

// One patch from a labelled case into image_out [4][Px][Py][Pz] and label_out [Px][Py][Pz].
PatchInfo sample_patch(const BratsCase& c, const PatchConfig& config, uint64_t seed, int64_t epoch,
                       int64_t case_index, int sample, float* image_out, float* label_out);

// The patches of one epoch as (case index, sample) pairs, in a shuffled order drawn from
// (seed, epoch): every case sample_num times.
struct PatchRef {
  int64_t case_index = 0;
  int sample = 0;
};
std::vector<PatchRef> epoch_patch_order(int64_t cases, const PatchConfig& config, uint64_t seed, int64_t epoch,
                                        bool shuffle = true);

// The batch of the given patches (their cases must be labelled).
PatchBatch make_patch_batch(const std::vector<BratsCase>& cases, const std::vector<PatchRef>& refs,
                            const PatchConfig& config, uint64_t seed, int64_t epoch,
                            std::vector<PatchInfo>* infos = nullptr);

}  // namespace unet::data
