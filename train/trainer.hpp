// Training: data -> split -> loader -> U-Net -> loss -> Adam, with per-epoch validation,
// metrics.csv, best/last checkpoints, exact resume and a clean stop on request.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.hpp"
#include "dist/communicator.hpp"
#include "data/loader.hpp"
#include "unet/adam.hpp"
#include "train/evaluate.hpp"
#include "train/train_config.hpp"
#include "train/train_state.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

namespace unet {

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
  // Data-parallel (launched by mpirun): every rank runs this; only rank 0 writes the run folder
  // and calls on_step / on_epoch, and a stop requested on any rank stops all of them.
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
  bool root() const { return comm_->is_root(); }
  // Every rank validates its share of the validation patients; the results are summed over the ranks.
  EvalResult validate();
  // Whether any rank was asked to stop (every rank calls it at the same point).
  bool stop_requested_anywhere() const;
  // The ranks hold the same weights, buffers and optimizer state (a checksum, compared with rank 0's).
  void check_replicas_identical(const std::string& when) const;

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
  dist::Communicator* comm_ = &dist::world();  // the ranks of a data-parallel run; a world of one otherwise
  ops::BatchNormSync bn_sync_;
  std::vector<size_t> val_mine_;  // this rank's share of val_
};

}  // namespace unet
