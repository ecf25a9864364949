#include "unet/trainer.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "data/split.hpp"
#include "engine/allocator.hpp"
#include "engine/error.hpp"
#include "engine/safetensors.hpp"
#include "unet/metrics.hpp"
#include "unet/state_dict.hpp"

namespace unet {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- configuration and state as JSON ----

std::string TrainConfig::to_json() const {
  return json{{"data", data},
              {"out", out},
              {"epochs", epochs},
              {"batch", batch},
              {"lr", lr},
              {"weight_decay", weight_decay},
              {"loss", loss},
              {"bce_weight", bce_weight},
              {"dice_weight", dice_weight},
              {"base", base},
              {"size", size},
              {"seed", seed},
              {"device", device},
              {"workers", workers},
              {"preprocess", preprocess},
              {"lr_schedule", lr_schedule},
              {"plateau_patience", plateau_patience},
              {"plateau_factor", plateau_factor},
              {"min_lr", min_lr},
              {"augment", augment},
              {"drop_empty", drop_empty},
              {"weighted_sampling", weighted_sampling},
              {"val_fraction", val_fraction},
              {"val_list", val_list},
              {"largest_component", largest_component},
              {"strict", strict},
              {"max_steps_per_epoch", max_steps_per_epoch}}
      .dump(2);
}

namespace {
void check_config(const TrainConfig& c);
}  // namespace

TrainConfig TrainConfig::from_json(const std::string& text, const std::string& where) {
  const json j = parse_json_object(text, where, "train_config");
  TrainConfig c;
  // A key the file lacks keeps its default (older checkpoints); one it has must have the right type.
  auto get = [&](const char* k, auto& v) {
    if (j.contains(k)) read_json(j.at(k), v, where, std::string("train_config.") + k);
  };
  get("data", c.data), get("out", c.out), get("epochs", c.epochs), get("batch", c.batch), get("lr", c.lr);
  get("weight_decay", c.weight_decay), get("loss", c.loss), get("bce_weight", c.bce_weight);
  get("dice_weight", c.dice_weight), get("base", c.base), get("size", c.size), get("seed", c.seed);
  get("device", c.device), get("workers", c.workers), get("preprocess", c.preprocess);
  get("lr_schedule", c.lr_schedule), get("plateau_patience", c.plateau_patience);
  get("plateau_factor", c.plateau_factor), get("min_lr", c.min_lr), get("augment", c.augment);
  get("drop_empty", c.drop_empty), get("weighted_sampling", c.weighted_sampling);
  get("val_fraction", c.val_fraction), get("val_list", c.val_list);
  get("largest_component", c.largest_component), get("strict", c.strict);
  get("max_steps_per_epoch", c.max_steps_per_epoch);
  // The values must pass the command line's checks, plus an upper bound on the image size
  // (eval and predict allocate size x size planes; a 16384^2 slice is already 34 GB per
  // activation at base 32) and the model's ranges, so a damaged file stops here, named.
  try {
    check_config(c);
    UNET_CHECK(c.size <= 16384, "--size", "must be at most 16384, got " + std::to_string(c.size));
    UNetConfig::for_base(c.base).validate("--base");
  } catch (const Error& e) {
    UNET_THROW(where, "train_config: " + e.call() + ": " + e.message());
  }
  return c;
}

std::string TrainState::to_json() const {
  json hist = json::array();
  for (const auto& m : history)
    hist.push_back({m.epoch, m.train_loss, m.train_dice, m.val_loss, m.val_dice_slice, m.val_dsc_volume, m.lr, m.seconds});
  return json{{"epoch", epoch},           {"next_batch", next_batch},     {"partial_loss", partial_loss},
              {"partial_dice", partial_dice}, {"partial_samples", partial_samples}, {"best_dsc", best_dsc},
              {"best_epoch", best_epoch}, {"lr", lr},                     {"plateau_bad", plateau_bad},
              {"plateau_best", plateau_best}, {"history", hist}}
      .dump();
}

TrainState TrainState::from_json(const std::string& text, const std::string& where) {
  const json j = parse_json_object(text, where, "train_state");
  TrainState s;
  auto get = [&](const char* k, auto& v) {
    read_json(json_member(j, k, where, "train_state"), v, where, std::string("train_state.") + k);
  };
  auto count = [&](const char* k, int64_t& v) {
    get(k, v);
    UNET_CHECK(v >= 0, where, std::string("train_state.") + k + " is " + std::to_string(v) + ", must be >= 0");
  };
  count("epoch", s.epoch), count("next_batch", s.next_batch), get("partial_loss", s.partial_loss);
  get("partial_dice", s.partial_dice), count("partial_samples", s.partial_samples), get("best_dsc", s.best_dsc);
  count("best_epoch", s.best_epoch), get("lr", s.lr), count("plateau_bad", s.plateau_bad);
  get("plateau_best", s.plateau_best);
  const json& history = json_member(j, "history", where, "train_state");
  UNET_CHECK(history.is_array(), where, "train_state.history is not a list");
  for (size_t i = 0; i < history.size(); ++i) {
    const std::string field = "train_state.history[" + std::to_string(i) + "]";
    const json& h = history[i];
    UNET_CHECK(h.is_array() && h.size() == 8, where, field + " is not a list of 8 numbers");
    EpochMetrics m;
    read_json(h[0], m.epoch, where, field + "[0] (epoch)");
    double* values[] = {&m.train_loss,     &m.train_dice, &m.val_loss, &m.val_dice_slice,
                        &m.val_dsc_volume, &m.lr,         &m.seconds};
    for (size_t k = 0; k < 7; ++k) read_json(h[k + 1], *values[k], where, field + "[" + std::to_string(k + 1) + "]");
    s.history.push_back(m);
  }
  return s;
}

// ---- the trainer ----

namespace {

void check_config(const TrainConfig& c) {
  UNET_CHECK(!c.data.empty(), "--data", "is required");
  UNET_CHECK(!c.out.empty(), "--out", "is required");
  UNET_CHECK(c.epochs >= 1, "--epochs", "must be at least 1, got " + std::to_string(c.epochs));
  UNET_CHECK(c.batch >= 1, "--batch", "must be at least 1, got " + std::to_string(c.batch));
  UNET_CHECK(c.size >= 16 && c.size % 16 == 0, "--size", "must be a multiple of 16 (the U-Net pools 4 times), got " + std::to_string(c.size));
  UNET_CHECK(c.base >= 1, "--base", "must be positive, got " + std::to_string(c.base));
  UNET_CHECK(c.lr > 0.0, "--lr", "must be positive");
  UNET_CHECK(c.lr_schedule == "none" || c.lr_schedule == "plateau", "--lr-schedule",
             "'" + c.lr_schedule + "' is not a schedule; use none or plateau");
  UNET_CHECK(c.plateau_factor > 0.0 && c.plateau_factor < 1.0, "--plateau-factor", "must be in (0, 1)");
  UNET_CHECK(c.workers >= 1, "--workers", "must be at least 1");
  LossConfig::parse(c.loss);
  data::parse_preprocess(c.preprocess);
}

// Fails before any work when the run folder cannot be written.
void check_writable(const std::string& out) {
  std::error_code ec;
  fs::create_directories(out, ec);
  UNET_CHECK(!ec && fs::is_directory(out), out, "cannot create the output folder: " + (ec ? ec.message() : "not a folder"));
  const fs::path probe = fs::path(out) / ".write_test";
  {
    std::ofstream f(probe);
    f << "ok";
    f.flush();
    UNET_CHECK(f.good(), out, "cannot write to the output folder");
  }
  fs::remove(probe, ec);
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6f", v);
  return b;
}

// The optimizer's step count as stored in the metadata: digits only, within int64.
int64_t parse_adam_steps(const std::string& text, const std::string& where) {
  int64_t steps = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), steps);
  UNET_CHECK(ec == std::errc() && end == text.data() + text.size() && steps >= 0, where,
             "metadata 'adam_steps' is '" + text.substr(0, 40) + "', not a whole number >= 0");
  return steps;
}

}  // namespace

Trainer::Trainer(TrainConfig config, bool resume, std::function<void(const std::string&)> message)
    : on_message(std::move(message)), config_(std::move(config)) {
  const std::string last = (fs::path(config_.out) / "last.safetensors").string();
  SafetensorsFile checkpoint;
  if (resume) {
    UNET_CHECK(fs::exists(last), "--resume", "no checkpoint to resume from: " + last + " does not exist");
    checkpoint = read_safetensors(last);
    UNET_CHECK(checkpoint.metadata.count("train_config") && checkpoint.metadata.count("train_state"), last,
               "not a training checkpoint (no train_config / train_state metadata)");
    TrainConfig stored = TrainConfig::from_json(checkpoint.metadata.at("train_config"), last);
    // What belongs to this machine may change between runs; what defines the run may not.
    stored.device = config_.device;
    stored.workers = config_.workers;
    if (config_.epochs > 0) stored.epochs = config_.epochs;
    stored.out = config_.out;
    config_ = stored;
  }
  check_config(config_);
  check_writable(config_.out);
  device_ = resolve_device(config_.device);
  loss_.kind = LossConfig::parse(config_.loss);
  loss_.bce_weight = static_cast<float>(config_.bce_weight);
  loss_.dice_weight = static_cast<float>(config_.dice_weight);

  // Data.
  const data::ScanResult scan = data::scan_kaggle(config_.data);
  for (const auto& w : scan.warnings) say("warning: " + w);
  data::LoadOptions lo;
  lo.size = config_.size;
  lo.mode = data::parse_preprocess(config_.preprocess);
  lo.strict = config_.strict;
  lo.threads = config_.workers;
  volumes_ = data::load_dataset(scan, lo, load_report_);
  for (const auto& p : load_report_.problems) say("warning: " + p);
  say("data: " + std::to_string(load_report_.patients) + " patients, " + std::to_string(load_report_.slices) +
      " slices, " + std::to_string(load_report_.tumour_slices) + " with tumour" +
      (load_report_.skipped_files ? ", " + std::to_string(load_report_.skipped_files) + " files skipped" : std::string()) +
      " (" + scan.root + ", " + config_.preprocess + " preprocessing, " + std::to_string(config_.size) + "x" +
      std::to_string(config_.size) + ")");

  // Split by patient.
  std::vector<std::string> ids;
  for (const auto& v : volumes_) ids.push_back(v.patient);
  const data::Split split = config_.val_list.empty() ? data::split_patients(ids, config_.val_fraction, config_.seed)
                                                     : data::split_from_file(ids, config_.val_list);
  const std::set<std::string> val_ids(split.validation.begin(), split.validation.end());
  for (size_t i = 0; i < volumes_.size(); ++i) (val_ids.count(volumes_[i].patient) ? val_ : train_).push_back(i);
  UNET_CHECK(!train_.empty(), "split", "no training patients");
  std::string val_text;
  for (const auto& id : split.validation) val_text += id + "\n";
  write_file_atomic((fs::path(config_.out) / "validation_patients.txt").string(), val_text);
  auto items = data::select_slices(volumes_, train_, config_.drop_empty);
  UNET_CHECK(!items.empty(), "training data",
             "no training slice has a tumour; train on all slices with --keep-empty");
  say("split: " + std::to_string(train_.size()) + " training patients (" + std::to_string(items.size()) +
      " slices" + (config_.drop_empty ? " with tumour" : "") + "), " + std::to_string(val_.size()) +
      " validation patients (all slices); list in " + (fs::path(config_.out) / "validation_patients.txt").string());

  // Model and optimizer.
  model_ = std::make_unique<UNet>(UNetConfig::for_base(config_.base), device_, config_.seed);
  AdamConfig ac;
  ac.lr = static_cast<float>(config_.lr);
  ac.weight_decay = static_cast<float>(config_.weight_decay);
  adam_ = std::make_unique<Adam>(model_->parameters(), ac);
  state_.lr = config_.lr;

  data::LoaderConfig lc;
  lc.batch_size = config_.batch;
  lc.workers = config_.workers;
  lc.augment = config_.augment;
  lc.shuffle = true;
  lc.weighted_sampling = config_.weighted_sampling;
  lc.seed = config_.seed;
  loader_ = std::make_unique<data::Loader>(volumes_, std::move(items), lc);

  if (resume) {
    load_model_state(*model_, checkpoint, last);
    state_ = TrainState::from_json(checkpoint.metadata.at("train_state"), last);
    for (auto* t : {&adam_->exp_avg(), &adam_->exp_avg_sq()}) {
      const std::string name = t == &adam_->exp_avg() ? "optimizer.exp_avg" : "optimizer.exp_avg_sq";
      auto it = checkpoint.tensors.find(name);
      UNET_CHECK(it != checkpoint.tensors.end(), last, "missing tensor '" + name + "'");
      UNET_CHECK(it->second.shape == Shape{t->numel()}, last,
                 "tensor '" + name + "' has shape " + shape_str(it->second.shape) + ", the model needs [" +
                     std::to_string(t->numel()) + "]");
      t->copy_from(Tensor::from_vector({t->numel()}, it->second.as_f32(last + ": tensor '" + name + "'")));
    }
    adam_->set_steps(parse_adam_steps(checkpoint.metadata_value("adam_steps", last), last));
    say("resuming " + config_.out + " at epoch " + std::to_string(state_.epoch + 1) + ", batch " +
        std::to_string(state_.next_batch) + " (best DSC so far " + fmt(state_.best_dsc) + ")");
  }
  json cfg = json::parse(config_.to_json());
  cfg["model"] = {{"layout", model_->config().layout_name()}, {"parameters", model_->parameter_count()}};
  cfg["device_used"] = device_name(device_);
  write_file_atomic((fs::path(config_.out) / "config.json").string(), cfg.dump(2) + "\n");
}

Trainer::~Trainer() = default;

void Trainer::say(const std::string& line) const {
  if (on_message) on_message(line);
}

void Trainer::save_checkpoint(const std::string& path, bool with_optimizer) const {
  SafetensorsFile f = model_state(*model_);
  f.metadata["train_config"] = config_.to_json();
  f.metadata["train_state"] = state_.to_json();
  if (with_optimizer) {
    f.tensors["optimizer.exp_avg"] = RawTensor::f32({adam_->exp_avg().numel()}, adam_->exp_avg().to_vector());
    f.tensors["optimizer.exp_avg_sq"] = RawTensor::f32({adam_->exp_avg_sq().numel()}, adam_->exp_avg_sq().to_vector());
    f.metadata["adam_steps"] = std::to_string(adam_->steps());
  }
  write_safetensors(path, f);
}

std::string Trainer::metrics_csv() const {
  std::string s = "epoch,train_loss,train_dice,val_loss,val_dice_slice,val_dsc_volume,lr\n";
  for (const auto& m : state_.history)
    s += std::to_string(m.epoch) + "," + fmt(m.train_loss) + "," + fmt(m.train_dice) + "," + fmt(m.val_loss) + "," +
         fmt(m.val_dice_slice) + "," + fmt(m.val_dsc_volume) + "," + fmt(m.lr) + "\n";
  return s;
}

void Trainer::write_metrics() const {
  write_file_atomic((fs::path(config_.out) / "metrics.csv").string(), metrics_csv());
}

bool Trainer::run() {
  const std::string last = (fs::path(config_.out) / "last.safetensors").string();
  const std::string best = (fs::path(config_.out) / "best.safetensors").string();
  model_->train(true);
  while (state_.epoch < config_.epochs) {
    adam_->set_lr(static_cast<float>(state_.lr));
    int64_t steps = loader_->batches_per_epoch();
    if (config_.max_steps_per_epoch > 0) steps = std::min(steps, config_.max_steps_per_epoch);
    const int64_t samples_in_epoch = std::min(loader_->samples_per_epoch(), steps * config_.batch);
    loader_->start_epoch(state_.epoch, state_.next_batch);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t samples_this_run = 0;
    data::Batch b;
    while (state_.next_batch < steps && loader_->next(b)) {
      const int64_t n = b.size, s = b.image_size;
      const Tensor x = Tensor::from_host({n, 3, s, s}, b.images.data(), device_);  // [N, 3, S, S]
      const Tensor t = Tensor::from_host({n, 1, s, s}, b.masks.data(), device_);   // [N, 1, S, S]
      model_->zero_grad();
      const Tensor logits = model_->forward(x);
      const Tensor loss = segmentation_loss(logits, t, loss_);
      const float loss_value = loss.item();
      UNET_CHECK(std::isfinite(loss_value), "train",
                 "the loss is " + std::to_string(loss_value) + " at epoch " + std::to_string(state_.epoch + 1) +
                     ", step " + std::to_string(state_.next_batch + 1) + "; stopping. The last good checkpoint is " +
                     (fs::exists(last) ? last : std::string("(none yet)")));
      loss.backward();
      adam_->step();
      // Hard Dice of the batch, for the console and metrics.
      const auto z = logits.to_vector();
      std::vector<uint8_t> p(z.size()), m(z.size());
      for (size_t i = 0; i < z.size(); ++i) {
        p[i] = z[i] > 0.0f;
        m[i] = b.masks.data()[i] > 0.5f;
      }
      state_.partial_loss += static_cast<double>(loss_value) * static_cast<double>(n);
      state_.partial_dice += dice(p.data(), m.data(), static_cast<int64_t>(p.size())) * static_cast<double>(n);
      state_.partial_samples += n;
      ++state_.next_batch;
      samples_this_run += n;
      if (on_step) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double rate = secs > 0 ? static_cast<double>(samples_this_run) / secs : 0.0;
        on_step(StepInfo{state_.epoch + 1, state_.next_batch, steps, state_.partial_samples, samples_in_epoch,
                         static_cast<double>(loss_value), rate,
                         rate > 0 ? static_cast<double>(samples_in_epoch - state_.partial_samples) / rate : 0.0});
      }
      if (stop_) {
        save_checkpoint(last, true);
        say("stopped at epoch " + std::to_string(state_.epoch + 1) + ", step " + std::to_string(state_.next_batch) +
            "; saved " + last + " (continue with --resume " + config_.out + ")");
        return false;
      }
    }
    EpochMetrics em;
    em.epoch = state_.epoch + 1;
    em.train_loss = state_.partial_samples ? state_.partial_loss / static_cast<double>(state_.partial_samples) : 0.0;
    em.train_dice = state_.partial_samples ? state_.partial_dice / static_cast<double>(state_.partial_samples) : 0.0;
    em.lr = state_.lr;
    EvalOptions eo;
    eo.batch = config_.batch;
    eo.largest_component = config_.largest_component;
    // Validation allocates other shapes than training; releasing the cache around it keeps
    // the peak memory that of the larger phase, not the sum (one epoch's first step then
    // refills the cache, a few dozen allocations per epoch).
    allocator_for(device_).empty_cache();
    const EvalResult ev = val_.empty() ? EvalResult{} : evaluate(*model_, volumes_, val_, loss_, eo);
    allocator_for(device_).empty_cache();
    em.val_loss = ev.loss;
    em.val_dice_slice = ev.dice_per_slice;
    em.val_dsc_volume = ev.dsc_per_volume;
    em.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state_.history.push_back(em);

    const bool improved = em.val_dsc_volume > state_.best_dsc;
    if (improved) {
      state_.best_dsc = em.val_dsc_volume;
      state_.best_epoch = em.epoch;
    }
    if (config_.lr_schedule == "plateau") {
      // ReduceLROnPlateau(mode="max", threshold=1e-4 relative) on the validation DSC.
      if (em.val_dsc_volume > state_.plateau_best * (1.0 + 1e-4)) {
        state_.plateau_best = em.val_dsc_volume;
        state_.plateau_bad = 0;
      } else if (++state_.plateau_bad > config_.plateau_patience) {
        const double new_lr = std::max(state_.lr * config_.plateau_factor, config_.min_lr);
        if (new_lr < state_.lr) say("plateau: learning rate " + fmt(state_.lr) + " -> " + fmt(new_lr));
        state_.lr = new_lr;
        state_.plateau_bad = 0;
      }
    }
    ++state_.epoch;
    state_.next_batch = 0;
    state_.partial_loss = state_.partial_dice = 0.0;
    state_.partial_samples = 0;
    if (improved) save_checkpoint(best, false);
    save_checkpoint(last, true);
    write_metrics();
    if (on_epoch) on_epoch(em, ev);
    if (stop_) {
      say("stopped after epoch " + std::to_string(em.epoch) + "; saved " + last);
      return false;
    }
  }
  return true;
}

LoadedModel load_model_checkpoint(const std::string& path, Device device) {
  const SafetensorsFile f = read_safetensors(path);
  auto it = f.metadata.find("config");
  UNET_CHECK(it != f.metadata.end(), path, "no model config in the metadata; not a unet-engine checkpoint");
  LoadedModel lm;
  lm.model = std::make_unique<UNet>(config_from_json(it->second, path), device);
  load_model_state(*lm.model, f, path);
  if (auto tc = f.metadata.find("train_config"); tc != f.metadata.end()) lm.train_config = TrainConfig::from_json(tc->second, path);
  return lm;
}

}  // namespace unet
