#include "train/brats_trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "base/allocator.hpp"
#include "base/error.hpp"
#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "data/brats_scan.hpp"
#include "data/patch_sampler.hpp"
#include "data/split.hpp"
#include "train/checkpoint.hpp"
#include "dist/rank_share.hpp"
#include "train/data_parallel.hpp"
#include "train/metrics.hpp"
#include "train/run_folder.hpp"
#include "unet/class_ops.hpp"
#include "unet/state_dict.hpp"
#include "unet/train_step.hpp"

namespace unet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

data::PatchConfig patch_config(const TrainConfig& c) {
  data::PatchConfig p;
  p.size = {c.patch, c.patch, c.patch};
  p.sample_num = static_cast<int>(c.sample_num);
  p.min_tumor_voxels = c.min_tumor_voxels;
  p.flip = c.augment;
  return p;
}

// Per-label overlap counts of hard predictions, summed over batches: Dice of labels 1, 2, 4
// (engine classes 1, 2, 3) over everything seen, so a small batch weighs by its voxels.
struct LabelDice {
  double inter[4] = {0, 0, 0, 0}, pred[4] = {0, 0, 0, 0}, truth[4] = {0, 0, 0, 0};
  void add(const std::vector<float>& classes_pred, const std::vector<float>& classes_true) {
    for (size_t i = 0; i < classes_pred.size(); ++i) {
      const int p = static_cast<int>(classes_pred[i]), t = static_cast<int>(classes_true[i]);
      pred[p] += 1;
      truth[t] += 1;
      if (p == t) inter[p] += 1;
    }
  }
  // Both empty: 1, as the metrics of a case (train/brats_metrics.hpp).
  double dice(int c) const { return pred[c] + truth[c] > 0 ? 2 * inter[c] / (pred[c] + truth[c]) : 1.0; }
  double mean() const { return (dice(1) + dice(2) + dice(3)) / 3.0; }
  // The counts of every rank (each counted its own patches).
  void sum_over(dist::Communicator& comm) {
    double all[12];
    for (int c = 0; c < 4; ++c) all[c] = inter[c], all[4 + c] = pred[c], all[8 + c] = truth[c];
    comm.allreduce_sum_host(all, 12);
    for (int c = 0; c < 4; ++c) inter[c] = all[c], pred[c] = all[4 + c], truth[c] = all[8 + c];
  }
};

// -1 for a mean that no case could give (HD95 undefined in every case), as metrics.csv says.
double or_undefined(const MeanOverCases& m) { return m.count > 0 ? m.mean : -1.0; }

}  // namespace

BratsTrainer::BratsTrainer(TrainConfig config, bool resume, std::function<void(const std::string&)> message)
    : on_message(std::move(message)), config_(std::move(config)) {
  const std::string last = (fs::path(config_.out) / "last.safetensors").string();
  SafetensorsFile checkpoint;
  if (resume) {
    checkpoint = read_resume_checkpoint(last);
    config_ = resumed_config(config_, checkpoint, last);
    UNET_CHECK(config_.is_brats(), last, tr("is a checkpoint of a 2D (kaggle) run, not of a BraTS run"));
    if (const std::string m = resumed_on_other_ranks(config_, comm_->size()); !m.empty()) say(m);
  }
  config_.ranks = comm_->size();
  UNET_CHECK(config_.is_brats(), "BratsTrainer", tr("the configuration is not that of a BraTS run (--dataset brats)"));
  config_.validate();
  config_.data = fs::absolute(config_.data).lexically_normal().string();
  if (!config_.val_list.empty()) config_.val_list = fs::absolute(config_.val_list).lexically_normal().string();
  check_global_batch(config_, *comm_);
  if (root()) check_writable(config_.out);
  device_ = resolve_device(config_.device);
  if (device_ == Device::CUDA) dist::use_nccl_for_device_data();
  loss_.kind = MulticlassLossConfig::parse(config_.loss);

  // Data: the cases z-scored, with their classes; in memory when they fit in --cache-gb.
  const data::BratsScan scan = data::scan_brats(config_.data);
  for (const auto& w : scan.warnings) say(trf("warning: {}", w));
  data::BratsLoadConfig load;
  load.strict = config_.strict;
  load.max_data = config_.max_data;
  load.threads = config_.workers;
  data::BratsLoadReport report;
  const int64_t budget = config_.cache_gb > 0 ? static_cast<int64_t>(config_.cache_gb * (1 << 30))
                                              : data::default_case_memory_budget();
  store_ = std::make_unique<data::BratsCaseStore>(scan, load, budget, report);
  unreadable_.assign(store_->size(), false);
  for (const auto& p : report.problems) say(trf("warning: {}", p));
  const int64_t mib = store_->bytes_of_all() >> 20;
  const std::string where = store_->held_in_memory()
                                ? tr("held in memory")
                                : trf("as floats, more than --cache-gb {}: read from disk when used",
                                      fmt(static_cast<double>(budget) / (1 << 30)));
  const std::string skipped =
      report.skipped ? trf(", {} cases skipped", std::to_string(report.skipped)) : std::string();
  say(trf("data: {} BraTS cases ({}), {} MiB {}{}", std::to_string(store_->size()), scan.root, std::to_string(mib),
          where, skipped));

  // Split by patient (a BraTS case is one patient).
  std::vector<std::string> ids;
  for (size_t i = 0; i < store_->size(); ++i) ids.push_back(store_->id(i));
  if (resume) check_same_patients(checkpoint, ids, last);
  const data::Split split = split_run(ids, config_, resume, root());
  const std::set<std::string> val_ids(split.validation.begin(), split.validation.end());
  for (size_t i = 0; i < store_->size(); ++i) (val_ids.count(store_->id(i)) ? val_ : train_).push_back(i);
  UNET_CHECK(!train_.empty(), "split", tr("no training cases"));
  const std::string val_file = (fs::path(config_.out) / "validation_patients.txt").string();
  patients_ = ids;
  say(
      trf("split: {} training cases ({} patches of {}^3 each per epoch), {} validation cases (whole volumes, sliding "
          "window); list in {}",
          std::to_string(train_.size()), std::to_string(config_.sample_num), std::to_string(config_.patch),
          std::to_string(val_.size()), val_file));

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
  if (resume)
    resume_from(checkpoint, last, config_, *model_, *adam_, state_, tr("mean region Dice"), root() ? on_message : Say());
  if (root()) write_run_config(config_, *model_, device_);
  if (comm_->size() > 1) {
    check_replicas_identical(*comm_, *model_, *adam_, tr("at the start"));
    say(trf("{}; the ranks share the validation cases", data_parallel_summary(config_, *comm_)));
  }
}

BratsTrainer::~BratsTrainer() = default;

void BratsTrainer::say(const std::string& line) const {
  if (on_message && root()) on_message(line);
}

void BratsTrainer::save_checkpoint(const std::string& path, bool with_optimizer) const {
  if (!root()) return;
  write_safetensors(path, training_checkpoint(*model_, with_optimizer ? adam_.get() : nullptr, config_, state_, patients_));
}

std::string BratsTrainer::metrics_csv() const {
  std::string s =
      "epoch,train_loss,train_dice_l1,train_dice_l2,train_dice_l4,val_loss,val_dice_l1,val_dice_l2,val_dice_l4,"
      "val_dice_wt,val_dice_tc,val_dice_et,val_hd95_wt,val_hd95_tc,val_hd95_et,val_iou_wt,val_iou_tc,val_iou_et,"
      "val_region_dice,lr\n";
  for (const auto& m : state_.history) {
    s += std::to_string(m.epoch);
    for (double v : {m.train_loss, m.train_dice_l1, m.train_dice_l2, m.train_dice_l4, m.val_loss, m.val_dice_l1,
                     m.val_dice_l2, m.val_dice_l4, m.val_dice_wt, m.val_dice_tc, m.val_dice_et, m.val_hd95_wt,
                     m.val_hd95_tc, m.val_hd95_et, m.val_iou_wt, m.val_iou_tc, m.val_iou_et, m.val_dsc_volume, m.lr})
      s += "," + fmt(v);
    s += "\n";
  }
  return s;
}

std::shared_ptr<const data::BratsCase> BratsTrainer::readable_case(size_t i) {
  if (unreadable_[i]) return nullptr;
  try {
    return store_->get(i);
  } catch (const Error& e) {
    if (config_.strict) throw;
    unreadable_[i] = true;
    if (on_message)
      on_message(dist::rank_prefix() +
                 trf("warning: case {} cannot be read and is left out from now on: {}", store_->id(i), e.what()));
    return nullptr;
  }
}

BratsInferenceOptions BratsTrainer::validation_inference() const {
  BratsInferenceOptions inference;
  inference.patch = config_.patch;
  inference.overlap = config_.overlap;
  return inference;
}

BratsEvalResult BratsTrainer::evaluate_validation(bool keep_predictions,
                                                  const std::function<void(const BratsCaseResult&)>& on_case) {
  return evaluate_brats(*model_, val_, [&](size_t i) { return readable_case(i); }, loss_, validation_inference(),
                        keep_predictions, on_case);
}

BratsEvalResult BratsTrainer::evaluate_validation_shared() {
  const auto ranks = static_cast<size_t>(comm_->size());
  if (ranks == 1) return evaluate_validation();
  // A row per validation case: [evaluated, loss, metrics...]. Each case is one rank's, the other
  // ranks' rows are zero, so a sum hands every rank every row (a NaN HD95 stays NaN).
  using M = BratsCaseMetrics;
  static constexpr double M::*kMetrics[] = {&M::dice_label1, &M::dice_label2, &M::dice_label4, &M::dice_wt,
                                            &M::dice_tc,     &M::dice_et,     &M::hd95_wt,     &M::hd95_tc,
                                            &M::hd95_et,     &M::iou_wt,      &M::iou_tc,      &M::iou_et};
  static_assert(sizeof(M) == sizeof kMetrics / sizeof kMetrics[0] * sizeof(double), "every metric is in the row");
  constexpr size_t kRow = 2 + std::size(kMetrics);
  std::vector<double> rows(val_.size() * kRow, 0.0);
  for (size_t k = static_cast<size_t>(comm_->rank()); k < val_.size(); k += ranks) {
    const std::shared_ptr<const data::BratsCase> c = readable_case(val_[k]);
    if (!c) continue;  // left out, as one process leaves it out
    const BratsCaseResult cr = evaluate_brats_case(*model_, *c, loss_, validation_inference());
    double* row = rows.data() + k * kRow;
    row[0] = 1.0;
    row[1] = cr.loss;
    for (size_t f = 0; f < std::size(kMetrics); ++f) row[2 + f] = cr.metrics.*kMetrics[f];
  }
  comm_->allreduce_sum_host(rows.data(), static_cast<int64_t>(rows.size()));
  std::vector<BratsCaseResult> cases;
  for (size_t k = 0; k < val_.size(); ++k) {
    const double* row = rows.data() + k * kRow;
    if (row[0] == 0.0) continue;
    BratsCaseResult cr;
    cr.id = store_->id(val_[k]);
    cr.loss = row[1];
    for (size_t f = 0; f < std::size(kMetrics); ++f) cr.metrics.*kMetrics[f] = row[2 + f];
    cases.push_back(std::move(cr));
  }
  return brats_eval_result(std::move(cases));
}

bool BratsTrainer::run() {
  const std::string last = (fs::path(config_.out) / "last.safetensors").string();
  const std::string best = (fs::path(config_.out) / "best.safetensors").string();
  const data::PatchConfig pc = patch_config(config_);
  const int64_t p = config_.patch;
  model_->train(true);
  while (state_.epoch < config_.epochs) {
    adam_->set_lr(state_.lr);
    // The epoch's patches: the training cases in an order shuffled from (seed, epoch), each
    // case's sample_num patches one after another, so that each case is read once per epoch.
    const std::vector<data::PatchRef> case_order = data::epoch_patch_order(
        static_cast<int64_t>(train_.size()), data::PatchConfig{pc.size, 1}, config_.seed, state_.epoch);
    std::vector<data::PatchRef> order;
    for (const auto& r : case_order)
      for (int sample = 0; sample < pc.sample_num; ++sample)
        order.push_back({static_cast<int64_t>(train_[static_cast<size_t>(r.case_index)]), sample});
    int64_t steps = (static_cast<int64_t>(order.size()) + config_.batch - 1) / config_.batch;
    if (config_.max_steps_per_epoch > 0) steps = std::min(steps, config_.max_steps_per_epoch);
    const int64_t samples_in_epoch = std::min<int64_t>(static_cast<int64_t>(order.size()), steps * config_.batch);
    const auto t0 = std::chrono::steady_clock::now();
    int64_t samples_this_run = 0;
    LabelDice epoch_dice, window_dice;
    double window_loss = 0.0;
    int64_t window_steps = 0;
    while (state_.next_batch < steps) {
      const int64_t global_first = state_.next_batch * config_.batch;
      const int64_t global_n = std::min<int64_t>(config_.batch, static_cast<int64_t>(order.size()) - global_first);
      const dist::RankShare mine = dist::rank_share(global_n, comm_->rank(), comm_->size());  // this rank's patches
      const std::vector<data::PatchRef> refs(order.begin() + global_first + mine.begin,
                                             order.begin() + global_first + mine.end);
      data::PatchBatch b;
      b.size = pc.size;
      const int64_t pv = p * p * p;
      for (const auto& r : refs) {
        const auto c = readable_case(static_cast<size_t>(r.case_index));
        if (!c) continue;
        b.images.resize(static_cast<size_t>((b.count + 1) * 4 * pv));
        b.labels.resize(static_cast<size_t>((b.count + 1) * pv));
        data::sample_patch(*c, pc, config_.seed, state_.epoch, r.case_index, r.sample, b.images.data() + b.count * 4 * pv,
                           b.labels.data() + b.count * pv);
        ++b.count;
      }
      // [patches on every rank, ranks without any]: a rank left with no readable case has nothing
      // to run a forward on, so every rank skips that batch, as one process skips an unreadable one.
      double counts[2] = {static_cast<double>(b.count), b.count == 0 ? 1.0 : 0.0};
      comm_->allreduce_sum_host(counts, 2);
      if (counts[1] > 0) {
        ++state_.next_batch;
        continue;
      }
      const int64_t n = b.count, all_n = static_cast<int64_t>(counts[0]);
      const Tensor x = Tensor::from_host({n, 4, p, p, p}, b.images.data(), device_);  // [N, 4, P, P, P]
      const Tensor t = Tensor::from_host({n, p, p, p}, b.labels.data(), device_);     // [N, P, P, P]
      HostBuffer predicted_host(static_cast<size_t>(n * p * p * p));  // [N, P, P, P], read in the step's one wait
      const StepReadout readout{[](const Tensor& logits) { return argmax_channels(logits); }, &predicted_host};
      bn_sync_.global_batch = all_n;  // --sync-bn: a last or a partly unreadable batch is smaller
      const DataParallel parallel{comm_, static_cast<double>(n) / static_cast<double>(all_n), stop_.load()};
      StepResult step;
      try {
        step = train_step(*model_, *adam_, x, t, loss_, &readout, &parallel);
      } catch (const dist::AllRanksStopped&) {
        save_checkpoint(last, true);  // every rank stops before this step changed anything
        say(trf("saved {} before this step (continue with --resume {})", last, config_.out));
        throw;
      }
      if (!step.applied)
        throw dist::AllRanksStopped(
            __FILE__, __LINE__, "train",
            trf("the loss is {} at epoch {}, step {}; stopping. The last good checkpoint is {}", std::to_string(step.loss),
                std::to_string(state_.epoch + 1), std::to_string(state_.next_batch + 1),
                (fs::exists(last) ? last : tr("(none yet)"))));
      const std::vector<float> predicted(predicted_host.data(), predicted_host.data() + n * p * p * p);
      epoch_dice.add(predicted, b.labels);
      window_dice.add(predicted, b.labels);
      window_loss += step.loss;
      ++window_steps;
      state_.partial_loss += static_cast<double>(step.loss) * static_cast<double>(all_n);
      state_.partial_samples += all_n;
      ++state_.next_batch;
      samples_this_run += all_n;
      if (state_.next_batch % config_.log_every == 0 || state_.next_batch == steps) {
        window_dice.sum_over(*comm_);
        say(trf("epoch {} step {}/{}: loss {}, Dice label 1 {}, label 2 {}, label 4 {}",
                std::to_string(state_.epoch + 1), std::to_string(state_.next_batch), std::to_string(steps),
                fmt(window_loss / static_cast<double>(window_steps)), fmt(window_dice.dice(1)),
                fmt(window_dice.dice(2)), fmt(window_dice.dice(3))));
        window_dice = LabelDice{};
        window_loss = 0.0;
        window_steps = 0;
      }
      if (on_step && root()) {
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double rate = secs > 0 ? static_cast<double>(samples_this_run) / secs : 0.0;
        on_step(StepInfo{state_.epoch + 1, state_.next_batch, steps, state_.partial_samples, samples_in_epoch,
                         static_cast<double>(step.loss), rate,
                         rate > 0 ? static_cast<double>(samples_in_epoch - state_.partial_samples) / rate : 0.0});
      }
      if (comm_->size() > 1 ? step.stop : stop_.load()) {
        save_checkpoint(last, true);
        say(trf("stopped at epoch {}, step {}; saved {} (continue with --resume {})", std::to_string(state_.epoch + 1),
                std::to_string(state_.next_batch), last, config_.out));
        return false;
      }
    }
    epoch_dice.sum_over(*comm_);
    EpochMetrics em;
    em.epoch = state_.epoch + 1;
    em.train_loss = state_.partial_samples ? state_.partial_loss / static_cast<double>(state_.partial_samples) : 0.0;
    // Per-label Dice of the patches this process trained on in the epoch (after a resume in
    // the middle of an epoch, those since the resume).
    em.train_dice_l1 = epoch_dice.dice(1);
    em.train_dice_l2 = epoch_dice.dice(2);
    em.train_dice_l4 = epoch_dice.dice(3);
    em.train_dice = epoch_dice.mean();
    em.lr = state_.lr;
    allocator_for(device_).empty_cache();
    // The ranks share the whole-volume validation, and all have its figures.
    const BratsEvalResult ev = val_.empty() ? BratsEvalResult{} : evaluate_validation_shared();
    allocator_for(device_).empty_cache();
    em.val_loss = ev.loss;
    em.val_dice_l1 = ev.mean.dice_label1.mean;
    em.val_dice_l2 = ev.mean.dice_label2.mean;
    em.val_dice_l4 = ev.mean.dice_label4.mean;
    em.val_dice_wt = ev.mean.dice_wt.mean;
    em.val_dice_tc = ev.mean.dice_tc.mean;
    em.val_dice_et = ev.mean.dice_et.mean;
    em.val_iou_wt = ev.mean.iou_wt.mean;
    em.val_iou_tc = ev.mean.iou_tc.mean;
    em.val_iou_et = ev.mean.iou_et.mean;
    em.val_hd95_wt = or_undefined(ev.mean.hd95_wt);
    em.val_hd95_tc = or_undefined(ev.mean.hd95_tc);
    em.val_hd95_et = or_undefined(ev.mean.hd95_et);
    em.val_dsc_volume = val_.empty() ? 0.0 : ev.region_dice;
    em.val_dice_slice = em.val_dsc_volume;  // no slices in 3D: the same number, for the 2D columns
    em.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    static_assert(std::is_trivially_copyable_v<EpochMetrics>, "broadcast as bytes");
    comm_->broadcast_host(&em, sizeof em, 0);  // rank 0's figures: the best checkpoint and the LR decide on them
    const bool improved = finish_epoch(state_, config_, em, root() ? on_message : Say());
    if (comm_->size() > 1) check_replicas_identical(*comm_, *model_, *adam_, trf("after epoch {}", em.epoch));
    if (improved) save_checkpoint(best, false);
    save_checkpoint(last, true);
    if (root()) write_file_atomic((fs::path(config_.out) / "metrics.csv").string(), metrics_csv());
    if (on_epoch && root()) on_epoch(em, ev);
    if (stop_requested_anywhere(*comm_, stop_)) {
      say(trf("stopped after epoch {}; saved {}", std::to_string(em.epoch), last));
      return false;
    }
  }
  return true;
}

}  // namespace unet
