// Training the BraTS 3D U-Net: cases -> patient split -> random tumour patches -> UNet3D ->
// multi-class loss -> Adam, with per-epoch sliding-window validation (Dice per label and
// region, HD95), metrics.csv, best/last checkpoints (best by mean region Dice), exact resume
// and a clean stop on request. The 2D trainer's counterpart (train/trainer.hpp).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dist/communicator.hpp"
#include "data/brats_case_store.hpp"
#include "data/brats_volume.hpp"
#include "train/brats_evaluate.hpp"
#include "train/train_config.hpp"
#include "train/train_state.hpp"
#include "train/trainer.hpp"
#include "unet/adam.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

namespace unet {

class BratsTrainer {
 public:
  // As Trainer: validates, loads and splits the cases, builds the model; with resume,
  // continues config.out from its last.safetensors.
  explicit BratsTrainer(TrainConfig config, bool resume = false,
                        std::function<void(const std::string&)> on_message = {});
  ~BratsTrainer();

  bool run();  // true when all epochs are done
  void request_stop() { stop_ = true; }

  std::function<void(const std::string&)> on_message;
  std::function<void(const StepInfo&)> on_step;
  std::function<void(const EpochMetrics&, const BratsEvalResult&)> on_epoch;

  const TrainConfig& config() const { return config_; }
  const TrainState& state() const { return state_; }
  UNet& model() { return *model_; }
  // The run's cases, in memory or read from disk when they do not fit (--cache-gb).
  data::BratsCaseStore& cases() { return *store_; }
  const std::vector<size_t>& training_cases() const { return train_; }
  const std::vector<size_t>& validation_cases() const { return val_; }
  // Sliding-window evaluation of the validation cases that can be read (a case that fails to
  // load is named through on_message and left out).
  BratsEvalResult evaluate_validation(bool keep_predictions = false,
                                      const std::function<void(const BratsCaseResult&)>& on_case = {});
  // The same, shared by the ranks of a data-parallel run (every rank calls it): rank r evaluates
  // validation cases r, r + ranks, ... and every rank gets every case's figures, so each has the
  // means one process would have, to the bit. Without predictions.
  BratsEvalResult evaluate_validation_shared();
  Device device() const { return device_; }
  std::string metrics_csv() const;

 private:
  void say(const std::string& line) const;
  void save_checkpoint(const std::string& path, bool with_optimizer) const;
  // Case i, or null when it cannot be read (named through on_message; the run goes on without it).
  std::shared_ptr<const data::BratsCase> readable_case(size_t i);
  BratsInferenceOptions validation_inference() const;  // --patch tiles, --overlap

  TrainConfig config_;
  TrainState state_;
  Device device_;
  MulticlassLossConfig loss_;
  std::unique_ptr<data::BratsCaseStore> store_;
  std::vector<bool> unreadable_;  // cases that failed to load during the run
  std::vector<size_t> train_, val_;
  std::vector<std::string> patients_;
  std::unique_ptr<UNet> model_;
  std::unique_ptr<Adam> adam_;
  std::atomic<bool> stop_{false};
  dist::Communicator* comm_ = &dist::world();  // the ranks of a data-parallel run; a world of one otherwise
  ops::BatchNormSync bn_sync_;
  bool root() const { return comm_->is_root(); }
};

}  // namespace unet
