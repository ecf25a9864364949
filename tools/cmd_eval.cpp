// `unet eval`: DSC per volume of a 2D checkpoint on a kaggle_3m folder, as a table and a chart;
// a 3D (BraTS) checkpoint goes to run_brats_eval (cmd_eval_brats.cpp).
#include <cstdio>
#include <filesystem>
#include <set>

#include "data/kaggle_scan.hpp"
#include "data/split.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "tools/brats_commands.hpp"
#include "tools/commands.hpp"
#include "tools/inference_settings.hpp"
#include "tools/model_data_check.hpp"
#include "tools/option_checks.hpp"
#include "tools/report.hpp"
#include "train/metrics.hpp"
#include "train/checkpoint.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

Runner add_eval_command(CLI::App& app) {
  struct Options {
    std::string ckpt, data, out, device = "auto", patients, preprocess, dataset = "auto";
    int64_t batch = 16, size = 0, patch = 0;
    double overlap = -1.0;
    bool largest_component = false, strict = false;
    int workers = 2;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "eval",
      tr("2D checkpoint on a kaggle_3m folder: DSC per volume (table, mean, median, chart). 3D (BraTS) checkpoint on "
         "a\nBraTS folder: Dice per label (1, 2, 4) and region (WT, TC, ET) and HD95 per region in mm, for each case "
         "and\ntheir mean (table, per_case.csv, summary.json). The checkpoint says which model it holds."));
  sub->add_option("--ckpt,--checkpoint", o->ckpt,
                  tr("checkpoint (best.safetensors of a run, a file from `unet import`, or a PyTorch state_dict as "
                     "safetensors)"))
      ->required();
  sub->add_option("--data", o->data,
                  tr("kaggle_3m folder or the folder above it; or a BraTS folder (a root or one case)"))
      ->required();
  sub->add_option("--dataset", o->dataset, tr("auto (from the folder's files), kaggle or brats"))
      ->check(checks::one_of({"auto", "kaggle", "brats"}))
      ->capture_default_str();
  sub->add_option("--out", o->out,
                  tr("folder for dsc_per_volume.{csv,svg,png} (2D) or per_case.csv and summary.json (BraTS) (default: "
                     "eval/ beside the checkpoint)"));
  sub->add_option("--patients", o->patients,
                  tr("only these patients or cases (file, one id per line; e.g. a run's validation_patients.txt)"))
      ->check(CLI::ExistingFile);
  sub->add_option("--device", o->device, tr("auto, cpu or cuda"))->check(checks::one_of({"auto", "cpu", "cuda"}))->capture_default_str();
  sub->add_option("--batch", o->batch, tr("slices per forward pass"))->check(checks::at_least(1))->capture_default_str();
  sub->add_option("--preprocess", o->preprocess,
                  tr("override the checkpoint's preprocessing, reference or simple (for a model not trained here the "
                     "default is reference, as the reference program)"))
      ->check(checks::one_of({"reference", "simple"}));
  sub->add_option("--size", o->size, tr("override the checkpoint's image size (for a model not trained here: 256)"))
      ->check(checks::image_size());
  sub->add_flag("--largest-component", o->largest_component, tr("keep the largest 3D component per volume first"));
  sub->add_option("--patch", o->patch, tr("BraTS: sliding-window tile, patch^3 voxels (default: the checkpoint's)"))
      ->check(checks::between(4, 512));
  sub->add_option("--overlap", o->overlap, tr("BraTS: overlap of the sliding-window tiles (default: the checkpoint's)"))
      ->check(checks::between(0, 1, true));
  sub->add_flag("--strict", o->strict, tr("stop at the first unreadable file (BraTS: or case without labels)"));
  sub->add_option("--workers", o->workers, tr("decoding threads"))->check(checks::at_least(1))->capture_default_str();
  return [o, sub]() {
    const Device device = resolve_device(o->device);
    LoadedModel lm = load_model_checkpoint(o->ckpt, device);
    check_model_fits_data(lm.model->config(), o->ckpt, input_data_kind(o->data, o->dataset), "--data", o->data);
    if (lm.model->config().rank() == 3) {
      for (const char* flag : {"--batch", "--preprocess", "--size", "--largest-component"})
        if (sub->count(flag) > 0)
          throw CLI::ValidationError(flag, trf("applies to 2D models only; {} holds the 3D U-Net", o->ckpt));
      BratsEvalRequest q{o->ckpt, o->data, o->out, o->patients, brats_inference_options(lm, o->patch, o->overlap),
                         o->strict};
      return run_brats_eval(lm, q);
    }
    for (const char* flag : {"--patch", "--overlap"})
      if (sub->count(flag) > 0)
        throw CLI::ValidationError(flag, trf("applies to BraTS (3D) models only; {} holds a 2D U-Net", o->ckpt));
    const TrainConfig& tc = lm.train_config;
    const InferenceSettings settings = inference_settings(lm, o->ckpt, o->preprocess, o->size);
    data::LoadConfig load_config;
    load_config.size = settings.size;
    load_config.mode = data::parse_preprocess(settings.preprocess);
    load_config.strict = o->strict;
    load_config.threads = o->workers;
    data::ScanResult scan = data::scan_kaggle(o->data);
    for (const auto& w : scan.warnings) std::printf(tr("warning: %s\n").c_str(), w.c_str());
    if (!o->patients.empty()) {
      const auto listed = data::read_id_list(o->patients);
      const std::set<std::string> keep(listed.begin(), listed.end());
      std::vector<data::PatientFiles> selected;
      for (auto& p : scan.patients)
        if (keep.count(p.id)) selected.push_back(p);
      UNET_CHECK(!selected.empty(), o->patients, trf("none of the listed patients is in {}", o->data));
      scan.patients = selected;
    }
    data::LoadReport rep;
    const auto volumes = data::load_dataset(scan, load_config, rep);
    for (const auto& p : rep.problems) std::printf(tr("warning: %s\n").c_str(), p.c_str());
    std::vector<size_t> all(volumes.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    LossConfig loss_config;
    loss_config.kind = LossConfig::parse(tc.loss);
    EvalConfig eval_config;
    eval_config.batch = o->batch;
    eval_config.largest_component = o->largest_component || tc.largest_component;
    const EvalResult r = evaluate(*lm.model, volumes, all, loss_config, eval_config);
    std::printf("%s %s %s %8s %8s\n", pad_columns(tr("volume"), 32).c_str(), pad_columns(tr("slices"), 7, true).c_str(),
                pad_columns(tr("tumour"), 8, true).c_str(), "DSC", "IoU");
    std::vector<std::string> names;
    std::vector<double> dsc, iou;
    for (size_t i = 0; i < volumes.size(); ++i) {
      int64_t positive = 0;
      for (int64_t d = 0; d < volumes[i].depth(); ++d) positive += volumes[i].mask_area(d) > 0;
      std::printf("%-32s %7lld %8lld %8.4f %8.4f\n", volumes[i].patient.c_str(),
                  static_cast<long long>(volumes[i].depth()), static_cast<long long>(positive), r.volumes[i].dsc,
                  r.volumes[i].iou);
      names.push_back(volumes[i].patient);
      dsc.push_back(r.volumes[i].dsc);
      iou.push_back(r.volumes[i].iou);
    }
    std::printf(
        tr("DSC per volume over %zu volumes: mean %.4f, median %.4f (Dice per slice %.4f, loss %.4f)\n").c_str(),
        dsc.size(), mean_of(dsc), median_of(dsc), r.dice_per_slice, r.loss);
    std::printf(tr("IoU per volume: mean %.4f (IoU per slice %.4f)\n").c_str(), r.iou_per_volume, r.iou_per_slice);
    const std::string out = o->out.empty() ? (fs::path(o->ckpt).parent_path() / "eval").string() : o->out;
    std::error_code ec;
    fs::create_directories(out, ec);
    UNET_CHECK(!ec, out, trf("cannot create the output folder: {}", ec.message()));
    write_dsc_chart(out, names, dsc, iou);
    std::printf(tr("wrote %s/dsc_per_volume.csv, .svg and .png\n").c_str(), out.c_str());
    return 0;
  };
}

}  // namespace unet::tools
