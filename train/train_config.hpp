// The configuration of a training run: every option of `unet train`, stored in each
// checkpoint and in the run's config.json. Bound to JSON once, below the struct; a field
// missing from an older file takes its default.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace unet {

struct TrainConfig {
  std::string data;             // the kaggle_3m folder or the folder above it
  std::string out;              // the run folder
  int64_t epochs = 50;
  int64_t batch = 16;           // reference program
  double lr = 1e-3;             // spec: Adam, lr 1e-3
  double weight_decay = 0.0;
  std::string loss = "bce";     // spec: BCE-with-logits
  double bce_weight = 1.0, dice_weight = 1.0;
  int64_t base = 32;            // 32: reference layout (7.76M); 64: classic layout (31.0M)
  int64_t size = 256;           // spec / reference: 256x256
  uint64_t seed = 42;
  std::string device = "auto";
  int workers = 2;
  std::string preprocess = "reference";
  std::string lr_schedule = "none";  // none | plateau
  int plateau_patience = 5;
  double plateau_factor = 0.1;
  double min_lr = 1e-6;
  bool augment = true;               // reference: scale 0.05, rotate 15, flip 0.5
  bool drop_empty = true;            // spec: train on slices with tumour
  bool weighted_sampling = false;    // reference's tumour-weighted sampling
  double val_fraction = 0.2;         // 80:20 by patient
  std::string val_list;              // explicit validation patients (file)
  bool largest_component = false;    // post-processing for DSC per volume
  bool strict = false;               // stop at the first bad data file
  int64_t max_steps_per_epoch = 0;   // 0 = whole epoch (for quick runs)

  // Every field in range, or an Error naming the option (--epochs, --val-fraction...).
  void validate() const;
  std::string to_json() const;
  static TrainConfig from_json(const std::string& json, const std::string& where);
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, data, out, epochs, batch, lr, weight_decay, loss, bce_weight, dice_weight, base, size, seed, device, workers, preprocess, lr_schedule, plateau_patience, plateau_factor, min_lr, augment, drop_empty, weighted_sampling, val_fraction, val_list, largest_component, strict, max_steps_per_epoch)

}  // namespace unet
