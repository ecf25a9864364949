// `unet train`: trains the 2D U-Net on a kaggle_3m folder, or the 3D U-Net on a BraTS folder.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "base/gpu_math.hpp"
#include "base/i18n.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"
#include "tools/progress.hpp"
#include "tools/tensorboard_log.hpp"
#include "tools/brats_report.hpp"
#include "tools/report.hpp"
#include "data/dataset_kind.hpp"
#include "dist/communicator.hpp"
#include "train/brats_trainer.hpp"
#include "train/checkpoint.hpp"
#include "train/trainer.hpp"

namespace unet::tools {

namespace {
std::atomic<Trainer*> g_trainer{nullptr};
std::atomic<BratsTrainer*> g_brats_trainer{nullptr};

void on_sigint(int sig) {
  // First Ctrl-C: finish the current step, save last.safetensors, exit cleanly.
  // Second Ctrl-C: the default action (immediate exit). SIGTERM is the same request: mpirun
  // sends it to every rank when it gets a Ctrl-C.
  if (Trainer* t = g_trainer.load()) t->request_stop();
  if (BratsTrainer* t = g_brats_trainer.load()) t->request_stop();
  std::signal(sig, SIG_DFL);
}

// Runs `train` with Ctrl-C asking `trainer` to stop; the handler is removed however it ends.
template <class T>
bool run_stoppable(T& trainer, std::atomic<T*>& slot) {
  slot = &trainer;
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);
  struct Restore {
    std::atomic<T*>& slot;
    ~Restore() {
      slot = nullptr;
      std::signal(SIGINT, SIG_DFL);
      std::signal(SIGTERM, SIG_DFL);
    }
  } restore{slot};
  return trainer.run();
}

// A rank other than 0 trains and then waits while rank 0 writes the report: mpirun ends every
// rank when one exits non-zero, so none may leave early.
template <class T>
int finish_other_rank(T& trainer, std::atomic<T*>& slot) {
  const bool done = run_stoppable(trainer, slot);
  dist::world().barrier();
  return done ? 0 : 130;
}

// The options the user gave (not defaults), by their long name.
bool given(const CLI::App* sub, const char* name) { return sub->count(name) > 0; }

// A BraTS run takes the 3D reference program's settings for what the user did not set.
void apply_brats_defaults(TrainConfig& c, const CLI::App* sub) {
  const TrainConfig d = TrainConfig::brats_defaults();
  c.dataset = "brats";
  if (!given(sub, "--lr")) c.lr = d.lr;
  if (!given(sub, "--batch")) c.batch = d.batch;
  if (!given(sub, "--epochs")) c.epochs = d.epochs;
  if (!given(sub, "--seed")) c.seed = d.seed;
  if (!given(sub, "--loss")) c.loss = d.loss;
}

// Whether a run folder to resume is a BraTS run, from its checkpoint's configuration.
bool resumes_brats(const std::string& run) {
  const std::string last = (std::filesystem::path(run) / "last.safetensors").string();
  if (!std::filesystem::exists(last)) return false;  // the trainer says what is missing
  const SafetensorsFile f = read_safetensors(last);
  auto it = f.metadata.find("train_config");
  return it != f.metadata.end() && TrainConfig::from_json(it->second, last).is_brats();
}

// The last line of a run: how it ended, its best epoch and where its files are.
std::string final_line(bool done, double secs, const std::string& best_what, double best, int64_t best_epoch,
                       const std::string& dir) {
  const std::string best_part = best_epoch > 0 ? trf("best {} {} (epoch {}), {}/best.safetensors; ", best_what,
                                                     std::to_string(best), best_epoch, dir)
                                               : tr("no epoch completed yet; ");
  return done ? trf("done in {}: {}{}/last.safetensors, {}/report.html", format_duration(secs), best_part, dir, dir)
              : trf("stopped in {}: {}{}/last.safetensors, {}/report.html", format_duration(secs), best_part, dir, dir);
}

int train_brats(const TrainConfig& c, bool resuming, Progress& progress, std::chrono::steady_clock::time_point t0) {
  BratsTrainer trainer(c, resuming, [&](const std::string& l) { progress.message(l); });
  if (!dist::world().is_root()) return finish_other_rank(trainer, g_brats_trainer);
  TensorBoardWriter tb(trainer.config().out);
  int64_t global_step = 0;
  trainer.on_step = [&](const StepInfo& s) {
    progress.step(s);
    global_step = log_step(tb, s);
  };
  trainer.on_epoch = [&](const EpochMetrics& m, const BratsEvalResult&) {
    log_epoch(tb, m, true, global_step);
    // HD95 is -1 when no validation case has the region in both prediction and truth.
    std::string hd95 = tr("undefined (WT empty on one side)");
    if (m.val_hd95_wt >= 0) {
      char mm[48];
      std::snprintf(mm, sizeof mm, "%.1f mm", m.val_hd95_wt);
      hd95 = mm;
    }
    char line[512];
    std::snprintf(line, sizeof line,
                  tr("epoch %lld: train loss %.4f | validation Dice WT %.3f TC %.3f ET %.3f (labels 1 %.3f, 2 %.3f, 4 "
                     "%.3f), IoU WT %.3f TC %.3f ET %.3f, HD95 WT %s, loss %.4f, %s%s")
                      .c_str(),
                  static_cast<long long>(m.epoch), m.train_loss, m.val_dice_wt, m.val_dice_tc, m.val_dice_et,
                  m.val_dice_l1, m.val_dice_l2, m.val_dice_l4, m.val_iou_wt, m.val_iou_tc, m.val_iou_et, hd95.c_str(),
                  m.val_loss, format_duration(m.seconds).c_str(), m.best ? tr(" (best)").c_str() : "");
    progress.message(line);
  };
  progress.message(trf("model: 3D U-Net base {}, depth {} ({} layout, {} parameters) on {}; run folder {}",
                       std::to_string(trainer.config().base), std::to_string(trainer.model().config().depth),
                       trainer.model().config().layout_name(), std::to_string(trainer.model().parameter_count()),
                       device_name(trainer.device()), trainer.config().out));
  const bool done = run_stoppable(trainer, g_brats_trainer);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_report(trainer.config().out, make_brats_run_report(trainer, secs));
  dist::world().barrier();  // the other ranks wait for the report (finish_other_rank)
  const std::string dir = trainer.config().out;
  const auto& st = trainer.state();
  progress.message(
      final_line(done, secs, tr("validation mean region Dice (WT+TC+ET)/3"), st.best_dsc, st.best_epoch, dir));
  return done ? 0 : 130;
}
}  // namespace

Runner add_train_command(CLI::App& app) {
  auto c = std::make_shared<TrainConfig>();
  auto resume = std::make_shared<std::string>();
  auto keep_empty = std::make_shared<bool>(false);
  auto no_augment = std::make_shared<bool>(false);
  auto deterministic = std::make_shared<bool>(true);
  auto tf32 = std::make_shared<bool>(true);
  CLI::App* sub = app.add_subcommand(
      "train",
      tr("Train the 2D U-Net on the Kaggle LGG layout (kaggle_3m/<case>/<case>_<n>.tif + _mask.tif), or the 3D\n"
         "U-Net on the BraTS layout (<case>/<case>_{flair,t1,t1ce,t2,seg}.nii[.gz]); the kind is read from the "
         "folder.\n"
         "2D defaults: Adam lr 1e-3 and BCE-with-logits from the spec; batch 16, 256x256, augmentation (scale 0.05,\n"
         "rotation 15, flip 0.5) and the reference preprocessing from mateuszbuda/brain-segmentation-pytorch.\n"
         "BraTS defaults (the 3D reference program): Adam lr 1e-4, batch 1, 10 epochs, seed 2024, softmax Dice loss,\n"
         "4 random 128^3 patches per case and epoch with more than 100 tumour voxels, random flips.\n"
         "Both: 80:20 patient split."));
  namespace ck = checks;
  sub->add_option("--data", c->data,
                  tr("kaggle_3m folder or the folder above it (with --resume: the same patients, possibly moved; "
                     "default: the run's own)"));
  sub->add_option("--out", c->out, tr("run folder (checkpoints, metrics.csv, report.html)"));
  sub->add_option("--resume", *resume, tr("continue the run in this folder from its last.safetensors"));
  sub->add_option("--epochs", c->epochs, tr("epochs (with --resume: the new total; default: the run's own)"))
      ->check(ck::at_least(1))
      ->capture_default_str();
  sub->add_option("--batch", c->batch, tr("batch size (reference: 16)"))->check(ck::at_least(1))->capture_default_str();
  sub->add_option("--lr", c->lr, tr("Adam learning rate (spec: 1e-3)"))->check(ck::positive())->capture_default_str();
  sub->add_option("--weight-decay", c->weight_decay, tr("Adam L2 weight decay"))
      ->check(ck::non_negative())
      ->capture_default_str();
  sub->add_option("--dataset", c->dataset, tr("auto (from the folder's files), kaggle or brats"))
      ->check(ck::one_of({"auto", "kaggle", "brats"}))
      ->capture_default_str();
  sub->add_option(
         "--loss", c->loss,
         tr("2D: bce (spec), dice (reference) or bce+dice; BraTS: dice (reference, softmax Dice), ce or dice+ce"))
      ->check(ck::one_of({"bce", "dice", "bce+dice", "ce", "dice+ce"}))
      ->capture_default_str();
  sub->add_option("--bce-weight", c->bce_weight, tr("weight of BCE in bce+dice"))
      ->check(ck::non_negative())
      ->capture_default_str();
  sub->add_option("--dice-weight", c->dice_weight, tr("weight of Dice in bce+dice"))
      ->check(ck::non_negative())
      ->capture_default_str();
  sub->add_option("--base", c->base,
                  tr("U-Net base width: 32 (reference, 7.76M; BraTS UNet3D 1.36M) or 64 (classic, 31.0M)"))
      ->check(ck::between(1, 256))
      ->capture_default_str();
  sub->add_option("--depth", c->depth, tr("poolings of the U-Net (0 = the model's own: 4 in 2D, 2 in BraTS)"))
      ->check(ck::between(0, 6))
      ->capture_default_str();
  sub->add_option("--patch", c->patch, tr("BraTS: training patch and sliding-window tile, patch^3 voxels"))
      ->check(ck::between(4, 512))
      ->capture_default_str();
  sub->add_option("--sample-num", c->sample_num, tr("BraTS: patches per case per epoch"))
      ->check(ck::at_least(1))
      ->capture_default_str();
  sub->add_option("--min-tumor-voxels", c->min_tumor_voxels, tr("BraTS: a patch holds more labelled voxels than this"))
      ->check(ck::at_least(0))
      ->capture_default_str();
  sub->add_option("--max-data", c->max_data, tr("BraTS: use only the first N cases (0 = all)"))
      ->check(ck::at_least(0))
      ->capture_default_str();
  sub->add_option("--overlap", c->overlap, tr("BraTS: overlap of the sliding-window tiles in validation"))
      ->check(ck::between(0, 1, true))
      ->capture_default_str();
  sub->add_option("--log-every", c->log_every, tr("BraTS: steps between loss and per-label Dice lines"))
      ->check(ck::at_least(1))
      ->capture_default_str();
  sub->add_option("--cache-gb", c->cache_gb,
                  tr("BraTS: hold the cases in memory up to this many GB, read the rest from disk when used (0 = half "
                     "of this machine's memory; a 240x240x155 case takes 150 MB)"))
      ->check(ck::non_negative())
      ->capture_default_str();
  sub->add_option("--size", c->size, tr("image size, a multiple of 16 (spec: 256)"))
      ->check(ck::image_size())
      ->capture_default_str();
  sub->add_option("--seed", c->seed, tr("seed for split, initialisation, order and augmentation"))
      ->capture_default_str();
  sub->add_option("--device", c->device, tr("auto, cpu or cuda"))
      ->check(ck::one_of({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  sub->add_option("--workers", c->workers, tr("loader threads"))->check(ck::between(1, 256))->capture_default_str();
  sub->add_option("--preprocess", c->preprocess, tr("reference (default) or simple; see README"))
      ->check(ck::one_of({"reference", "simple"}))
      ->capture_default_str();
  sub->add_option("--lr-schedule", c->lr_schedule, tr("none or plateau (ReduceLROnPlateau on validation DSC)"))
      ->check(ck::one_of({"none", "plateau"}))
      ->capture_default_str();
  sub->add_option("--plateau-patience", c->plateau_patience, tr("epochs without improvement before reducing"))
      ->check(ck::at_least(0))
      ->capture_default_str();
  sub->add_option("--plateau-factor", c->plateau_factor, tr("learning-rate factor on a plateau"))
      ->check(ck::strictly_between(0, 1))
      ->capture_default_str();
  sub->add_option("--val-fraction", c->val_fraction, tr("fraction of patients for validation"))
      ->check(ck::between(0, 1, true))
      ->capture_default_str();
  sub->add_option("--val-list", c->val_list, tr("file with the validation patients, one per line"))
      ->check(CLI::ExistingFile);
  sub->add_flag("--keep-empty", *keep_empty, tr("also train on slices without tumour (spec: they are dropped)"));
  sub->add_flag("--no-augment", *no_augment, tr("no augmentation"));
  sub->add_flag("--weighted-sampling", c->weighted_sampling, tr("reference's tumour-weighted slice sampling"));
  sub->add_flag("--largest-component", c->largest_component, tr("keep the largest 3D component before DSC per volume"));
  sub->add_flag("--strict", c->strict, tr("stop at the first unreadable data file instead of skipping it"));
  sub->add_flag("--sync-bn", c->sync_bn,
                tr("data-parallel (mpirun): BatchNorm statistics over the global batch instead of each process's "
                   "share"));
  sub->add_flag("!--no-data-cache", c->data_cache,
                tr("2D: load and preprocess the data set anew, without reading or writing the cache of preprocessed "
                   "volumes ($UNET_CACHE_DIR, else $XDG_CACHE_HOME/unet-engine or ~/.cache/unet-engine)"));
  sub->add_option("--max-steps-per-epoch", c->max_steps_per_epoch, tr("cap on steps per epoch (0 = all)"))
      ->check(ck::at_least(0))
      ->capture_default_str();
  // GPU numerics (base/gpu_math.hpp); they belong to the machine, so a resumed run may change them.
  sub->add_flag("--deterministic,!--no-deterministic", *deterministic,
                tr("GPU: prefer deterministic cuDNN algorithms (default on; --no-deterministic may be faster)"));
  sub->add_flag("--tf32,!--no-tf32", *tf32,
                tr("GPU: TF32 tensor-core math for convolutions and the 1x1 GEMM (default on)"));
  return [c, resume, keep_empty, no_augment, deterministic, tf32, sub]() {
    set_gpu_deterministic(*deterministic);
    set_gpu_allow_tf32(*tf32);
    c->drop_empty = !*keep_empty;
    c->augment = !*no_augment;
    const bool resuming = !resume->empty();
    if (resuming) {
      // A resumed run keeps its own configuration; only what belongs to the machine may change.
      for (const CLI::Option* opt : sub->get_options())
        if (opt->count() > 0 && !opt->check_name("--resume") && !opt->check_name("--epochs") &&
            !opt->check_name("--data") && !opt->check_name("--device") && !opt->check_name("--workers") &&
            !opt->check_name("--deterministic") && !opt->check_name("--tf32") && !opt->check_name("--cache-gb"))
          throw CLI::ValidationError(opt->get_name(),
                                     tr("cannot be changed when resuming a run (with --resume only --epochs, --data, "
                                        "--device, --workers and --cache-gb may be given)"));
      c->out = *resume;
      if (sub->count("--epochs") == 0) c->epochs = 0;  // keep the run's own
      if (sub->count("--data") == 0) c->data.clear();  // the run's own
    } else {
      if (c->data.empty()) throw CLI::RequiredError("--data");
      if (c->out.empty()) throw CLI::RequiredError("--out");
    }
    Progress progress;
    const auto t0 = std::chrono::steady_clock::now();
    const bool brats = resuming ? resumes_brats(c->out)
                                : (c->dataset == "auto" ? data::detect_dataset_kind(c->data) : c->dataset) == "brats";
    if (brats) {
      if (!resuming) apply_brats_defaults(*c, sub);
      return train_brats(*c, resuming, progress, t0);
    }
    if (!resuming) c->dataset = "kaggle";
    Trainer trainer(*c, resuming, [&](const std::string& l) { progress.message(l); });
    if (!dist::world().is_root()) return finish_other_rank(trainer, g_trainer);
    TensorBoardWriter tb(trainer.config().out);
    int64_t global_step = 0;
    trainer.on_step = [&](const StepInfo& s) {
      progress.step(s);
      global_step = log_step(tb, s);
    };
    trainer.on_epoch = [&](const EpochMetrics& m, const EvalResult&) {
      progress.epoch(m);
      log_epoch(tb, m, false, global_step);
    };
    progress.message(trf("model: U-Net base {} ({} layout, {} parameters) on {}; run folder {}",
                         std::to_string(trainer.config().base), trainer.model().config().layout_name(),
                         std::to_string(trainer.model().parameter_count()), device_name(trainer.device()),
                         trainer.config().out));
    const bool done = run_stoppable(trainer, g_trainer);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_report(trainer.config().out, make_run_report(trainer, secs));
    dist::world().barrier();  // the other ranks wait for the report (finish_other_rank)
    const std::string dir = trainer.config().out;
    const auto& st = trainer.state();
    progress.message(final_line(done, secs, tr("validation DSC per volume"), st.best_dsc, st.best_epoch, dir));
    return done ? 0 : 130;
  };
}

}  // namespace unet::tools
