// Validation and evaluation: the model over whole volumes (every slice, no augmentation),
// loss, Dice per slice and the reference program's DSC per volume.
#pragma once

#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

namespace unet {

struct VolumeResult {
  std::string patient;
  double dsc = 0.0;
  double iou = 0.0;                 // IoU of the volume's slices taken together
  std::vector<uint8_t> prediction;  // [D, S, S] {0,1}; kept when asked for
  std::vector<float> probability;   // [D, S, S]; kept when asked for
};

struct EvalResult {
  double loss = 0.0;            // mean over slices
  double dice_per_slice = 0.0;  // mean over slices (empty prediction on an empty slice = 1)
  double dsc_per_volume = 0.0;  // mean over volumes
  double iou_per_slice = 0.0;   // as dice_per_slice, for IoU
  double iou_per_volume = 0.0;  // as dsc_per_volume, for IoU
  std::vector<VolumeResult> volumes;
};

struct EvalConfig {
  int64_t batch = 16;
  bool largest_component = false;  // keep only the largest 3D component per volume
  bool keep_predictions = false;
};

EvalResult evaluate(UNet& model, const std::vector<data::Volume>& volumes, const std::vector<size_t>& which,
                    const LossConfig& loss, const EvalConfig& options);

}  // namespace unet
