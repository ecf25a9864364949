// What every training run does with its folder and its checkpoint, 2D or 3D.
#pragma once

#include <string>
#include <vector>

#include "engine/safetensors.hpp"

namespace unet {

// Fails before any work when the run folder cannot be created or written.
void check_writable(const std::string& out);

// On resume with --data: the folder must hold the patients the run was trained on. Runs
// saved before the patient list was stored are checked by their validation list only.
void check_same_patients(const SafetensorsFile& checkpoint, std::vector<std::string> ids, const std::string& where);

// "%.6f", for logs and metrics.csv.
std::string fmt(double v);

}  // namespace unet

#include <functional>

#include "data/split.hpp"
#include "train/train_config.hpp"
#include "train/train_state.hpp"
#include "unet/adam.hpp"
#include "unet/unet_model.hpp"

namespace unet {

using Say = std::function<void(const std::string&)>;

// The checkpoint a run resumes from: <out>/last.safetensors, checked to be a training checkpoint.
SafetensorsFile read_resume_checkpoint(const std::string& last);

// The configuration a resumed run continues with: the stored one, except what belongs to this
// machine (device, workers), the new total of epochs when `given.epochs` > 0, the run folder,
// and the data folder when `given.data` is set (otherwise the stored one must exist).
TrainConfig resumed_config(const TrainConfig& given, const SafetensorsFile& checkpoint, const std::string& last);

// The patient split of a run, from the seed or the --val-list file; writes
// <out>/validation_patients.txt, and on resume first checks that the stored list is the same.
// `write`: writes validation_patients.txt (rank 0 of a data-parallel run; every rank splits).
data::Split split_run(const std::vector<std::string>& ids, const TrainConfig& config, bool resume, bool write = true);

// Puts weights, state and optimizer moments of the checkpoint into a new run's objects and
// says where it resumes (`best_what` names the metric the best checkpoint is chosen by).
void resume_from(const SafetensorsFile& checkpoint, const std::string& last, const TrainConfig& config, UNet& model,
                 Adam& adam, TrainState& state, const std::string& best_what, const Say& say);

// <out>/config.json: every option, the model and the device used.
void write_run_config(const TrainConfig& config, const UNet& model, Device device);

// Appends an epoch to the history, marks it best when its val_dsc_volume beats the best so far
// (a tie keeps the earlier best), applies the LR schedule and moves the state to the next
// epoch. Returns whether it is the best.
bool finish_epoch(TrainState& state, const TrainConfig& config, EpochMetrics& em, const Say& say);

}  // namespace unet
