// `unet eval` for a BraTS model: sliding-window inference over whole cases, Dice per label and
// region and HD95 per region for each case and their mean; a table, per_case.csv, summary.json.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.hpp"
#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "data/brats_labels.hpp"
#include "data/brats_scan.hpp"
#include "data/brats_volume.hpp"
#include "data/split.hpp"
#include "tools/brats_commands.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

namespace {

// "%.4f", or "nan" (HD95 of a region present in only one of prediction and truth).
std::string number(double v, const char* format = "%.4f") {
  if (std::isnan(v)) return "nan";
  char b[32];
  std::snprintf(b, sizeof b, format, v);
  return b;
}

nlohmann::json mean_json(const MeanOverCases& m) {
  nlohmann::json j;
  j["mean"] = m.count > 0 && std::isfinite(m.mean) ? nlohmann::json(m.mean) : nlohmann::json(nullptr);
  j["cases"] = m.count;
  return j;
}

void print_row(const std::string& name, const BratsCaseMetrics& m) {
  std::printf("%-28s %6s %6s %6s  %6s %6s %6s  %6s %6s %6s  %8s %8s %8s\n", name.c_str(),
              number(m.dice_label1).c_str(), number(m.dice_label2).c_str(), number(m.dice_label4).c_str(),
              number(m.dice_wt).c_str(), number(m.dice_tc).c_str(), number(m.dice_et).c_str(), number(m.iou_wt).c_str(),
              number(m.iou_tc).c_str(), number(m.iou_et).c_str(), number(m.hd95_wt, "%.2f").c_str(),
              number(m.hd95_tc, "%.2f").c_str(), number(m.hd95_et, "%.2f").c_str());
}

}  // namespace

int run_brats_eval(LoadedModel& loaded, const BratsEvalRequest& q) {
  UNet& model = *loaded.model;
  UNET_CHECK(model.config().out_channels == data::kBratsClasses, q.ckpt,
             trf("the 3D model gives {} output channels; BraTS evaluation needs 4 (background and labels 1, 2, 4)",
                 std::to_string(model.config().out_channels)));
  UNET_CHECK(!fs::is_regular_file(q.data), q.data,
             tr("is one file; a BraTS case is a folder holding its four modalities (flair, t1, t1ce, t2) and maybe its "
                "seg; give that folder, or the folder holding the case folders"));
  data::BratsScan scan = data::scan_brats(q.data);
  for (const auto& w : scan.warnings) std::printf(tr("warning: %s\n").c_str(), w.c_str());
  if (!q.patients.empty()) {
    const auto listed = data::read_id_list(q.patients);
    const std::set<std::string> keep(listed.begin(), listed.end());
    std::vector<data::BratsCaseFiles> selected;
    for (auto& c : scan.cases)
      if (keep.count(c.id)) selected.push_back(c);
    UNET_CHECK(!selected.empty(), q.patients, trf("none of the listed cases is in {}", q.data));
    scan.cases = selected;
  }
  const std::string out = q.out.empty() ? (fs::path(q.ckpt).parent_path() / "eval").string() : q.out;
  std::error_code ec;
  fs::create_directories(out, ec);
  UNET_CHECK(!ec, out, trf("cannot create the output folder: {}", ec.message()));

  const TrainConfig& tc = loaded.train_config;
  MulticlassLossConfig loss;
  loss.kind = MulticlassLossConfig::parse(loaded.has_train_config && tc.is_brats() ? tc.loss : TrainConfig::brats_defaults().loss);
  std::printf(tr("sliding window: %lld^3 tiles, overlap %.2f; %zu cases\n").c_str(),
              static_cast<long long>(q.inference.patch), q.inference.overlap, scan.cases.size());
  std::fputs(tr("Dice of each label (L1 necrotic core, L2 edema, L4 enhancing tumour) and region (WT whole tumour, TC "
                "tumour core, ET enhancing tumour), IoU (Jaccard) of each region; HD95 in mm (nan: the region is empty "
                "in only one of prediction and truth)\n")
                 .c_str(),
             stdout);
  std::printf("%s %6s %6s %6s  %6s %6s %6s  %6s %6s %6s  %8s %8s %8s\n", pad_columns(tr("case"), 28).c_str(), "L1", "L2", "L4", "WT", "TC", "ET",
              "IoU WT", "IoU TC", "IoU ET", "HD95 WT", "HD95 TC", "HD95 ET");
  std::vector<BratsCaseResult> rows;
  nlohmann::json skipped = nlohmann::json::array();
  auto skip = [&](const data::BratsCaseFiles& files, const std::string& why) {
    if (q.strict) UNET_THROW(files.folder, trf("{} (without --strict such a case is skipped)", why));
    std::printf(tr("warning: skipped case %s: %s\n").c_str(), files.id.c_str(), why.c_str());
    skipped.push_back({{"case", files.id}, {"reason", why}});
  };
  for (const data::BratsCaseFiles& files : scan.cases) {
    if (!files.has_labels()) {
      skip(files, trf("has no segmentation file ({}_seg.nii[.gz]); eval needs the labels (unet predict works without "
                      "them)",
                      files.id));
      continue;
    }
    std::vector<data::BratsCase> one;
    try {
      one.push_back(data::load_brats_case(files));
    } catch (const Error& e) {
      skip(files, e.what());
      continue;
    }
    BratsEvalResult r = evaluate_brats(model, one, {0}, loss, q.inference);
    print_row(r.cases[0].id, r.cases[0].metrics);
    rows.push_back(std::move(r.cases[0]));
  }
  UNET_CHECK(
      !rows.empty(), q.data,
      trf("has no case that could be evaluated ({} skipped; see the warnings above)", std::to_string(skipped.size())));

  std::vector<BratsCaseMetrics> metrics;
  double loss_sum = 0.0;
  for (const auto& r : rows) metrics.push_back(r.metrics), loss_sum += r.loss;
  const BratsMeanMetrics mean = brats_mean_metrics(metrics);
  BratsCaseMetrics mean_row;
  mean_row.dice_label1 = mean.dice_label1.mean, mean_row.dice_label2 = mean.dice_label2.mean;
  mean_row.dice_label4 = mean.dice_label4.mean, mean_row.dice_wt = mean.dice_wt.mean;
  mean_row.dice_tc = mean.dice_tc.mean, mean_row.dice_et = mean.dice_et.mean;
  mean_row.iou_wt = mean.iou_wt.mean, mean_row.iou_tc = mean.iou_tc.mean, mean_row.iou_et = mean.iou_et.mean;
  mean_row.hd95_wt = mean.hd95_wt.count ? mean.hd95_wt.mean : std::nan("");
  mean_row.hd95_tc = mean.hd95_tc.count ? mean.hd95_tc.mean : std::nan("");
  mean_row.hd95_et = mean.hd95_et.count ? mean.hd95_et.mean : std::nan("");
  print_row("mean (" + std::to_string(rows.size()) + " cases)", mean_row);
  const double region_dice = (mean.dice_wt.mean + mean.dice_tc.mean + mean.dice_et.mean) / 3.0;
  std::printf(tr("mean region Dice (WT+TC+ET)/3 %.4f over %zu cases; HD95 means leave out nan (WT %lld, TC %lld, ET "
                 "%lld cases used)%s\n")
                  .c_str(),
              region_dice, rows.size(), static_cast<long long>(mean.hd95_wt.count),
              static_cast<long long>(mean.hd95_tc.count), static_cast<long long>(mean.hd95_et.count),
              skipped.empty() ? "" : trf(", {} cases skipped", skipped.size()).c_str());

  std::string csv =
      "case,dice_label1,dice_label2,dice_label4,dice_wt,dice_tc,dice_et,hd95_wt_mm,hd95_tc_mm,hd95_et_mm,loss,iou_wt,"
      "iou_tc,iou_et\n";
  for (const auto& r : rows) {
    const BratsCaseMetrics& m = r.metrics;
    csv += r.id;
    for (double v : {m.dice_label1, m.dice_label2, m.dice_label4, m.dice_wt, m.dice_tc, m.dice_et, m.hd95_wt, m.hd95_tc,
                     m.hd95_et, r.loss, m.iou_wt, m.iou_tc, m.iou_et})
      csv += "," + number(v, "%.6f");
    csv += "\n";
  }
  write_file_atomic((fs::path(out) / "per_case.csv").string(), csv);
  nlohmann::json s;
  s["checkpoint"] = q.ckpt;
  s["data"] = q.data;
  s["patch"] = q.inference.patch;
  s["overlap"] = q.inference.overlap;
  s["cases_evaluated"] = rows.size();
  s["cases_skipped"] = skipped;
  s["hd95_unit"] = "mm";
  s["mean"] = {{"dice_label1", mean_json(mean.dice_label1)}, {"dice_label2", mean_json(mean.dice_label2)},
               {"dice_label4", mean_json(mean.dice_label4)}, {"dice_wt", mean_json(mean.dice_wt)},
               {"dice_tc", mean_json(mean.dice_tc)},         {"dice_et", mean_json(mean.dice_et)},
               {"hd95_wt", mean_json(mean.hd95_wt)},         {"hd95_tc", mean_json(mean.hd95_tc)},
               {"hd95_et", mean_json(mean.hd95_et)},         {"iou_wt", mean_json(mean.iou_wt)},
               {"iou_tc", mean_json(mean.iou_tc)},           {"iou_et", mean_json(mean.iou_et)}};
  s["mean_region_dice"] = region_dice;
  s["mean_loss"] = loss_sum / static_cast<double>(rows.size());
  write_file_atomic((fs::path(out) / "summary.json").string(), s.dump(2) + "\n");
  std::printf(tr("wrote %s/per_case.csv and %s/summary.json\n").c_str(), out.c_str(), out.c_str());
  return 0;
}

}  // namespace unet::tools
