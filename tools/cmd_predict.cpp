// `unet predict`: masks, overlays and triptychs for an image or a folder of images (2D); a 3D
// (BraTS) checkpoint goes to run_brats_predict (cmd_predict_brats.cpp).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "data/kaggle_scan.hpp"
#include "data/dicom_series.hpp"
#include "data/tiff_io.hpp"
#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "tools/brats_commands.hpp"
#include "tools/commands.hpp"
#include "tools/inference_settings.hpp"
#include "tools/mask_gif.hpp"
#include "tools/dicom_predict.hpp"
#include "tools/model_data_check.hpp"
#include "tools/option_checks.hpp"
#include "tools/slice_prediction.hpp"
#include "tools/visuals.hpp"
#include "unet/inference_memory.hpp"
#include "train/metrics.hpp"
#include "train/checkpoint.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

namespace {

// *_mask.tif files are ground truth, not inputs (numbered or not).
bool is_mask_name(const fs::path& p) {
  int number = 0;
  bool is_mask = false;
  data::parse_slice_name(p.stem().string(), number, is_mask);
  return is_mask;
}

// Images of one volume: the same folder and the same <case> prefix with numbered slices.
struct Group {
  std::string name;      // the volume as printed: its folder relative to --input, and its prefix
  fs::path subfolder;    // its folder relative to --input; outputs go to the same place under --out
  std::vector<std::pair<int, fs::path>> slices;
};

std::vector<Group> group_inputs(const fs::path& input) {
  std::vector<fs::path> files;
  const bool one_file = fs::is_regular_file(input);
  if (one_file) {
    files.push_back(input);
  } else {
    UNET_CHECK(fs::is_directory(input), input.string(), tr("--input is neither a file nor a folder"));
    for (const auto& e : fs::recursive_directory_iterator(input))
      if (e.is_regular_file() && data::is_tiff_path(e.path().string()) && !is_mask_name(e.path())) files.push_back(e.path());
  }
  UNET_CHECK(!files.empty(), input.string(), tr("no TIFF images found"));
  std::sort(files.begin(), files.end());
  std::map<std::string, Group> groups;
  for (const auto& f : files) {
    const std::string stem = f.stem().string();
    int number = 0;
    bool is_mask = false;
    const bool numbered = data::parse_slice_name(stem, number, is_mask);
    const std::string prefix = numbered ? stem.substr(0, stem.find_last_of('_')) : stem;
    Group& g = groups[numbered ? (f.parent_path() / prefix).string() : f.string()];
    g.subfolder = one_file ? fs::path() : fs::relative(f.parent_path(), input);
    if (g.subfolder == ".") g.subfolder.clear();
    g.name = (g.subfolder / prefix).string();
    g.slices.emplace_back(numbered ? number : 0, f);
  }
  std::vector<Group> out;
  for (auto& [k, g] : groups) {
    std::sort(g.slices.begin(), g.slices.end());
    out.push_back(std::move(g));
  }
  return out;
}

// Where the outputs of an input image go: --out, the image's folder relative to --input,
// and its file name without the extension (suffixes are added per output).
fs::path output_stem(const fs::path& out, const Group& g, const fs::path& image) {
  return out / g.subfolder / image.stem();
}

// Two inputs must never write the same output file (a/x.tif and a/x.tiff would): refuse
// before any work, naming both.
void check_outputs_distinct(const fs::path& out, const std::vector<Group>& groups) {
  std::map<fs::path, fs::path> written_by;
  for (const Group& g : groups)
    for (const auto& [n, image] : g.slices) {
      const auto [it, fresh] = written_by.emplace(output_stem(out, g, image), image);
      UNET_CHECK(fresh, image.string(),
                 trf("has the same output name as {} (both would be written as {}_pred_mask.tif); rename one of them "
                     "or predict them separately",
                     it->second.string(), it->first.string()));
    }
}

}  // namespace

Runner add_predict_command(CLI::App& app) {
  struct Options {
    std::string ckpt, input, out, device = "auto", preprocess, dataset = "auto", id;
    float threshold = 0.5f;
    int64_t batch = 16, size = 0, patch = 0;
    double overlap = -1.0;
    bool strict = false, gif = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "predict",
      tr("2D checkpoint: tumour masks for a TIFF image or a folder of them. 3D (BraTS) checkpoint: label volumes\n"
         "<case>_pred.nii.gz (labels 0, 1, 2, 4; the flair file's affine and header) and pictures <case>_{axial,\n"
         "coronal,sagittal}.png through the predicted tumour's centre (flair in grey; label 1 necrotic core red, 2\n"
         "edema green, 4 enhancing tumour yellow; image | ground truth | prediction when the case has a seg file)\n"
         "for one case folder or a BraTS root. The checkpoint says which model it holds."));
  sub->add_option("--ckpt,--checkpoint", o->ckpt,
                  tr("checkpoint (best.safetensors of a run, a file from `unet import`, or a PyTorch state_dict as "
                     "safetensors)"))
      ->required();
  sub->add_option("--input", o->input,
                  tr("2D: a TIFF image or a folder (searched recursively; *_mask.tif are ground truth), or a folder of "
                     "DICOM files (each series -> OUT/<id>/<id>_pred.nii.gz and per-slice overlays); BraTS: one case "
                     "folder or a BraTS root (seg files are ground truth)"))
      ->required();
  sub->add_option("--dataset", o->dataset, tr("auto (from the input's files), kaggle or brats"))
      ->check(checks::one_of({"auto", "kaggle", "brats"}))
      ->capture_default_str();
  sub->add_option("--patch", o->patch, tr("BraTS: sliding-window tile, patch^3 voxels (default: the checkpoint's)"))
      ->check(checks::between(4, 512));
  sub->add_option("--overlap", o->overlap, tr("BraTS: overlap of the sliding-window tiles (default: the checkpoint's)"))
      ->check(checks::between(0, 1, true));
  sub->add_flag("--strict", o->strict,
                tr("BraTS and DICOM: stop at the first unreadable case, file or series instead of skipping it"));
  sub->add_flag("--gif", o->gif,
                tr("2D: also an animated GIF per volume (OUT/<volume>.gif, or OUT/<id>/<id>.gif for a DICOM series): "
                   "each slice in grey with the predicted tumour in red"));
  sub->add_option("--id", o->id,
                  tr("DICOM: the name of the outputs when --input holds one series (default: series_<hash of its UID>; "
                     "nothing that identifies the patient is ever used)"));
  sub->add_option("--out", o->out,
                  tr("output folder; a folder --input is mirrored in it (a/x.tif -> OUT/a/x_pred_mask.tif), so no "
                     "output is written twice"))
      ->required();
  sub->add_option("--threshold", o->threshold, tr("probability threshold"))
      ->check(checks::between(0.001, 0.999))
      ->capture_default_str();
  sub->add_option("--device", o->device, tr("auto, cpu or cuda"))->check(checks::one_of({"auto", "cpu", "cuda"}))->capture_default_str();
  sub->add_option("--batch", o->batch, tr("slices per forward pass"))->check(checks::at_least(1))->capture_default_str();
  sub->add_option("--preprocess", o->preprocess,
                  tr("reference or simple (default: the checkpoint's; for a model not trained here: reference, as the "
                     "reference program)"))
      ->check(checks::one_of({"reference", "simple"}));
  sub->add_option("--size", o->size, tr("image size (default: the checkpoint's; for a model not trained here: 256)"))
      ->check(checks::image_size());
  return [o, sub]() {
    const Device device = resolve_device(o->device);
    LoadedModel lm = load_model_checkpoint(o->ckpt, device);
    // A DICOM series folder: neither TIFF nor NIfTI files, and files with the DICOM signature.
    const bool dicom_input = o->dataset == "auto" && fs::is_directory(o->input) &&
                             input_data_kind(o->input, o->dataset).empty() && data::folder_has_dicom(o->input);
    if (dicom_input && lm.model->config().rank() == 3)
      throw CLI::ValidationError("--input", trf("{} holds DICOM files; DICOM series are predicted with 2D models only "
                                                "(the 3D model needs the four BraTS modalities as NIfTI)",
                                                o->input));
    check_model_fits_data(lm.model->config(), o->ckpt, input_data_kind(o->input, o->dataset), "--input", o->input);
    if (lm.model->config().rank() == 3) {
      for (const char* flag : {"--threshold", "--batch", "--preprocess", "--size", "--gif"})
        if (sub->count(flag) > 0)
          throw CLI::ValidationError(flag, trf("applies to 2D models only; {} holds the 3D U-Net", o->ckpt));
      const BratsPredictRequest q{o->ckpt, o->input, o->out, brats_inference_options(lm, o->patch, o->overlap), o->strict};
      return run_brats_predict(lm, q);
    }
    for (const char* flag : {"--patch", "--overlap"})
      if (sub->count(flag) > 0)
        throw CLI::ValidationError(flag, trf("applies to BraTS (3D) models only; {} holds a 2D U-Net", o->ckpt));
    UNet& model = *lm.model;
    model.train(false);
    const InferenceSettings settings = inference_settings(lm, o->ckpt, o->preprocess, o->size);
    const data::Preprocess mode = data::parse_preprocess(settings.preprocess);
    if (dicom_input) {
      const SlicePredictionSettings ps{mode, settings.size, o->batch, o->threshold, device};
      return run_dicom_predict(model, DicomPredictRequest{o->input, o->out, o->id, o->strict, o->gif}, ps);
    }
    for (const char* flag : {"--strict", "--id"})
      if (sub->count(flag) > 0)
        throw CLI::ValidationError(
            flag, trf("applies to BraTS (3D) models and DICOM series only; {} holds TIFF images", o->input));
    std::error_code ec;
    fs::create_directories(o->out, ec);
    UNET_CHECK(!ec, o->out, trf("cannot create the output folder: {}", ec.message()));
    int64_t written = 0, failed = 0, with_truth = 0;
    std::vector<double> dscs;
    const std::vector<Group> groups = group_inputs(o->input);
    check_outputs_distinct(o->out, groups);
    for (const Group& g : groups) {
      std::vector<data::Image> images;
      std::vector<std::vector<uint8_t>> truths;
      std::vector<bool> has_truth;
      std::vector<fs::path> paths;
      std::vector<int> numbers;
      for (const auto& [n, path] : g.slices) {
        try {
          data::Image im = data::read_tiff(path.string());
          UNET_CHECK(im.channels == 1 || im.channels == 3, path.string(), tr("expected 1 or 3 channels"));
          if (!images.empty())
            UNET_CHECK(im.height == images[0].height && im.width == images[0].width, path.string(),
                       trf("size differs from the other slices of {}", g.name));
          const fs::path mpath = path.parent_path() / (path.stem().string() + "_mask" + path.extension().string());
          std::vector<uint8_t> truth(static_cast<size_t>(im.height * im.width), 0);
          bool ok = false;
          if (fs::exists(mpath)) {
            try {
              const data::Image m = data::read_tiff(mpath.string());
              UNET_CHECK(m.height == im.height && m.width == im.width, mpath.string(),
                         tr("mask size differs from its image"));
              truth = data::mask_to_binary(m, mpath.string());
              ok = true;
            } catch (const Error& e) {
              std::printf(tr("warning: ground truth ignored: %s\n").c_str(), e.what());
            }
          }
          images.push_back(std::move(im));
          truths.push_back(std::move(truth));
          has_truth.push_back(ok);
          paths.push_back(path);
          numbers.push_back(n);
        } catch (const Error& e) {
          std::printf(tr("warning: skipped: %s\n").c_str(), e.what());
          ++failed;
        }
      }
      if (images.empty()) continue;
      const SlicePredictionSettings ps{mode, settings.size, o->batch, o->threshold, device};
      const std::vector<std::vector<uint8_t>> preds = predict_slice_masks(model, g.name, numbers, images, truths, ps);
      float vmax = 1.0f;
      for (const auto& im : images)
        for (uint16_t p : im.pixels) vmax = std::max(vmax, static_cast<float>(p));
      std::vector<uint8_t> volume_pred, volume_truth;
      std::vector<std::vector<uint8_t>> gif_grey;  // [slices] of h x w, for --gif
      bool volume_has_truth = true;
      for (size_t k = 0; k < images.size(); ++k) {
        const std::vector<uint8_t>& pred = preds[k];
        const int64_t h = images[k].height, w = images[k].width;
        const fs::path stem_path = output_stem(o->out, g, paths[k]);
        fs::create_directories(stem_path.parent_path(), ec);
        UNET_CHECK(!ec, stem_path.parent_path().string(), trf("cannot create the output folder: {}", ec.message()));
        const std::string stem = stem_path.string();
        data::Image8 mask_out{h, w, 1, std::vector<uint8_t>(pred.size())};
        for (size_t i = 0; i < pred.size(); ++i) mask_out.pixels[i] = pred[i] ? 255 : 0;
        data::write_tiff(stem + "_pred_mask.tif", mask_out);
        const auto rgb = display_rgb(images[k], vmax);
        const uint8_t* truth = has_truth[k] ? truths[k].data() : nullptr;
        overlay(rgb, static_cast<int>(h), static_cast<int>(w), truth, pred.data()).save_png(stem + "_overlay.png");
        triptych(rgb, static_cast<int>(h), static_cast<int>(w), truth, pred.data()).save_png(stem + "_triptych.png");
        if (o->gif) gif_grey.push_back(grey_of_rgb(rgb));
        volume_has_truth = volume_has_truth && has_truth[k];
        volume_pred.insert(volume_pred.end(), pred.begin(), pred.end());
        volume_truth.insert(volume_truth.end(), truths[k].begin(), truths[k].end());
        ++written;
      }
      if (o->gif)
        write_mask_gif((fs::path(o->out) / (g.name + ".gif")).string(), static_cast<int>(images[0].height),
                       static_cast<int>(images[0].width), gif_grey, preds);
      if (volume_has_truth) {
        dscs.push_back(dice_volume(volume_pred, volume_truth));
        with_truth += static_cast<int64_t>(images.size());
        std::printf(tr("%-32s %4zu slices  DSC %.4f\n").c_str(), g.name.c_str(), images.size(), dscs.back());
      }
    }
    std::printf(tr("unet predict: %lld images -> %s (*_pred_mask.tif, *_overlay.png, *_triptych.png)%s\n").c_str(),
                static_cast<long long>(written), o->out.c_str(),
                failed ? trf(", {} skipped", failed).c_str() : "");
    if (!dscs.empty())
      std::printf(tr("ground truth found for %lld images: DSC per volume mean %.4f, median %.4f\n").c_str(),
                  static_cast<long long>(with_truth), mean_of(dscs), median_of(dscs));
    return written > 0 ? 0 : 1;
  };
}

}  // namespace unet::tools
