#include "tools/charts.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/i18n.hpp"

namespace unet::tools {

namespace {
constexpr Rgb kAxis{60, 60, 60}, kGrid{225, 225, 225}, kText{30, 30, 30};

std::string label(double v) {
  char b[32];
  std::snprintf(b, sizeof b, std::abs(v) >= 100 || v == std::floor(v) ? "%.0f" : "%.2f", v);
  return b;
}

// A "nice" step for about `n` ticks over [lo, hi].
double nice_step(double lo, double hi, int n) {
  const double raw = (hi - lo) / n;
  if (raw <= 0) return 1.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}
}  // namespace

void line_chart(Painter& p, int width, int height, const std::string& title, const std::vector<double>& x,
                const std::vector<Series>& series, const std::string& x_label) {
  const double left = 60, right = width - 20.0, top = 40, bottom = height - 50.0;
  p.rect(0, 0, width, height, Rgb{255, 255, 255});
  p.text(width / 2.0, 18, title, kText, 1);
  double ylo = 0, yhi = 1e-9;
  for (const auto& s : series)
    for (double v : s.y)
      if (std::isfinite(v)) ylo = std::min(ylo, v), yhi = std::max(yhi, v);
  const double ystep = nice_step(ylo, yhi, 5);
  yhi = std::ceil(yhi / ystep) * ystep;
  ylo = std::floor(ylo / ystep) * ystep;
  const double xlo = x.empty() ? 0 : x.front(), xhi = x.size() > 1 ? x.back() : xlo + 1;
  auto px = [&](double v) { return left + (v - xlo) / (xhi - xlo) * (right - left); };
  auto py = [&](double v) { return bottom - (v - ylo) / (yhi - ylo) * (bottom - top); };
  for (double v = ylo; v <= yhi + ystep / 2; v += ystep) {
    p.line(left, py(v), right, py(v), kGrid, 1, false);
    p.text(left - 6, py(v), label(v), kText, 2);
  }
  const double xstep = std::max(1.0, nice_step(xlo, xhi, 8));
  for (double v = std::ceil(xlo / xstep) * xstep; v <= xhi + 1e-9; v += xstep) p.text(px(v), bottom + 14, label(v), kText, 1);
  p.line(left, bottom, right, bottom, kAxis, 1, false);
  p.line(left, top, left, bottom, kAxis, 1, false);
  p.text((left + right) / 2, height - 14.0, x_label, kText, 1);
  double ly = top + 8;
  for (const auto& s : series) {
    std::vector<double> xs, ys;
    for (size_t i = 0; i < s.y.size() && i < x.size(); ++i) {
      xs.push_back(px(x[i]));
      ys.push_back(py(s.y[i]));
    }
    p.polyline(xs, ys, s.color, 2);
    if (xs.size() == 1) p.rect(xs[0] - 2, ys[0] - 2, 5, 5, s.color);
    p.line(right - 150, ly, right - 130, ly, s.color, 2, false);
    p.text(right - 124, ly, s.name, kText, 0);
    ly += 16;
  }
}

void bar_chart(Painter& p, int width, int height, const std::string& title, const std::vector<std::string>& labels,
               const std::vector<double>& values, double mean, double median) {
  const double left = 60, right = width - 20.0, top = 40, bottom = height - 90.0;
  p.rect(0, 0, width, height, Rgb{255, 255, 255});
  p.text(width / 2.0, 18, title, kText, 1);
  auto py = [&](double v) { return bottom - std::clamp(v, 0.0, 1.0) * (bottom - top); };
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    p.line(left, py(v), right, py(v), kGrid, 1, false);
    p.text(left - 6, py(v), label(v), kText, 2);
  }
  const double n = std::max<double>(1, static_cast<double>(values.size()));
  const double slot = (right - left) / n;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = left + slot * static_cast<double>(i);
    p.rect(x + slot * 0.1, py(values[i]), slot * 0.8, bottom - py(values[i]), Rgb{70, 130, 180});
    if (labels.size() <= 40) p.text(x + slot / 2, bottom + 12 + 14 * static_cast<double>(i % 4), labels[i], kText, 1);
  }
  p.line(left, bottom, right, bottom, kAxis, 1, false);
  p.line(left, top, left, bottom, kAxis, 1, false);
  p.line(left, py(mean), right, py(mean), Rgb{220, 50, 47}, 2, true);
  p.line(left, py(median), right, py(median), Rgb{38, 139, 34}, 2, true);
  p.text(right - 4, py(mean) - 9, trf("mean {}", label(mean)), Rgb{220, 50, 47}, 2);
  p.text(right - 4, py(median) + 9, trf("median {}", label(median)), Rgb{38, 139, 34}, 2);
}

}  // namespace unet::tools
