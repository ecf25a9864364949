// `unet train`: trains the U-Net on a kaggle_3m folder.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "base/gpu_math.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"
#include "tools/progress.hpp"
#include "tools/report.hpp"
#include "train/trainer.hpp"

namespace unet::tools {

namespace {
std::atomic<Trainer*> g_trainer{nullptr};

void on_sigint(int) {
  // First Ctrl-C: finish the current step, save last.safetensors, exit cleanly.
  // Second Ctrl-C: the default action (immediate exit).
  if (Trainer* t = g_trainer.load()) t->request_stop();
  std::signal(SIGINT, SIG_DFL);
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
      "Train the U-Net on the Kaggle LGG layout (kaggle_3m/<case>/<case>_<n>.tif + _mask.tif).\n"
      "Defaults: Adam lr 1e-3 and BCE-with-logits from the spec; batch 16, 256x256, augmentation (scale 0.05,\n"
      "rotation 15, flip 0.5) and the reference preprocessing from mateuszbuda/brain-segmentation-pytorch;\n"
      "80:20 patient split.");
  namespace ck = checks;
  sub->add_option("--data", c->data,
                  "kaggle_3m folder or the folder above it (with --resume: the same patients, possibly moved; "
                  "default: the run's own)");
  sub->add_option("--out", c->out, "run folder (checkpoints, metrics.csv, report.html)");
  sub->add_option("--resume", *resume, "continue the run in this folder from its last.safetensors");
  sub->add_option("--epochs", c->epochs, "epochs (with --resume: the new total; default: the run's own)")
      ->check(ck::at_least(1))->capture_default_str();
  sub->add_option("--batch", c->batch, "batch size (reference: 16)")->check(ck::at_least(1))->capture_default_str();
  sub->add_option("--lr", c->lr, "Adam learning rate (spec: 1e-3)")->check(ck::positive())->capture_default_str();
  sub->add_option("--weight-decay", c->weight_decay, "Adam L2 weight decay")->check(ck::non_negative())->capture_default_str();
  sub->add_option("--loss", c->loss, "bce (spec), dice (reference) or bce+dice")
      ->check(ck::one_of({"bce", "dice", "bce+dice"}))->capture_default_str();
  sub->add_option("--bce-weight", c->bce_weight, "weight of BCE in bce+dice")->check(ck::non_negative())->capture_default_str();
  sub->add_option("--dice-weight", c->dice_weight, "weight of Dice in bce+dice")->check(ck::non_negative())->capture_default_str();
  sub->add_option("--base", c->base, "U-Net base width: 32 (reference, 7.76M) or 64 (classic, 31.0M)")
      ->check(ck::between(1, 256))->capture_default_str();
  sub->add_option("--size", c->size, "image size, a multiple of 16 (spec: 256)")->check(ck::image_size())->capture_default_str();
  sub->add_option("--seed", c->seed, "seed for split, initialisation, order and augmentation")->capture_default_str();
  sub->add_option("--device", c->device, "auto, cpu or cuda")->check(ck::one_of({"auto", "cpu", "cuda"}))->capture_default_str();
  sub->add_option("--workers", c->workers, "loader threads")->check(ck::between(1, 256))->capture_default_str();
  sub->add_option("--preprocess", c->preprocess, "reference (default) or simple; see README")
      ->check(ck::one_of({"reference", "simple"}))->capture_default_str();
  sub->add_option("--lr-schedule", c->lr_schedule, "none or plateau (ReduceLROnPlateau on validation DSC)")
      ->check(ck::one_of({"none", "plateau"}))->capture_default_str();
  sub->add_option("--plateau-patience", c->plateau_patience, "epochs without improvement before reducing")
      ->check(ck::at_least(0))->capture_default_str();
  sub->add_option("--plateau-factor", c->plateau_factor, "learning-rate factor on a plateau")
      ->check(ck::strictly_between(0, 1))->capture_default_str();
  sub->add_option("--val-fraction", c->val_fraction, "fraction of patients for validation")
      ->check(ck::between(0, 1, true))->capture_default_str();
  sub->add_option("--val-list", c->val_list, "file with the validation patients, one per line")->check(CLI::ExistingFile);
  sub->add_flag("--keep-empty", *keep_empty, "also train on slices without tumour (spec: they are dropped)");
  sub->add_flag("--no-augment", *no_augment, "no augmentation");
  sub->add_flag("--weighted-sampling", c->weighted_sampling, "reference's tumour-weighted slice sampling");
  sub->add_flag("--largest-component", c->largest_component, "keep the largest 3D component before DSC per volume");
  sub->add_flag("--strict", c->strict, "stop at the first unreadable data file instead of skipping it");
  sub->add_option("--max-steps-per-epoch", c->max_steps_per_epoch, "cap on steps per epoch (0 = all)")
      ->check(ck::at_least(0))->capture_default_str();
  // GPU numerics (base/gpu_math.hpp); they belong to the machine, so a resumed run may change them.
  sub->add_flag("--deterministic,!--no-deterministic", *deterministic,
                "GPU: prefer deterministic cuDNN algorithms (default on; --no-deterministic may be faster)");
  sub->add_flag("--tf32,!--no-tf32", *tf32, "GPU: TF32 tensor-core math for convolutions and the 1x1 GEMM (default on)");
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
            !opt->check_name("--deterministic") && !opt->check_name("--tf32"))
          throw CLI::ValidationError(opt->get_name(), "cannot be changed when resuming a run (with --resume only "
                                                      "--epochs, --data, --device and --workers may be given)");
      c->out = *resume;
      if (sub->count("--epochs") == 0) c->epochs = 0;  // keep the run's own
      if (sub->count("--data") == 0) c->data.clear();  // the run's own
    } else {
      if (c->data.empty()) throw CLI::RequiredError("--data");
      if (c->out.empty()) throw CLI::RequiredError("--out");
    }
    Progress progress;
    const auto t0 = std::chrono::steady_clock::now();
    Trainer trainer(*c, resuming, [&](const std::string& l) { progress.message(l); });
    trainer.on_step = [&](const StepInfo& s) { progress.step(s); };
    trainer.on_epoch = [&](const EpochMetrics& m, const EvalResult&) { progress.epoch(m); };
    progress.message("model: U-Net base " + std::to_string(trainer.config().base) + " (" +
                     trainer.model().config().layout_name() + " layout, " + std::to_string(trainer.model().parameter_count()) +
                     " parameters) on " + device_name(trainer.device()) + "; run folder " + trainer.config().out);
    g_trainer = &trainer;
    std::signal(SIGINT, on_sigint);
    bool done = false;
    try {
      done = trainer.run();
    } catch (...) {
      g_trainer = nullptr;
      std::signal(SIGINT, SIG_DFL);
      throw;
    }
    g_trainer = nullptr;
    std::signal(SIGINT, SIG_DFL);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    write_report(trainer.config().out, make_run_report(trainer, secs));
    const std::string dir = trainer.config().out;
    const auto& st = trainer.state();
    progress.message(std::string(done ? "done" : "stopped") + " in " + format_duration(secs) + ": " +
                     (st.best_epoch > 0 ? "best validation DSC per volume " + std::to_string(st.best_dsc) + " (epoch " +
                                              std::to_string(st.best_epoch) + "), " + dir + "/best.safetensors; "
                                        : std::string("no epoch completed yet; ")) +
                     dir + "/last.safetensors, " + dir + "/report.html");
    return done ? 0 : 130;
  };
}

}  // namespace unet::tools
