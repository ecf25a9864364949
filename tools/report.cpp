#include "tools/report.hpp"

#include <algorithm>
#include <filesystem>

#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "tools/chart_files.hpp"
#include "tools/charts.hpp"
#include "tools/report_language.hpp"
#include "tools/visuals.hpp"
#include "train/metrics.hpp"

namespace unet::tools {

namespace fs = std::filesystem;

namespace {

constexpr int kW = 720, kH = 360;

// The slice viewer's limits: they bound report.html to a few MB for any data set.
constexpr size_t kViewerVolumes = 4;
constexpr int64_t kViewerSlices = 24;
constexpr int64_t kViewerPanel = 128;

// Frames of one volume for the slice viewer: every slice, or kViewerSlices evenly spaced; each
// panel the model grid scaled by whole factors (nearest) to 96..kViewerPanel pixels where it can.
ReportVolume viewer_volume(const data::Volume& v, const std::vector<uint8_t>& prediction) {
  ReportVolume out;
  out.name = v.patient;
  out.total_slices = v.depth();
  const int s = static_cast<int>(v.size);
  const int down = std::max(1, (s + static_cast<int>(kViewerPanel) - 1) / static_cast<int>(kViewerPanel));
  const int up = std::max(1, 96 / s);
  const int S = s * up / down;
  const int64_t shown = std::min(kViewerSlices, v.depth());
  for (int64_t i = 0; i < shown; ++i) {
    const int64_t d = shown == 1 ? 0 : (i * (v.depth() - 1) + (shown - 1) / 2) / (shown - 1);
    std::vector<uint8_t> rgb(static_cast<size_t>(S * S * 3)), truth(static_cast<size_t>(S * S)), pred(truth.size());
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const int src = (y * down / up) * s + x * down / up, dst = y * S + x;
        for (int ch = 0; ch < 3; ++ch)
          rgb[static_cast<size_t>(dst * 3 + ch)] = v.images[static_cast<size_t>((d * 3 + ch) * s * s + src)];
        truth[static_cast<size_t>(dst)] = v.masks[static_cast<size_t>(d * s * s + src)];
        pred[static_cast<size_t>(dst)] = prediction[static_cast<size_t>(d * s * s + src)];
      }
    out.frames.push_back({trf("slice {} ({} of {})", v.slice_numbers[static_cast<size_t>(d)], d + 1, v.depth()),
                          slice_panels(rgb, S, S, truth.data(), pred.data()).png_bytes()});
  }
  return out;
}

std::string dsc_chart(const std::string& dir, const std::vector<std::string>& names, const std::vector<double>& dsc) {
  const double mean = mean_of(dsc), median = median_of(dsc);
  return chart_files(dir, "dsc_per_volume", std::max(kW, static_cast<int>(names.size()) * 14 + 80), kH + 40,
                     [&](Painter& p) {
                       bar_chart(p, std::max(kW, static_cast<int>(names.size()) * 14 + 80), kH + 40,
                                 trf("DSC per volume ({} volumes)", dsc.size()), names, dsc, mean, median);
                     });
}

// The slice viewer: per volume a slider over its frames (all embedded), one frame shown. The
// address suffix #viewer-K=N opens volume K at frame N (the test in headless Chromium uses it).
std::string slice_viewer_html(const std::vector<ReportVolume>& viewer) {
  if (viewer.empty()) return "";
  std::string h =
      "<h2>" + tr("Validation volumes, slice by slice (image | ground truth | prediction | overlay)") + "</h2>\n<p>" +
      trf("{} of the validation volumes; at most {} slices of each (evenly spaced) and panels of at most {} "
          "pixels, so that this file stays small.",
          viewer.size(), kViewerSlices, kViewerPanel) +
      "</p>\n";
  for (size_t k = 0; k < viewer.size(); ++k) {
    const ReportVolume& v = viewer[k];
    h += "<div class=\"viewer\" id=\"viewer-" + std::to_string(k) + "\"><div>" + html_escape(v.name) +
         " <input type=\"range\" class=\"slider\" min=\"0\" max=\"" + std::to_string(v.frames.size() - 1) +
         "\" value=\"0\" oninput=\"showSlice(this.parentNode.parentNode, +this.value)\"> <span "
         "class=\"slice-label\"></span></div>\n";
    for (const ReportSlice& f : v.frames)
      h += "<img class=\"frame\" style=\"display:none\" alt=\"" + html_escape(f.caption) + "\" data-caption=\"" +
           html_escape(f.caption) + "\" src=\"data:image/png;base64," + base64(f.png) + "\">\n";
    h += "</div>\n";
  }
  h += "<script>\n"
       "function showSlice(viewer, k) {\n"
       "  const frames = viewer.querySelectorAll('img.frame');\n"
       "  frames.forEach((im, i) => { im.style.display = i === k ? 'block' : 'none'; });\n"
       "  viewer.querySelector('.slice-label').textContent = frames[k].dataset.caption;\n"
       "  viewer.querySelector('.slider').value = k;\n"
       "}\n"
       "document.querySelectorAll('.viewer').forEach(v => showSlice(v, 0));\n"
       "const wanted = location.hash.match(/^#(viewer-[0-9]+)=([0-9]+)$/);\n"
       "if (wanted && document.getElementById(wanted[1])) showSlice(document.getElementById(wanted[1]), +wanted[2]);\n"
       "</script>\n";
  return h;
}

}  // namespace

void write_dsc_chart(const std::string& dir, const std::vector<std::string>& names, const std::vector<double>& dsc,
                     const std::vector<double>& iou) {
  dsc_chart(dir, names, dsc);
  const bool with_iou = iou.size() == names.size() && !iou.empty();
  std::string csv = with_iou ? "volume,dsc,iou\n" : "volume,dsc\n";
  for (size_t i = 0; i < names.size(); ++i)
    csv += names[i] + "," + std::to_string(dsc[i]) + (with_iou ? "," + std::to_string(iou[i]) : "") + "\n";
  write_file_atomic((fs::path(dir) / "dsc_per_volume.csv").string(), csv);
}

void write_report(const std::string& dir, const RunReport& r) {
  std::vector<double> x;
  // The series' names are given inside the drawing, so that the PNG copy draws them in English.
  Series tl{"", {}, {31, 119, 180}}, vl{"", {}, {255, 127, 14}};
  Series td{"", {}, {31, 119, 180}}, vd{"", {}, {255, 127, 14}}, vv{"", {}, {44, 160, 44}};
  auto named = [](Series s, const std::string& name) {
    s.name = name;
    return s;
  };
  for (const auto& m : r.history) {
    x.push_back(static_cast<double>(m.epoch));
    tl.y.push_back(m.train_loss), vl.y.push_back(m.val_loss);
    td.y.push_back(m.train_dice), vd.y.push_back(m.val_dice_slice), vv.y.push_back(m.val_dsc_volume);
  }
  const std::string loss_svg = chart_files(dir, "loss", kW, kH, [&](Painter& p) {
    line_chart(p, kW, kH, tr("Loss"), x, {named(tl, tr("train loss")), named(vl, tr("validation loss"))}, tr("epoch"));
  });
  const std::string dice_svg = chart_files(dir, "dice", kW, kH, [&](Painter& p) {
    line_chart(p, kW, kH, tr("Dice"), x,
               {named(td, tr("train Dice")), named(vd, tr("val Dice per slice")), named(vv, tr("val DSC per volume"))},
               tr("epoch"));
  });
  const std::string dsc_svg = r.volume_dsc.empty() ? "" : dsc_chart(dir, r.volume_names, r.volume_dsc);

  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"" + html_language() + "\"><head><meta charset=\"utf-8\"><title>" +
       html_escape(r.title) + "</title>\n";
  h += "<style>body{font-family:sans-serif,'Noto Sans CJK SC','Noto Sans SC','Microsoft YaHei','PingFang SC';margin:24px;color:#222;max-width:1200px}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
       "figure{display:inline-block;margin:6px}figcaption{font-size:12px;color:#555}pre{background:#f7f7f7;padding:8px}"
       "</style></head><body>\n";
  h += "<h1>" + html_escape(r.title) + "</h1>\n<table id=\"facts\">\n";
  for (const auto& [k, v] : r.facts) h += "<tr><th>" + html_escape(k) + "</th><td style=\"text-align:left\">" + html_escape(v) + "</td></tr>\n";
  h += "</table>\n<h2>" + tr("Curves") + "</h2>\n" + png_charts_note() + "<div id=\"loss-chart\">" + loss_svg +
       "</div>\n<div id=\"dice-chart\">" + dice_svg + "</div>\n";
  if (!dsc_svg.empty()) {
    h += "<h2>" + tr("Validation DSC per volume") + "</h2>\n<div id=\"dsc-chart\">" + dsc_svg + "</div>\n";
    h += "<p>" + trf("mean {}, median {}", mean_of(r.volume_dsc), median_of(r.volume_dsc)) + "</p>\n";
  }
  h += "<h2>" + tr("Epochs") + "</h2>\n<table id=\"epochs\"><tr>";
  for (const std::string& head :
       {tr("epoch"), tr("train loss"), tr("train Dice"), tr("val loss"), tr("val Dice/slice"), tr("val DSC/volume"),
        tr("val IoU/slice"), tr("val IoU/volume"), tr("lr"), tr("seconds")})
    h += "<th>" + html_escape(head) + "</th>";
  h += "</tr>\n";
  char row[512];
  for (const auto& m : r.history) {
    std::snprintf(row, sizeof row,
                  "<tr><td>%lld</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%.4f</td>"
                  "<td>%.4f</td><td>%.2e</td><td>%.1f</td></tr>\n",
                  static_cast<long long>(m.epoch), m.train_loss, m.train_dice, m.val_loss, m.val_dice_slice,
                  m.val_dsc_volume, m.val_iou_slice, m.val_iou_volume, m.lr, m.seconds);
    h += row;
  }
  h += "</table>\n";
  if (!r.slices.empty()) {
    h += "<h2>" + tr("Validation slices (image | ground truth | prediction)") + "</h2>\n<div id=\"triptychs\">\n";
    for (const auto& s : r.slices)
      h += "<figure><img alt=\"" + html_escape(s.caption) + "\" src=\"data:image/png;base64," + base64(s.png) +
           "\"><figcaption>" + html_escape(s.caption) + "</figcaption></figure>\n";
    h += "</div>\n";
  }
  h += slice_viewer_html(r.viewer);
  h += "<h2>" + tr("Configuration") + "</h2>\n<pre id=\"config\">" + html_escape(r.config_json) +
       "</pre>\n</body></html>\n";
  write_file_atomic((fs::path(dir) / "report.html").string(), h);
}

RunReport make_run_report(Trainer& trainer, double total_seconds, int max_slices) {
  RunReport r;
  const TrainConfig& c = trainer.config();
  r.title = trf("unet-engine run: {}", fs::path(c.out).filename().string());
  r.config_json = c.to_json();
  r.history = trainer.state().history;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f s", total_seconds);
  r.facts = {{tr("data"), c.data},
             {tr("patients / slices / with tumour"), std::to_string(trainer.load_report().patients) + " / " +
                                                         std::to_string(trainer.load_report().slices) + " / " +
                                                         std::to_string(trainer.load_report().tumour_slices)},
             {tr("model"), trf("U-Net base {}, {} layout, {} parameters", c.base,
                               trainer.model().config().layout_name(), trainer.model().parameter_count())},
             {tr("device"), std::string(device_name(trainer.device())) + ": " + hardware_description(trainer.device())},
             {tr("training time"), buf},
             {tr("epochs done"), trf("{} of {}", trainer.state().history.size(), c.epochs)},
             {tr("best validation DSC per volume"),
              trf("{} (epoch {})", std::to_string(trainer.state().best_dsc), trainer.state().best_epoch)}};
  if (trainer.validation_volumes().empty()) return r;
  LossConfig loss_config;
  loss_config.kind = LossConfig::parse(c.loss);
  EvalConfig eval_config;
  eval_config.batch = c.batch;
  eval_config.largest_component = c.largest_component;
  eval_config.keep_predictions = true;
  const EvalResult ev = evaluate(trainer.model(), trainer.volumes(), trainer.validation_volumes(), loss_config, eval_config);
  // Triptychs: the slice with the most tumour in each of the first validation volumes.
  for (size_t k = 0; k < ev.volumes.size(); ++k) {
    const auto& v = trainer.volumes()[trainer.validation_volumes()[k]];
    r.volume_names.push_back(v.patient);
    r.volume_dsc.push_back(ev.volumes[k].dsc);
    if (static_cast<int>(r.slices.size()) >= max_slices) continue;
    int64_t best = 0, area = -1;
    for (int64_t d = 0; d < v.depth(); ++d)
      if (v.mask_area(d) > area) area = v.mask_area(d), best = d;
    // Small model sizes are shown enlarged (nearest neighbour) to at least 192 pixels.
    const int s = static_cast<int>(v.size), f = std::max(1, 192 / s), S = s * f;
    std::vector<uint8_t> rgb(static_cast<size_t>(S * S * 3)), truth(static_cast<size_t>(S * S)), pred(truth.size());
    for (int y = 0; y < S; ++y)
      for (int x = 0; x < S; ++x) {
        const int src = (y / f) * s + x / f, dst = y * S + x;
        for (int ch = 0; ch < 3; ++ch)
          rgb[static_cast<size_t>(dst * 3 + ch)] = v.images[static_cast<size_t>((best * 3 + ch) * s * s + src)];
        truth[static_cast<size_t>(dst)] = v.masks[static_cast<size_t>(best * s * s + src)];
        pred[static_cast<size_t>(dst)] = ev.volumes[k].prediction[static_cast<size_t>(best * s * s + src)];
      }
    const Canvas t = triptych(rgb, S, S, truth.data(), pred.data());
    r.slices.push_back({trf("{} slice {} (volume DSC {})", v.patient, v.slice_numbers[static_cast<size_t>(best)],
                            std::to_string(ev.volumes[k].dsc).substr(0, 5)),
                        t.png_bytes()});
  }
  for (size_t k = 0; k < ev.volumes.size() && k < kViewerVolumes; ++k)
    r.viewer.push_back(viewer_volume(trainer.volumes()[trainer.validation_volumes()[k]], ev.volumes[k].prediction));
  return r;
}

}  // namespace unet::tools
