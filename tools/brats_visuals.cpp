#include "tools/brats_visuals.hpp"

#include <algorithm>
#include <cmath>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "tools/cjk_text.hpp"

namespace unet::tools {

const char* brats_plane_name(BratsPlane plane) {
  switch (plane) {
    case BratsPlane::Axial: return "axial";
    case BratsPlane::Coronal: return "coronal";
    case BratsPlane::Sagittal: return "sagittal";
  }
  return "?";
}

Rgb brats_class_colour(int engine_class) {
  switch (engine_class) {
    case 1: return Rgb{255, 0, 0};
    case 2: return Rgb{0, 200, 0};
    case 3: return Rgb{255, 255, 0};
    default: return Rgb{0, 0, 0};
  }
}

std::vector<uint8_t> brats_grey_volume(const float* modality, const std::array<int64_t, 3>& dims) {
  const int64_t n = dims[0] * dims[1] * dims[2];
  std::vector<float> brain;
  for (int64_t i = 0; i < n; ++i)
    if (modality[i] != 0.0f) brain.push_back(modality[i]);
  std::vector<uint8_t> grey(static_cast<size_t>(n), 0);
  if (brain.empty()) return grey;
  const float lo = *std::min_element(brain.begin(), brain.end());
  // The 99th percentile, so that a few very bright voxels do not darken the whole picture.
  const auto k = static_cast<std::ptrdiff_t>(static_cast<double>(brain.size() - 1) * 0.99);
  std::nth_element(brain.begin(), brain.begin() + k, brain.end());
  const float hi = std::max(brain[static_cast<size_t>(k)], lo + 1e-6f);
  for (int64_t i = 0; i < n; ++i) {
    if (modality[i] == 0.0f) continue;
    // Brain voxels start at 40, so that the darkest of them stay visible against the black outside.
    const float t = std::clamp((modality[i] - lo) / (hi - lo), 0.0f, 1.0f);
    grey[static_cast<size_t>(i)] = static_cast<uint8_t>(std::lround(40.0f + 215.0f * t));
  }
  return grey;
}

std::array<int64_t, 3> brats_tumour_centre(const std::vector<uint8_t>& classes, const std::array<int64_t, 3>& dims) {
  double sum[3] = {0, 0, 0};
  int64_t count = 0;
  if (static_cast<int64_t>(classes.size()) == dims[0] * dims[1] * dims[2]) {
    for (int64_t x = 0; x < dims[0]; ++x)
      for (int64_t y = 0; y < dims[1]; ++y)
        for (int64_t z = 0; z < dims[2]; ++z)
          if (classes[static_cast<size_t>((x * dims[1] + y) * dims[2] + z)] != 0) {
            sum[0] += static_cast<double>(x), sum[1] += static_cast<double>(y), sum[2] += static_cast<double>(z);
            ++count;
          }
  }
  if (count == 0) return {dims[0] / 2, dims[1] / 2, dims[2] / 2};
  std::array<int64_t, 3> c{};
  for (int a = 0; a < 3; ++a)
    c[static_cast<size_t>(a)] =
        std::clamp<int64_t>(std::llround(sum[a] / static_cast<double>(count)), 0, dims[static_cast<size_t>(a)] - 1);
  return c;
}

PlaneSlice brats_plane_slice(const uint8_t* volume, const std::array<int64_t, 3>& dims, BratsPlane plane,
                             const std::array<int64_t, 3>& centre) {
  const int64_t X = dims[0], Y = dims[1], Z = dims[2];
  for (int a = 0; a < 3; ++a)
    UNET_CHECK(centre[static_cast<size_t>(a)] >= 0 && centre[static_cast<size_t>(a)] < dims[static_cast<size_t>(a)],
               "brats_plane_slice", tr("the plane's position lies outside the volume"));
  auto at = [&](int64_t x, int64_t y, int64_t z) { return volume[(x * Y + y) * Z + z]; };
  PlaneSlice s;
  switch (plane) {
    case BratsPlane::Axial: s.rows = Y, s.columns = X; break;
    case BratsPlane::Coronal: s.rows = Z, s.columns = X; break;
    case BratsPlane::Sagittal: s.rows = Z, s.columns = Y; break;
  }
  s.values.resize(static_cast<size_t>(s.rows * s.columns));
  for (int64_t r = 0; r < s.rows; ++r)
    for (int64_t c = 0; c < s.columns; ++c) {
      uint8_t v = 0;
      switch (plane) {
        case BratsPlane::Axial: v = at(c, r, centre[2]); break;
        case BratsPlane::Coronal: v = at(c, centre[1], Z - 1 - r); break;
        case BratsPlane::Sagittal: v = at(centre[0], c, Z - 1 - r); break;
      }
      s.values[static_cast<size_t>(r * s.columns + c)] = v;
    }
  return s;
}

BratsPictureLayout brats_picture_layout(int64_t rows, int64_t columns, int min_panel) {
  BratsPictureLayout l;
  const int64_t longest = std::max<int64_t>(1, std::max(rows, columns));
  l.scale = static_cast<int>(std::max<int64_t>(1, (min_panel + longest - 1) / longest));
  l.panel_width = static_cast<int>(columns) * l.scale;
  l.panel_height = static_cast<int>(rows) * l.scale;
  return l;
}

Canvas brats_plane_picture(const std::vector<uint8_t>& grey, const uint8_t* truth, const uint8_t* pred,
                           const std::array<int64_t, 3>& dims, BratsPlane plane, const std::array<int64_t, 3>& centre,
                           int min_panel) {
  UNET_CHECK(static_cast<int64_t>(grey.size()) == dims[0] * dims[1] * dims[2], "brats_plane_picture",
             tr("the grey volume does not have the case's size"));
  UNET_CHECK(pred != nullptr, "brats_plane_picture", tr("no prediction to draw"));
  const PlaneSlice image = brats_plane_slice(grey.data(), dims, plane, centre);
  const BratsPictureLayout l = brats_picture_layout(image.rows, image.columns, min_panel);
  const PngTextScope png_text;
  struct Panel {
    std::string title;
    const uint8_t* classes;
  };
  std::vector<Panel> panels = {{tr("image"), nullptr}};
  if (truth != nullptr) panels.push_back({tr("ground truth"), truth});
  panels.push_back({tr("prediction"), pred});
  const int n = static_cast<int>(panels.size());
  // The legend needs about 460 pixels on one line.
  const int width = std::max(n * l.panel_width + (n - 1) * l.gap, 460);
  Canvas c(width, l.title_height + l.panel_height + l.legend_height, Rgb{255, 255, 255});
  // Titles first: a descender ("p") reaches the panel's first row, which the panel then covers.
  for (int k = 0; k < n; ++k)
    c.text(l.panel_x(k) + l.panel_width / 2.0, l.title_height / 2.0, panels[static_cast<size_t>(k)].title,
           Rgb{0, 0, 0}, 1);
  for (int k = 0; k < n; ++k) {
    std::vector<uint8_t> labels;
    if (panels[static_cast<size_t>(k)].classes != nullptr)
      labels = brats_plane_slice(panels[static_cast<size_t>(k)].classes, dims, plane, centre).values;
    for (int64_t r = 0; r < image.rows; ++r)
      for (int64_t col = 0; col < image.columns; ++col) {
        const size_t i = static_cast<size_t>(r * image.columns + col);
        const uint8_t g = image.values[i];
        Rgb v{g, g, g};
        if (!labels.empty() && labels[i] != 0) {
          const Rgb t = brats_class_colour(labels[i]);
          v = Rgb{static_cast<uint8_t>((g + t.r) / 2), static_cast<uint8_t>((g + t.g) / 2),
                  static_cast<uint8_t>((g + t.b) / 2)};
        }
        c.rect(l.panel_x(k) + static_cast<double>(col * l.scale), l.title_height + static_cast<double>(r * l.scale),
               l.scale, l.scale, v);
      }
  }
  const struct {
    int engine_class;
    std::string text;
  } legend[] = {{1, tr("1 necrotic")}, {2, tr("2 edema")}, {3, tr("4 enhancing")}};
  const double y = l.title_height + l.panel_height + l.legend_height / 2.0;
  for (int k = 0; k < 3; ++k) {
    const double x = 4 + 152.0 * k;
    c.rect(x, y - 6, 12, 12, brats_class_colour(legend[k].engine_class));
    c.text(x + 18, y, legend[k].text, Rgb{0, 0, 0}, 0);
  }
  return c;
}

}  // namespace unet::tools
