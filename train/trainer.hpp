// Training: data -> split -> loader -> U-Net -> loss -> Adam, with per-epoch validation,
// metrics.csv, best/last checkpoints, exact resume and a clean stop on request.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "data/loader.hpp"
#include "unet/adam.hpp"
#include "train/evaluate.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

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

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_dice = 0;
  double val_loss = 0, val_dice_slice = 0, val_dsc_volume = 0;
  double lr = 0;
  double seconds = 0;  // wall time of the epoch (console and report only; not in metrics.csv)
  bool best = false;   // this epoch improved the best DSC and best.safetensors was written (not stored)
};

// Everything needed to continue a run exactly where it stopped.
struct TrainState {
  int64_t epoch = 0;       // 0-based epoch in progress (or next to start)
  int64_t next_batch = 0;  // batches of `epoch` already done
  double partial_loss = 0, partial_dice = 0;
  int64_t partial_samples = 0;
  double best_dsc = -1.0;
  int64_t best_epoch = 0;
  double lr = 0.0;
  int64_t plateau_bad = 0;
  double plateau_best = -1.0;
  std::vector<EpochMetrics> history;
  std::string to_json() const;
  static TrainState from_json(const std::string& json, const std::string& where);
};

struct StepInfo {
  int64_t epoch, step, steps_in_epoch, samples_done, samples_in_epoch;
  double loss, samples_per_second, eta_seconds;
};

class Trainer {
 public:
  // Validates the configuration and the output folder, loads and splits the data, builds
  // the model; with resume, continues the run in config.out from its last.safetensors,
  // reading the data from config.data when it is set (it must hold the run's patients) and
  // from the run's own data folder otherwise. Data paths are stored absolute.
  // `on_message` receives the lines of the set-up (data report, warnings, split, resume).
  explicit Trainer(TrainConfig config, bool resume = false,
                   std::function<void(const std::string&)> on_message = {});
  ~Trainer();

  // Runs until the last epoch or a stop request. Returns true when all epochs are done.
  bool run();
  void request_stop() { stop_ = true; }

  std::function<void(const std::string&)> on_message;  // one line: data report, warnings, decisions
  std::function<void(const StepInfo&)> on_step;
  std::function<void(const EpochMetrics&, const EvalResult&)> on_epoch;

  const TrainConfig& config() const { return config_; }
  const TrainState& state() const { return state_; }
  UNet& model() { return *model_; }
  const std::vector<data::Volume>& volumes() const { return volumes_; }
  const std::vector<size_t>& validation_volumes() const { return val_; }
  const data::LoadReport& load_report() const { return load_report_; }
  Device device() const { return device_; }
  std::string metrics_csv() const;

 private:
  void say(const std::string& line) const;
  void save_checkpoint(const std::string& path, bool with_optimizer) const;
  void write_metrics() const;

  TrainConfig config_;
  TrainState state_;
  Device device_;
  LossConfig loss_;
  std::vector<data::Volume> volumes_;
  data::LoadReport load_report_;
  std::vector<size_t> train_, val_;
  std::vector<std::string> patients_;  // every patient loaded, stored in checkpoints for resume
  std::unique_ptr<UNet> model_;
  std::unique_ptr<Adam> adam_;
  std::unique_ptr<data::Loader> loader_;
  std::atomic<bool> stop_{false};
};

// Loads a checkpoint's model for evaluation or prediction: a file of this program (weights +
// config), or a foreign one (a PyTorch state_dict as safetensors) recognised from its tensors.
struct LoadedModel {
  std::unique_ptr<UNet> model;
  TrainConfig train_config;       // defaults when the file has none
  bool has_train_config = false;  // the file was written by a training run here
  std::string recognised_as;      // set for a foreign file: what its tensors say it is
};
LoadedModel load_model_checkpoint(const std::string& path, Device device);

}  // namespace unet
