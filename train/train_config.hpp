// The configuration of a training run: every option of `unet train`, stored in each
// checkpoint and in the run's config.json. Bound to JSON once, below the struct; a field
// missing from an older file takes its default.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "unet/unet_model.hpp"

namespace unet {

// The 2D defaults are the Kaggle LGG reference program's; a BraTS run takes the 3D reference
// program's where they differ (brats_defaults()).
struct TrainConfig {
  std::string data;             // the kaggle_3m folder, a BraTS folder, or the folder above either
  std::string dataset = "auto"; // auto (from the folder's layout) | kaggle | brats; stored resolved
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
  bool data_cache = true;            // 2D: keep the preprocessed data set in the user's cache (data/volume_cache.hpp)
  int64_t max_steps_per_epoch = 0;   // 0 = whole epoch (for quick runs)
  int64_t depth = 0;                 // poolings; 0 = the model's own (4 for the 2D U-Nets, 2 for UNet3D)
  // Data-parallel (mpirun -np N): `batch` is the global batch, split among the ranks.
  bool sync_bn = false;              // BatchNorm statistics over the global batch, not each rank's share
  int64_t ranks = 1;                 // the processes the run trained on (stored; set from the launch)
  // BraTS (3D) only:
  int64_t patch = 128;               // training patches and sliding-window tiles, patch^3 voxels
  int64_t sample_num = 4;            // patches per case per epoch
  int64_t min_tumor_voxels = 100;    // a training patch holds more labelled voxels than this
  int64_t max_data = 0;              // > 0: only the first N cases (by id)
  double overlap = 0.5;              // of the sliding-window tiles in validation
  int64_t log_every = 20;            // steps between loss / Dice lines (the reference's TensorBoard interval)
  double cache_gb = 0;               // cases held in memory up to this; 0 = half of the machine's memory

  // The BraTS reference program's settings where they differ from the 2D defaults: Adam lr
  // 1e-4, batch 1, 10 epochs, seed 2024, the softmax Dice loss.
  static TrainConfig brats_defaults();
  bool is_brats() const { return dataset == "brats"; }
  // The model this run trains: the 2D U-Net of `base`, or the BraTS UNet3D; `depth` applied.
  UNetConfig model_config() const;

  // Every field in range, or an Error naming the option (--epochs, --val-fraction...).
  void validate() const;
  std::string to_json() const;
  static TrainConfig from_json(const std::string& json, const std::string& where);
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TrainConfig, data, out, epochs, batch, lr, weight_decay, loss, bce_weight, dice_weight, base, size, seed, device, workers, preprocess, lr_schedule, plateau_patience, plateau_factor, min_lr, augment, drop_empty, weighted_sampling, val_fraction, val_list, largest_component, strict, max_steps_per_epoch, dataset, depth, patch, sample_num, min_tumor_voxels, max_data, overlap, log_every, cache_gb, data_cache, sync_bn, ranks)

}  // namespace unet
