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
  const std::vector<data::BratsCase>& cases() const { return cases_; }
  const std::vector<size_t>& validation_cases() const { return val_; }
  Device device() const { return device_; }
  std::string metrics_csv() const;

 private:
  void say(const std::string& line) const;
  void save_checkpoint(const std::string& path, bool with_optimizer) const;

  TrainConfig config_;
  TrainState state_;
  Device device_;
  MulticlassLossConfig loss_;
  std::vector<data::BratsCase> cases_;
  std::vector<size_t> train_, val_;
  std::vector<std::string> patients_;
  std::unique_ptr<UNet> model_;
  std::unique_ptr<Adam> adam_;
  std::atomic<bool> stop_{false};
};

}  // namespace unet
