#include "train/hausdorff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// The squared distance transform of one line of `n` samples, `stride` apart, in place:
// f[q] <- min over p of (w (q - p))^2 + f[p]. Samples that are +infinity are not sites.
// `sites` and `bounds` are scratch space of n and n + 1 entries.
void distance_transform_line(double* f, int64_t n, int64_t stride, double w, std::vector<double>& line,
                             std::vector<int64_t>& sites, std::vector<double>& bounds) {
  for (int64_t q = 0; q < n; ++q) line[static_cast<size_t>(q)] = f[q * stride];
  const double w2 = w * w;
  // The lower envelope of the parabolas rooted at the finite samples: sites[0..k] and the
  // positions where each begins to be the lowest, bounds[0..k+1].
  int64_t k = -1;
  for (int64_t q = 0; q < n; ++q) {
    const double fq = line[static_cast<size_t>(q)];
    if (fq == kInfinity) continue;
    if (k < 0) {
      k = 0;
      sites[0] = q;
      bounds[0] = -kInfinity;
      bounds[1] = kInfinity;
      continue;
    }
    double s;
    while (true) {
      const int64_t p = sites[static_cast<size_t>(k)];
      const double fp = line[static_cast<size_t>(p)];
      // Where the parabola at q overtakes the one at p (in index units).
      s = ((fq + w2 * static_cast<double>(q) * q) - (fp + w2 * static_cast<double>(p) * p)) /
          (2.0 * w2 * static_cast<double>(q - p));
      if (s > bounds[static_cast<size_t>(k)]) break;
      --k;  // never below 0: bounds[0] is -infinity
    }
    ++k;
    sites[static_cast<size_t>(k)] = q;
    bounds[static_cast<size_t>(k)] = s;
    bounds[static_cast<size_t>(k + 1)] = kInfinity;
  }
  if (k < 0) return;  // no finite sample: the line stays +infinity
  int64_t j = 0;
  for (int64_t q = 0; q < n; ++q) {
    while (bounds[static_cast<size_t>(j + 1)] < static_cast<double>(q)) ++j;
    const int64_t p = sites[static_cast<size_t>(j)];
    const double d = w * static_cast<double>(q - p);
    f[q * stride] = d * d + line[static_cast<size_t>(p)];
  }
}

// One pass of the transform along an axis of `count` samples, `stride` apart, for every line
// that runs along it (`lines` lines; line i starts at line_start(i)).
template <typename LineStart>
void distance_transform_axis(double* f, int64_t lines, int64_t count, int64_t stride, double spacing,
                             LineStart line_start) {
#pragma omp parallel
  {
    std::vector<double> line(static_cast<size_t>(count)), bounds(static_cast<size_t>(count + 1));
    std::vector<int64_t> sites(static_cast<size_t>(count));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < lines; ++i)
      distance_transform_line(f + line_start(i), count, stride, spacing, line, sites, bounds);
  }
}

struct Box {
  int64_t x0, x1, y0, y1, z0, z1;  // half-open
};

// The smallest box holding every nonzero voxel of a or b; nullopt-like `false` when none.
bool bounding_box(const uint8_t* a, const uint8_t* b, const VoxelGrid& g, Box& box) {
  box = {g.nx, 0, g.ny, 0, g.nz, 0};
  for (int64_t x = 0; x < g.nx; ++x)
    for (int64_t y = 0; y < g.ny; ++y) {
      const int64_t row = (x * g.ny + y) * g.nz;
      for (int64_t z = 0; z < g.nz; ++z)
        if (a[row + z] || b[row + z]) {
          box.x0 = std::min(box.x0, x), box.x1 = std::max(box.x1, x + 1);
          box.y0 = std::min(box.y0, y), box.y1 = std::max(box.y1, y + 1);
          box.z0 = std::min(box.z0, z), box.z1 = std::max(box.z1, z + 1);
        }
    }
  return box.x0 < box.x1;
}

std::vector<uint8_t> crop(const uint8_t* mask, const VoxelGrid& g, const Box& box, const VoxelGrid& cropped) {
  std::vector<uint8_t> out(static_cast<size_t>(cropped.voxels()));
  for (int64_t x = box.x0; x < box.x1; ++x)
    for (int64_t y = box.y0; y < box.y1; ++y) {
      const uint8_t* src = mask + (x * g.ny + y) * g.nz + box.z0;
      uint8_t* dst = out.data() + ((x - box.x0) * cropped.ny + (y - box.y0)) * cropped.nz;
      for (int64_t z = 0; z < cropped.nz; ++z) dst[z] = src[z] != 0;
    }
  return out;
}

// The distances (mm) from every surface voxel of `from` to the nearest surface voxel of `to`.
void append_surface_distances(const std::vector<uint8_t>& from, const std::vector<uint8_t>& to, const VoxelGrid& g,
                              std::vector<double>& out) {
  const std::vector<double> squared = squared_distance_transform(to.data(), g);
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i]) out.push_back(std::sqrt(squared[i]));
}

}  // namespace

void check_voxel_grid(const VoxelGrid& g, const char* what) {
  UNET_CHECK(g.nx > 0 && g.ny > 0 && g.nz > 0, what,
             trf("the volume size must be positive along every axis; got {} x {} x {}", std::to_string(g.nx),
                 std::to_string(g.ny), std::to_string(g.nz)));
  const auto good = [](double s) {
    return std::isfinite(s) && s > 0.0;
  };
  UNET_CHECK(good(g.sx) && good(g.sy) && good(g.sz), what,
             trf("the voxel spacing must be a positive finite number of mm along every axis; got {}, {}, {}",
                 std::to_string(g.sx), std::to_string(g.sy), std::to_string(g.sz)));
}

std::vector<uint8_t> surface_voxels(const uint8_t* mask, const VoxelGrid& g) {
  check_voxel_grid(g, "surface_voxels");
  std::vector<uint8_t> out(static_cast<size_t>(g.voxels()), 0);
  const int64_t sx = g.ny * g.nz, sy = g.nz;
#pragma omp parallel for schedule(static)
  for (int64_t x = 0; x < g.nx; ++x)
    for (int64_t y = 0; y < g.ny; ++y)
      for (int64_t z = 0; z < g.nz; ++z) {
        const int64_t i = x * sx + y * sy + z;
        if (!mask[i]) continue;
        const bool inner = x > 0 && x + 1 < g.nx && y > 0 && y + 1 < g.ny && z > 0 && z + 1 < g.nz && mask[i - sx] &&
                           mask[i + sx] && mask[i - sy] && mask[i + sy] && mask[i - 1] && mask[i + 1];
        out[static_cast<size_t>(i)] = !inner;
      }
  return out;
}

std::vector<double> squared_distance_transform(const uint8_t* features, const VoxelGrid& g) {
  check_voxel_grid(g, "squared_distance_transform");
  const int64_t nx = g.nx, ny = g.ny, nz = g.nz;
  std::vector<double> f(static_cast<size_t>(g.voxels()));
  for (int64_t i = 0; i < g.voxels(); ++i) f[static_cast<size_t>(i)] = features[i] ? 0.0 : kInfinity;
  double* data = f.data();
  // Along Z (contiguous), then Y, then X: each pass takes the minimum over one more axis.
  distance_transform_axis(data, nx * ny, nz, 1, g.sz, [&](int64_t i) { return i * nz; });
  distance_transform_axis(data, nx * nz, ny, nz, g.sy, [&](int64_t i) { return (i / nz) * ny * nz + i % nz; });
  distance_transform_axis(data, ny * nz, nx, ny * nz, g.sx, [&](int64_t i) { return i; });
  return f;
}

double percentile_linear(std::vector<double> values, double q) {
  UNET_CHECK(!values.empty(), "percentile_linear", tr("there are no values to take a percentile of"));
  UNET_CHECK(q >= 0.0 && q <= 100.0, "percentile_linear",
             trf("the percentile must lie in [0, 100]; got {}", std::to_string(q)));
  std::sort(values.begin(), values.end());
  const double index = q / 100.0 * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(index));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double t = index - static_cast<double>(below);
  const double a = values[below], b = values[above];
  // numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

double hd95(const uint8_t* a, const uint8_t* b, const VoxelGrid& g) {
  check_voxel_grid(g, "hd95");
  Box box;
  if (!bounding_box(a, b, g, box)) return 0.0;  // both empty
  // Only the box around both masks matters: outside it both are empty (so surfaces are the
  // same), and every surface voxel, the sites and the queries of the transform, lies inside.
  const VoxelGrid c{box.x1 - box.x0, box.y1 - box.y0, box.z1 - box.z0, g.sx, g.sy, g.sz};
  const std::vector<uint8_t> ca = crop(a, g, box, c), cb = crop(b, g, box, c);
  const bool a_empty = std::find(ca.begin(), ca.end(), 1) == ca.end();
  const bool b_empty = std::find(cb.begin(), cb.end(), 1) == cb.end();
  if (a_empty || b_empty) return std::numeric_limits<double>::quiet_NaN();
  const std::vector<uint8_t> surface_a = surface_voxels(ca.data(), c), surface_b = surface_voxels(cb.data(), c);
  std::vector<double> distances;
  append_surface_distances(surface_a, surface_b, c, distances);
  append_surface_distances(surface_b, surface_a, c, distances);
  return percentile_linear(std::move(distances), 95.0);
}

}  // namespace unet
