#include "tools/brats_report.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "base/device.hpp"
#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "tools/brats_visuals.hpp"
#include "tools/chart_files.hpp"
#include "tools/charts.hpp"
#include "tools/report_language.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

namespace {

constexpr int kW = 720, kH = 360;

std::string cell(double v, const char* format = "%.4f") {
  if (std::isnan(v)) return "<td>nan</td>";  // NaN, the number: the same in every language
  char b[48];
  std::snprintf(b, sizeof b, format, v);
  return std::string("<td>") + b + "</td>";
}

std::string metrics_cells(const BratsCaseMetrics& m) {
  return cell(m.dice_label1) + cell(m.dice_label2) + cell(m.dice_label4) + cell(m.dice_wt) + cell(m.dice_tc) +
         cell(m.dice_et) + cell(m.iou_wt) + cell(m.iou_tc) + cell(m.iou_et) + cell(m.hd95_wt, "%.2f") +
         cell(m.hd95_tc, "%.2f") + cell(m.hd95_et, "%.2f");
}

double mean_or_nan(const MeanOverCases& m) { return m.count > 0 ? m.mean : std::nan(""); }

}  // namespace

void write_report(const std::string& dir, const BratsRunReport& r) {
  std::vector<double> x;
  // Labels: red, green and gold as in the pictures; training patches light, validation dark.
  // The series' names are given inside the drawing, so that the PNG copy draws them in English.
  Series tl{"", {}, {31, 119, 180}}, vl{"", {}, {255, 127, 14}};
  Series t1{"", {}, {255, 150, 150}}, t2{"", {}, {140, 220, 140}}, t4{"", {}, {235, 200, 90}};
  Series v1{"", {}, {200, 0, 0}}, v2{"", {}, {0, 130, 0}}, v4{"", {}, {170, 130, 0}};
  Series wt{"", {}, {31, 119, 180}}, tc{"", {}, {148, 103, 189}}, et{"", {}, {170, 130, 0}}, mr{"", {}, {90, 90, 90}};
  auto named = [](Series s, const std::string& name) {
    s.name = name;
    return s;
  };
  for (const auto& m : r.history) {
    x.push_back(static_cast<double>(m.epoch));
    tl.y.push_back(m.train_loss), vl.y.push_back(m.val_loss);
    t1.y.push_back(m.train_dice_l1), t2.y.push_back(m.train_dice_l2), t4.y.push_back(m.train_dice_l4);
    v1.y.push_back(m.val_dice_l1), v2.y.push_back(m.val_dice_l2), v4.y.push_back(m.val_dice_l4);
    wt.y.push_back(m.val_dice_wt), tc.y.push_back(m.val_dice_tc), et.y.push_back(m.val_dice_et);
    mr.y.push_back(m.val_dsc_volume);
  }
  const std::string loss_svg = chart_files(dir, "loss", kW, kH, [&](Painter& p) {
    line_chart(p, kW, kH, tr("Loss"), x, {named(tl, tr("train loss")), named(vl, tr("validation loss"))}, tr("epoch"));
  });
  const std::string label_svg = chart_files(dir, "label_dice", kW, kH, [&](Painter& p) {
    line_chart(p, kW, kH, tr("Dice per label (1 necrotic core, 2 edema, 4 enhancing)"), x,
               {named(t1, tr("train L1")), named(t2, tr("train L2")), named(t4, tr("train L4")),
                named(v1, tr("val L1")), named(v2, tr("val L2")), named(v4, tr("val L4"))},
               tr("epoch"));
  });
  const std::string region_svg = chart_files(dir, "region_dice", kW, kH, [&](Painter& p) {
    // "val mean": (WT + TC + ET) / 3; a short legend fits the chart.
    line_chart(p, kW, kH, tr("Validation Dice per region"), x,
               {named(wt, tr("val WT")), named(tc, tr("val TC")), named(et, tr("val ET")), named(mr, tr("val mean"))},
               tr("epoch"));
  });

  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"" + html_language() + "\"><head><meta charset=\"utf-8\"><title>" +
       html_escape(r.title) + "</title>\n";
  h += "<style>body{font-family:sans-serif,'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei','PingFang SC';margin:24px;color:#222;max-width:1400px}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
       "figure{display:inline-block;margin:6px}figcaption{font-size:12px;color:#555}pre{background:#f7f7f7;padding:8px}"
       "</style></head><body>\n";
  h += "<h1>" + html_escape(r.title) + "</h1>\n<table id=\"facts\">\n";
  for (const auto& [k, v] : r.facts)
    h += "<tr><th>" + html_escape(k) + "</th><td style=\"text-align:left\">" + html_escape(v) + "</td></tr>\n";
  h += "</table>\n<h2>" + tr("Curves") + "</h2>\n" + png_charts_note() + "<div id=\"loss-chart\">" + loss_svg +
       "</div>\n<div id=\"label-dice-chart\">" + label_svg + "</div>\n<div id=\"region-dice-chart\">" + region_svg +
       "</div>\n";
  h += "<p>" +
       tr("Labels: 1 necrotic / non-enhancing core, 2 edema, 4 enhancing tumour. Regions: WT (whole tumour) = 1+2+4, "
          "TC (tumour core) = 1+4, ET (enhancing tumour) = 4. HD95: 95th-percentile Hausdorff distance in mm; nan when "
          "the region is empty in only one of prediction and truth (left out of the mean).") +
       "</p>\n";
  h += "<h2>" + tr("Epochs") + "</h2>\n<table id=\"epochs\"><tr>";
  for (const std::string& head :
       {tr("epoch"), tr("train loss"), tr("train Dice L1"), tr("train Dice L2"), tr("train Dice L4"), tr("val loss"),
        tr("val Dice WT"), tr("val Dice TC"), tr("val Dice ET"), tr("val IoU WT"), tr("val IoU TC"), tr("val IoU ET"),
        tr("val HD95 WT"), tr("val HD95 TC"), tr("val HD95 ET"), tr("lr"), tr("seconds")})
    h += "<th>" + html_escape(head) + "</th>";
  h += "</tr>\n";
  for (const auto& m : r.history) {
    // The trainer writes -1 for an HD95 that no case had.
    auto hd = [](double v) { return v < 0 ? std::string("<td>-</td>") : cell(v, "%.2f"); };
    h += "<tr><td>" + std::to_string(m.epoch) + (m.best ? html_escape(tr(" (best)")) : "") + "</td>" +
         cell(m.train_loss) + cell(m.train_dice_l1) + cell(m.train_dice_l2) + cell(m.train_dice_l4) + cell(m.val_loss) +
         cell(m.val_dice_wt) + cell(m.val_dice_tc) + cell(m.val_dice_et) + cell(m.val_iou_wt) + cell(m.val_iou_tc) +
         cell(m.val_iou_et) + hd(m.val_hd95_wt) + hd(m.val_hd95_tc) + hd(m.val_hd95_et) + cell(m.lr, "%.2e") +
         cell(m.seconds, "%.1f") + "</tr>\n";
  }
  h += "</table>\n";
  if (!r.cases.empty()) {
    h += "<h2>" + trf("Validation cases ({})", r.cases.size()) + "</h2>\n<table id=\"cases\"><tr><th>" + tr("case") +
         "</th><th>Dice L1</th><th>Dice L2</th><th>Dice L4</th><th>Dice WT</th><th>Dice TC</th><th>Dice ET</th>"
         "<th>IoU WT</th><th>IoU TC</th><th>IoU ET</th><th>HD95 WT (mm)</th><th>HD95 TC (mm)</th><th>HD95 ET "
         "(mm)</th></tr>\n";
    for (const auto& c : r.cases)
      h += "<tr><td style=\"text-align:left\">" + html_escape(c.id) + "</td>" + metrics_cells(c.metrics) + "</tr>\n";
    BratsCaseMetrics mean;
    mean.dice_label1 = mean_or_nan(r.mean.dice_label1), mean.dice_label2 = mean_or_nan(r.mean.dice_label2);
    mean.dice_label4 = mean_or_nan(r.mean.dice_label4), mean.dice_wt = mean_or_nan(r.mean.dice_wt);
    mean.dice_tc = mean_or_nan(r.mean.dice_tc), mean.dice_et = mean_or_nan(r.mean.dice_et);
    mean.iou_wt = mean_or_nan(r.mean.iou_wt), mean.iou_tc = mean_or_nan(r.mean.iou_tc);
    mean.iou_et = mean_or_nan(r.mean.iou_et);
    mean.hd95_wt = mean_or_nan(r.mean.hd95_wt), mean.hd95_tc = mean_or_nan(r.mean.hd95_tc);
    mean.hd95_et = mean_or_nan(r.mean.hd95_et);
    h += "<tr><th style=\"text-align:left\">" + tr("mean") + "</th>" + metrics_cells(mean) + "</tr>\n</table>\n";
  }
  if (!r.pictures.empty()) {
    h +=
        "<h2>" + tr("Validation cases in three planes (image | ground truth | prediction)") + "</h2>\n<p>" +
        tr("Flair in grey; label 1 red, label 2 green, label 4 yellow. Planes through the centre of the true tumour.") +
        "</p>\n<div id=\"triptychs\">\n";
    for (const auto& s : r.pictures)
      h += "<figure><img alt=\"" + html_escape(s.caption) + "\" src=\"data:image/png;base64," + base64(s.png) +
           "\"><figcaption>" + html_escape(s.caption) + "</figcaption></figure>\n";
    h += "</div>\n";
  }
  h += "<h2>" + tr("Configuration") + "</h2>\n<pre id=\"config\">" + html_escape(r.config_json) +
       "</pre>\n</body></html>\n";
  write_file_atomic((fs::path(dir) / "report.html").string(), h);
}

BratsRunReport make_brats_run_report(BratsTrainer& trainer, double total_seconds, int picture_cases) {
  BratsRunReport r;
  const TrainConfig& c = trainer.config();
  r.title = trf("unet-engine BraTS run: {}", fs::path(c.out).filename().string());
  r.config_json = c.to_json();
  r.history = trainer.state().history;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f s", total_seconds);
  char overlap[32];
  std::snprintf(overlap, sizeof overlap, "%.2f", c.overlap);
  const size_t cases = trainer.cases().size(), validation = trainer.validation_cases().size();
  r.facts = {
      {tr("data"), c.data},
      {tr("cases (training / validation)"), trf("{} ({} / {})", cases, cases - validation, validation)},
      {tr("model"), trf("3D U-Net base {}, depth {}, {} layout, {} parameters", c.base, trainer.model().config().depth,
                        trainer.model().config().layout_name(), trainer.model().parameter_count())},
      {tr("patches"), trf("{}^3 voxels, sliding-window overlap {}", c.patch, overlap)},
      {tr("device"), std::string(device_name(trainer.device())) + ": " + hardware_description(trainer.device())},
      {tr("training time"), buf},
      {tr("epochs done"), trf("{} of {}", trainer.state().history.size(), c.epochs)},
      {tr("best validation mean region Dice (WT+TC+ET)/3"),
       trf("{} (epoch {})", std::to_string(trainer.state().best_dsc), trainer.state().best_epoch)}};
  if (trainer.validation_cases().empty()) return r;
  const BratsEvalResult ev = trainer.evaluate_validation(/*keep_predictions=*/true);
  r.mean = ev.mean;
  for (size_t k = 0; k < ev.cases.size(); ++k) {
    const BratsCaseResult& cr = ev.cases[k];
    r.cases.push_back({cr.id, cr.metrics});
    if (static_cast<int>(k) >= picture_cases) continue;
    // The case itself, by its id (a case that could not be read is not among the results).
    std::shared_ptr<const data::BratsCase> found;
    for (size_t i : trainer.validation_cases())
      if (trainer.cases().id(i) == cr.id) found = trainer.cases().get(i);
    if (!found) continue;
    const data::BratsCase& bc = *found;
    const std::vector<uint8_t> grey = brats_grey_volume(bc.image.data(), bc.dims);  // flair, the first channel
    // Through the true tumour; through the predicted one when the case has none.
    const bool truth_has_tumour = bc.tumour_voxels() > 0;
    const auto centre = brats_tumour_centre(truth_has_tumour ? bc.classes : cr.prediction, bc.dims);
    for (BratsPlane plane : kBratsPlanes) {
      char caption[160];
      std::snprintf(caption, sizeof caption, "%s %s (Dice WT %.3f, TC %.3f, ET %.3f)", cr.id.c_str(),
                    brats_plane_name(plane), cr.metrics.dice_wt, cr.metrics.dice_tc, cr.metrics.dice_et);
      r.pictures.push_back(
          {caption, brats_plane_picture(grey, bc.classes.data(), cr.prediction.data(), bc.dims, plane, centre).png_bytes()});
    }
  }
  return r;
}

}  // namespace unet::tools
