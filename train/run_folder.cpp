#include "train/run_folder.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace fs = std::filesystem;
using nlohmann::json;

// Fails before any work when the run folder cannot be written.
void check_writable(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  UNET_CHECK(!ec && fs::is_directory(out), out,
             trf("cannot create the output folder: {}", (ec ? ec.message() : tr("not a folder"))));
  const fs::path probe = fs::path(out) / ".write_test";
  {
    std::ofstream f(probe);
    f << "ok";
    f.flush();
    UNET_CHECK(f.good(), out, tr("cannot write to the output folder"));
  }
  fs::remove(probe, ec);
}

// On resume with --data: the folder must hold the patients the run was trained on. Runs
// saved before the patient list was stored are checked by their validation list only.
void check_same_patients(const SafetensorsFile& checkpoint, std::vector<std::string> ids, const std::string& where) {
  const auto it = checkpoint.metadata.find("patients");
  if (it == checkpoint.metadata.end()) return;
  std::vector<std::string> stored;
  try {
    stored = json::parse(it->second).get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    UNET_THROW(where, trf("bad 'patients' metadata: {}", e.what()));
  }
  std::sort(ids.begin(), ids.end());
  std::sort(stored.begin(), stored.end());
  if (ids == stored) return;
  std::vector<std::string> missing, extra;
  std::set_difference(stored.begin(), stored.end(), ids.begin(), ids.end(), std::back_inserter(missing));
  std::set_difference(ids.begin(), ids.end(), stored.begin(), stored.end(), std::back_inserter(extra));
  auto some = [](const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 3; ++i) s += (i ? ", " : "") + v[i];
    return s + (v.size() > 3 ? ", ..." : "");
  };
  UNET_THROW("--data",
             trf("the data folder does not hold the patients of the run in {}: {} missing ({}), {} not in the run ({})",
                 where, std::to_string(missing.size()), some(missing), std::to_string(extra.size()), some(extra)));
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", v);
  return b;
}

}  // namespace unet

#include "base/file_io.hpp"
#include "train/checkpoint.hpp"
#include "train/lr_schedule.hpp"
#include "unet/state_dict.hpp"

namespace unet {

SafetensorsFile read_resume_checkpoint(const std::string& last) {
  UNET_CHECK(fs::exists(last), "--resume", trf("no checkpoint to resume from: {} does not exist", last));
  SafetensorsFile checkpoint = read_safetensors(last);
  UNET_CHECK(checkpoint.metadata.count("train_config") && checkpoint.metadata.count("train_state"), last,
             tr("not a training checkpoint (no train_config / train_state metadata)"));
  return checkpoint;
}

TrainConfig resumed_config(const TrainConfig& given, const SafetensorsFile& checkpoint, const std::string& last) {
  TrainConfig stored = TrainConfig::from_json(checkpoint.metadata.at("train_config"), last);
  // What belongs to this machine may change between runs (the device, the threads, where
  // the data lies); what defines the run may not (the patients are checked once loaded).
  stored.device = given.device;
  stored.workers = given.workers;
  stored.cache_gb = given.cache_gb;
  if (given.epochs > 0) stored.epochs = given.epochs;
  stored.out = given.out;
  if (!given.data.empty()) {
    stored.data = given.data;
  } else {
    UNET_CHECK(fs::exists(stored.data), "--resume",
               fs::path(stored.data).is_relative()
                   ? trf("the run's data folder '{}' does not exist (it was stored relative to the first run's working "
                         "folder); "
                         "give its new place with --data",
                         stored.data)
                   : trf("the run's data folder '{}' does not exist; give its new place with --data", stored.data));
  }
  return stored;
}

data::Split split_run(const std::vector<std::string>& ids, const TrainConfig& config, bool resume, bool write) {
  const data::Split split = config.val_list.empty() ? data::split_patients(ids, config.val_fraction, config.seed)
                                                    : data::split_from_file(ids, config.val_list);
  std::string val_text;
  for (const auto& id : split.validation) val_text += id + "\n";
  const std::string val_file = (fs::path(config.out) / "validation_patients.txt").string();
  if (resume && fs::exists(val_file)) {
    UNET_CHECK(data::read_id_list(val_file) == split.validation, "--data",
               trf("the validation patients differ from those in {}; resume with the run's own data", val_file));
  }
  if (write) write_file_atomic(val_file, val_text);
  return split;
}

void resume_from(const SafetensorsFile& checkpoint, const std::string& last, const TrainConfig& config, UNet& model,
                 Adam& adam, TrainState& state, const std::string& best_what, const Say& say) {
  load_model_state(model, checkpoint, last);
  state = TrainState::from_json(checkpoint.metadata.at("train_state"), last);
  restore_optimizer(adam, checkpoint, last);
  if (!say) return;
  if (state.epoch >= config.epochs)
    say(trf("nothing left to train: {} has done {} of {} epochs; give a larger --epochs to continue it", config.out,
            std::to_string(state.epoch), std::to_string(config.epochs)));
  else
    say(trf("resuming {} at epoch {}, batch {} (best {} so far {})", config.out, std::to_string(state.epoch + 1),
            std::to_string(state.next_batch), best_what, fmt(state.best_dsc)));
}

void write_run_config(const TrainConfig& config, const UNet& model, Device device) {
  json cfg = json::parse(config.to_json());
  cfg["model"] = {{"layout", model.config().layout_name()}, {"parameters", model.parameter_count()}};
  cfg["device_used"] = device_name(device);
  write_file_atomic((fs::path(config.out) / "config.json").string(), cfg.dump(2) + "\n");
}

bool finish_epoch(TrainState& state, const TrainConfig& config, EpochMetrics& em, const Say& say) {
  const bool improved = em.val_dsc_volume > state.best_dsc;  // a tie keeps the earlier best
  em.best = improved;
  state.history.push_back(em);
  if (improved) {
    state.best_dsc = em.val_dsc_volume;
    state.best_epoch = em.epoch;
  }
  schedule_learning_rate(state, config, em.val_dsc_volume, say);
  ++state.epoch;
  state.next_batch = 0;
  state.partial_loss = state.partial_dice = 0.0;
  state.partial_samples = 0;
  return improved;
}

}  // namespace unet
