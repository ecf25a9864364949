#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "data/split.hpp"
#include "base/allocator.hpp"
#include "base/error.hpp"
#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "engine/safetensors.hpp"
#include "train/checkpoint.hpp"
#include "train/data_parallel.hpp"
#include "train/run_folder.hpp"
#include "train/metrics.hpp"
#include "unet/state_dict.hpp"
#include "data/volume_cache.hpp"
#include "unet/train_step.hpp"

namespace unet {

namespace {
std::string fmt_seconds(double s) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f s", s);
  return b;
}
}  // namespace

namespace fs = std::filesystem;
using nlohmann::json;

// ---- the trainer ----

Trainer::Trainer(TrainConfig config, bool resume, std::function<void(const std::string&)> message)
    : on_message(std::move(message)), config_(std::move(config)) {
  const std::string last = (fs::path(config_.out) / "last.safetensors").string();
  SafetensorsFile checkpoint;
  if (resume) {
    checkpoint = read_resume_checkpoint(last);
    config_ = resumed_config(config_, checkpoint, last);
    UNET_CHECK(!config_.is_brats(), last, tr("is a checkpoint of a BraTS (3D) run, not of a 2D (kaggle) run"));
    if (const std::string m = resumed_on_other_ranks(config_, comm_->size()); !m.empty()) say(m);
  }
  config_.ranks = comm_->size();
  UNET_CHECK(!config_.is_brats(), "Trainer", tr("a BraTS run is trained by BratsTrainer (train/brats_trainer.hpp)"));
  config_.validate();
  // Absolute, so that a resume from another working folder finds them.
  config_.data = fs::absolute(config_.data).lexically_normal().string();
  if (!config_.val_list.empty()) config_.val_list = fs::absolute(config_.val_list).lexically_normal().string();
  check_global_batch(config_, *comm_);
  if (root()) check_writable(config_.out);
  device_ = resolve_device(config_.device);
  if (device_ == Device::CUDA) dist::use_nccl_for_device_data();
  loss_.kind = LossConfig::parse(config_.loss);
  loss_.bce_weight = static_cast<float>(config_.bce_weight);
  loss_.dice_weight = static_cast<float>(config_.dice_weight);

  // Data.
  const data::ScanResult scan = data::scan_kaggle(config_.data);
  for (const auto& w : scan.warnings) say(trf("warning: {}", w));
  data::LoadConfig load_config;
  load_config.size = config_.size;
  load_config.mode = data::parse_preprocess(config_.preprocess);
  load_config.strict = config_.strict;
  load_config.threads = config_.workers;
  const auto load_start = std::chrono::steady_clock::now();
  bool from_cache = false;
  // Several processes: rank 0 loads first (and fills the cache when it is cold), the others then
  // read its cache instead of decoding the same files and racing to write the same cache file.
  const auto load = [&] {
    volumes_ = data::load_dataset_cached(scan, load_config, load_report_,
                                         config_.data_cache ? data::volume_cache_dir() : std::string(), from_cache);
  };
  if (root()) load();
  comm_->barrier();
  if (!root()) load();
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  for (const auto& p : load_report_.problems) say(trf("warning: {}", p));
  const std::string skipped = load_report_.skipped_files
                                  ? trf(", {} files skipped", std::to_string(load_report_.skipped_files))
                                  : std::string();
  const std::string how = from_cache ? trf("read from the cache in {}", fmt_seconds(load_seconds))
                                     : trf("loaded in {}", fmt_seconds(load_seconds));
  say(trf("data: {} patients, {} slices, {} with tumour{} ({}, {} preprocessing, {}x{}; {})",
          std::to_string(load_report_.patients), std::to_string(load_report_.slices),
          std::to_string(load_report_.tumour_slices), skipped, scan.root, config_.preprocess,
          std::to_string(config_.size), std::to_string(config_.size), how));

  // Split by patient.
  std::vector<std::string> ids;
  for (const auto& v : volumes_) ids.push_back(v.patient);
  if (resume) check_same_patients(checkpoint, ids, last);
  const data::Split split = split_run(ids, config_, resume, root());
  const std::set<std::string> val_ids(split.validation.begin(), split.validation.end());
  for (size_t i = 0; i < volumes_.size(); ++i) (val_ids.count(volumes_[i].patient) ? val_ : train_).push_back(i);
  for (size_t i = 0; i < val_.size(); ++i)
    if (static_cast<int>(i % static_cast<size_t>(comm_->size())) == comm_->rank()) val_mine_.push_back(val_[i]);
  UNET_CHECK(!train_.empty(), "split", tr("no training patients"));
  patients_ = ids;
  auto items = data::select_slices(volumes_, train_, config_.drop_empty);
  UNET_CHECK(!items.empty(), "training data",
             tr("no training slice has a tumour; train on all slices with --keep-empty"));
  const std::string list = (fs::path(config_.out) / "validation_patients.txt").string();
  say(config_.drop_empty
          ? trf("split: {} training patients ({} slices with tumour), {} validation patients (all slices); list in {}",
                train_.size(), items.size(), val_.size(), list)
          : trf("split: {} training patients ({} slices), {} validation patients (all slices); list in {}",
                train_.size(), items.size(), val_.size(), list));

  // Model and optimizer.
  model_ = std::make_unique<UNet>(config_.model_config(), device_, config_.seed);
  if (config_.sync_bn && comm_->size() > 1) {
    bn_sync_ = ops::BatchNormSync{comm_, config_.batch};
    model_->set_batch_norm_sync(&bn_sync_);
  }
  AdamConfig adam_config;
  adam_config.lr = config_.lr;
  adam_config.weight_decay = config_.weight_decay;
  adam_ = std::make_unique<Adam>(model_->parameters(), adam_config);
  state_.lr = config_.lr;

  data::LoaderConfig loader_config;
  loader_config.batch_size = config_.batch;
  loader_config.workers = config_.workers;
  loader_config.augment = config_.augment;
  loader_config.shuffle = true;
  loader_config.weighted_sampling = config_.weighted_sampling;
  loader_config.seed = config_.seed;
  loader_config.rank = comm_->rank();
  loader_config.ranks = comm_->size();
  loader_ = std::make_unique<data::Loader>(volumes_, std::move(items), loader_config);

  if (resume) resume_from(checkpoint, last, config_, *model_, *adam_, state_, "DSC", root() ? on_message : Say());
  if (root()) write_run_config(config_, *model_, device_);
  if (comm_->size() > 1) {
    check_replicas_identical(*comm_, *model_, *adam_, tr("at the start"));
    say(data_parallel_summary(config_, *comm_));
  }
}

Trainer::~Trainer() = default;

void Trainer::say(const std::string& line) const {
  if (on_message && root()) on_message(line);
}

void Trainer::save_checkpoint(const std::string& path, bool with_optimizer) const {
  if (!root()) return;
  write_safetensors(path, training_checkpoint(*model_, with_optimizer ? adam_.get() : nullptr, config_, state_, patients_));
}

std::string Trainer::metrics_csv() const {
  std::string s = "epoch,train_loss,train_dice,val_loss,val_dice_slice,val_dsc_volume,val_iou_slice,val_iou_volume,lr\n";
  for (const auto& m : state_.history)
    s += std::to_string(m.epoch) + "," + fmt(m.train_loss) + "," + fmt(m.train_dice) + "," + fmt(m.val_loss) + "," +
         fmt(m.val_dice_slice) + "," + fmt(m.val_dsc_volume) + "," + fmt(m.val_iou_slice) + "," + fmt(m.val_iou_volume) +
         "," + fmt(m.lr) + "\n";
  return s;
}

void Trainer::write_metrics() const {
  if (!root()) return;
  write_file_atomic((fs::path(config_.out) / "metrics.csv").string(), metrics_csv());
}

EvalResult Trainer::validate() {
  EvalConfig eval_config;
  eval_config.batch = config_.batch;
  eval_config.largest_component = config_.largest_component;
  EvalResult mine = val_mine_.empty() ? EvalResult{} : evaluate(*model_, volumes_, val_mine_, loss_, eval_config);
  if (comm_->size() == 1) return mine;
  // Sums over the ranks: [loss, Dice, IoU per slice, each times the slices; slices; then DSC and
  // IoU of every validation volume, in val_'s order, from the rank that evaluated it].
  std::vector<double> v(4 + 2 * val_.size(), 0.0);
  double slices = 0;
  for (size_t k = 0; k < val_mine_.size(); ++k) slices += static_cast<double>(volumes_[val_mine_[k]].depth());
  v[0] = mine.loss * slices;
  v[1] = mine.dice_per_slice * slices;
  v[2] = mine.iou_per_slice * slices;
  v[3] = slices;
  for (size_t k = 0; k < val_mine_.size(); ++k) {
    const size_t i = k * static_cast<size_t>(comm_->size()) + static_cast<size_t>(comm_->rank());  // its place in val_
    v[4 + 2 * i] = mine.volumes[k].dsc;
    v[5 + 2 * i] = mine.volumes[k].iou;
  }
  comm_->allreduce_sum_host(v.data(), static_cast<int64_t>(v.size()));
  // Rank 0's sums on every rank, to the last bit: the best checkpoint and the learning-rate schedule
  // decide on them, and an MPI sum in another order on another rank must not change a decision.
  comm_->broadcast_host(v.data(), static_cast<int64_t>(v.size() * sizeof(double)), 0);
  EvalResult all;
  if (v[3] > 0) {
    all.loss = v[0] / v[3];
    all.dice_per_slice = v[1] / v[3];
    all.iou_per_slice = v[2] / v[3];
  }
  for (size_t i = 0; i < val_.size(); ++i) {
    VolumeResult r;
    r.patient = volumes_[val_[i]].patient;
    r.dsc = v[4 + 2 * i];
    r.iou = v[5 + 2 * i];
    all.dsc_per_volume += r.dsc / static_cast<double>(val_.size());
    all.iou_per_volume += r.iou / static_cast<double>(val_.size());
    all.volumes.push_back(std::move(r));
  }
  return all;
}

bool Trainer::run() {
  const std::string last = (fs::path(config_.out) / "last.safetensors").string();
  const std::string best = (fs::path(config_.out) / "best.safetensors").string();
  model_->train(true);
  while (state_.epoch < config_.epochs) {
    adam_->set_lr(state_.lr);
    int64_t steps = loader_->batches_per_epoch();
    if (config_.max_steps_per_epoch > 0) steps = std::min(steps, config_.max_steps_per_epoch);
    const int64_t samples_in_epoch = std::min(loader_->samples_per_epoch(), steps * config_.batch);
    loader_->start_epoch(state_.epoch, state_.next_batch);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t samples_this_run = 0;
    // Each rank's Dice of its own samples, summed over the ranks into the state at the epoch's end.
    double local_dice = 0.0;
    const auto add_local_dice = [&] {
      comm_->allreduce_sum_host(&local_dice, 1);
      state_.partial_dice += local_dice;
      local_dice = 0.0;
    };
    data::Batch b;
    while (state_.next_batch < steps && loader_->next(b)) {
      const int64_t n = b.size, s = b.image_size;
      // Queued without waiting: the step's one wait (its loss) comes after these copies, and the
      // loader refills `b` only after that.
      const Tensor x = Tensor::from_host_async({n, 3, s, s}, b.images, device_);  // [N, 3, S, S]
      const Tensor t = Tensor::from_host_async({n, 1, s, s}, b.masks, device_);   // [N, 1, S, S]
      HostBuffer logits(static_cast<size_t>(n * s * s));                         // [N, 1, S, S]
      const StepReadout readout{nullptr, &logits};
      bn_sync_.global_batch = b.global_size;  // --sync-bn: the last batch may be smaller
      const DataParallel parallel{comm_, static_cast<double>(n) / static_cast<double>(b.global_size), stop_.load()};
      StepResult step;
      try {
        step = train_step(*model_, *adam_, x, t, loss_, &readout, &parallel);
      } catch (const dist::AllRanksStopped&) {
        // Every rank stops here, before this step changed anything: the state is worth keeping.
        save_checkpoint(last, true);
        say(trf("saved {} before this step (continue with --resume {})", last, config_.out));
        throw;
      }
      const float loss_value = step.loss;
      if (!step.applied)
        throw dist::AllRanksStopped(
            __FILE__, __LINE__, "train",
            trf("the loss is {} at epoch {}, step {}; stopping. The last good checkpoint is {}",
                std::to_string(loss_value), std::to_string(state_.epoch + 1), std::to_string(state_.next_batch + 1),
                (fs::exists(last) ? last : tr("(none yet)"))));
      // Hard Dice of this rank's samples, for the console and metrics (while backward and Adam run on a GPU).
      const size_t count = static_cast<size_t>(n * s * s);
      std::vector<uint8_t> p(count), m(count);
      for (size_t i = 0; i < count; ++i) {
        p[i] = logits.data()[i] > 0.0f;
        m[i] = b.masks.data()[i] > 0.5f;
      }
      const int64_t global_n = b.global_size;
      state_.partial_loss += static_cast<double>(loss_value) * static_cast<double>(global_n);
      local_dice += dice(p.data(), m.data(), static_cast<int64_t>(p.size())) * static_cast<double>(n);
      state_.partial_samples += global_n;
      ++state_.next_batch;
      samples_this_run += global_n;
      if (on_step && root()) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double rate = secs > 0 ? static_cast<double>(samples_this_run) / secs : 0.0;
        on_step(StepInfo{state_.epoch + 1, state_.next_batch, steps, state_.partial_samples, samples_in_epoch,
                         static_cast<double>(loss_value), rate,
                         rate > 0 ? static_cast<double>(samples_in_epoch - state_.partial_samples) / rate : 0.0});
      }
      // Several processes stop at the step they voted on (a request after the vote waits for the next
      // step's); one process stops as soon as it was asked (the request may come from on_step).
      if (comm_->size() > 1 ? step.stop : stop_.load()) {
        add_local_dice();
        save_checkpoint(last, true);
        say(trf("stopped at epoch {}, step {}; saved {} (continue with --resume {})", std::to_string(state_.epoch + 1),
                std::to_string(state_.next_batch), last, config_.out));
        return false;
      }
    }
    add_local_dice();
    EpochMetrics em;
    em.epoch = state_.epoch + 1;
    em.train_loss = state_.partial_samples ? state_.partial_loss / static_cast<double>(state_.partial_samples) : 0.0;
    em.train_dice = state_.partial_samples ? state_.partial_dice / static_cast<double>(state_.partial_samples) : 0.0;
    em.lr = state_.lr;
    // Validation allocates other shapes than training; releasing the cache around it keeps
    // the peak memory that of the larger phase, not the sum (one epoch's first step then
    // refills the cache, a few dozen allocations per epoch).
    allocator_for(device_).empty_cache();
    const EvalResult ev = validate();
    allocator_for(device_).empty_cache();
    em.val_loss = ev.loss;
    em.val_dice_slice = ev.dice_per_slice;
    em.val_dsc_volume = ev.dsc_per_volume;
    em.val_iou_slice = ev.iou_per_slice;
    em.val_iou_volume = ev.iou_per_volume;
    em.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool improved = finish_epoch(state_, config_, em, root() ? on_message : Say());
    if (comm_->size() > 1) check_replicas_identical(*comm_, *model_, *adam_, trf("after epoch {}", em.epoch));
    if (improved) save_checkpoint(best, false);
    save_checkpoint(last, true);
    write_metrics();
    if (on_epoch && root()) on_epoch(em, ev);
    if (stop_requested_anywhere(*comm_, stop_)) {
      say(trf("stopped after epoch {}; saved {}", std::to_string(em.epoch), last));
      return false;
    }
  }
  return true;
}


}  // namespace unet
