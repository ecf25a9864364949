// `unet bench --model brats3d`: the 3D U-Net of the BraTS system. Training samples/s on
// patches, whole-volume sliding-window inference seconds (Gaussian-weighted tiles, as
// train/brats_evaluate.cpp predicts a case), peak memory, the per-op table of one training
// step, and the estimate of the reference configuration's training memory against a 24 GB GPU.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/device.hpp"

namespace unet::tools {

struct Bench3dOptions {
  int64_t base = 32;                         // the reference program's width
  int64_t patch = 128;                       // training patches and inference tiles of patch^3 voxels
  int64_t batch = 1;                         // training batch
  std::vector<int64_t> volume{240, 240, 155};  // the whole volume inferred, X Y Z (a BraTS case)
  double overlap = 0.5;                      // of neighbouring tiles
  Device device = Device::CPU;
  int warmup = 1, steps = 2, volumes = 1;    // untimed steps, timed steps, timed whole volumes
  bool layers = true;                        // the per-op table of one training step
  std::string json_path;
};

// Runs the benchmark, prints its figures, writes JSON when asked; returns the exit status.
int run_bench_3d(const Bench3dOptions& options);

}  // namespace unet::tools
