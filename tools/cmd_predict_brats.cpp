// `unet predict` for a BraTS model: every case of a case folder or a BraTS root gets its label
// volume (NIfTI with the flair file's header) and pictures in three planes.
#include <cstdio>
#include <filesystem>
#include <map>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/brats_labels.hpp"
#include "data/brats_scan.hpp"
#include "data/brats_volume.hpp"
#include "tools/brats_commands.hpp"
#include "tools/brats_visuals.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

namespace {

fs::path prediction_path(const std::string& out, const std::string& id) { return fs::path(out) / (id + "_pred.nii.gz"); }

// Two cases with one id (in two folders of the root) would write the same files: refuse before
// any work, naming both folders.
void check_outputs_distinct(const std::string& out, const data::BratsScan& scan) {
  std::map<std::string, std::string> folder_of;
  for (const auto& c : scan.cases) {
    const auto [it, fresh] = folder_of.emplace(c.id, c.folder);
    UNET_CHECK(
        fresh, c.folder,
        trf("has the same case name as {} (both would be written as {}); rename one of them or predict them separately",
            it->second, prediction_path(out, c.id).string()));
  }
}

// The case with its labels, or without them when only the seg file is unusable (the prediction
// does not need it; the warning says why there is no ground truth).
data::BratsCase load_case(const data::BratsCaseFiles& files) {
  try {
    return data::load_brats_case(files);
  } catch (const Error& e) {
    if (!files.has_labels()) throw;
    data::BratsCaseFiles without_seg = files;
    without_seg.seg.clear();
    data::BratsCase c = data::load_brats_case(without_seg);  // throws when the images are bad too
    std::printf(tr("warning: %s: ground truth ignored: %s\n").c_str(), files.id.c_str(), e.what());
    return c;
  }
}

}  // namespace

int run_brats_predict(LoadedModel& loaded, const BratsPredictRequest& q) {
  UNet& model = *loaded.model;
  UNET_CHECK(model.config().out_channels == data::kBratsClasses, q.ckpt,
             trf("the 3D model gives {} output channels; BraTS prediction needs 4 (background and labels 1, 2, 4)",
                 std::to_string(model.config().out_channels)));
  UNET_CHECK(!fs::is_regular_file(q.input), q.input,
             tr("is one file; a BraTS case is a folder holding its four modalities (flair, t1, t1ce, t2) and maybe its "
                "seg; give that folder, or the folder holding the case folders"));
  const data::BratsScan scan = data::scan_brats(q.input);
  for (const auto& w : scan.warnings) std::printf(tr("warning: %s\n").c_str(), w.c_str());
  check_outputs_distinct(q.out, scan);
  std::error_code ec;
  fs::create_directories(q.out, ec);
  UNET_CHECK(!ec, q.out, trf("cannot create the output folder: {}", ec.message()));
  std::printf(tr("sliding window: %lld^3 tiles, overlap %.2f; %zu cases\n").c_str(),
              static_cast<long long>(q.inference.patch), q.inference.overlap, scan.cases.size());
  int64_t written = 0, failed = 0;
  for (const data::BratsCaseFiles& files : scan.cases) {
    data::BratsCase c;
    try {
      c = load_case(files);
    } catch (const Error& e) {
      if (q.strict) throw;
      std::printf(tr("warning: skipped case %s: %s\n").c_str(), files.id.c_str(), e.what());
      ++failed;
      continue;
    }
    const std::vector<uint8_t> pred = predict_case_classes(model, c, q.inference);
    data::write_brats_labels(prediction_path(q.out, c.id).string(), c.reference, pred);
    const std::vector<uint8_t> grey = brats_grey_volume(c.image.data(), c.dims);  // flair, the first channel
    const auto centre = brats_tumour_centre(pred, c.dims);
    for (BratsPlane plane : kBratsPlanes)
      brats_plane_picture(grey, c.has_labels ? c.classes.data() : nullptr, pred.data(), c.dims, plane, centre)
          .save_png((fs::path(q.out) / (c.id + "_" + brats_plane_name(plane) + ".png")).string());
    int64_t tumour = 0;
    for (uint8_t v : pred) tumour += v != 0;
    std::printf(tr("%-28s %lldx%lldx%lld  predicted tumour %lld voxels").c_str(), c.id.c_str(),
                static_cast<long long>(c.dims[0]), static_cast<long long>(c.dims[1]), static_cast<long long>(c.dims[2]),
                static_cast<long long>(tumour));
    if (c.has_labels) {
      const VoxelGrid grid{c.dims[0], c.dims[1], c.dims[2], c.spacing[0], c.spacing[1], c.spacing[2]};
      const BratsCaseMetrics m = brats_case_metrics(pred, c.classes, grid);
      std::printf("  Dice WT %.4f TC %.4f ET %.4f", m.dice_wt, m.dice_tc, m.dice_et);
    }
    std::printf("\n");
    ++written;
  }
  std::printf(tr("unet predict: %lld cases -> %s (<case>_pred.nii.gz with labels 0, 1, 2, 4; <case>_axial.png, "
                 "_coronal.png, _sagittal.png: image | ground truth | prediction, or image | prediction without seg; "
                 "red label 1, green 2, yellow 4)%s\n")
                  .c_str(),
              static_cast<long long>(written), q.out.c_str(),
              failed ? trf(", {} skipped", failed).c_str() : "");
  return written > 0 ? 0 : 1;
}

}  // namespace unet::tools
