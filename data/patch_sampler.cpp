#include "data/patch_sampler.hpp"

#include <algorithm>
#include <numeric>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "base/rng.hpp"

namespace unet::data {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// An independent Philox stream per (seed, epoch, case, sample).
Rng patch_stream(uint64_t seed, int64_t epoch, int64_t case_index, int sample) {
  uint64_t s = splitmix64(seed ^ 0x5EED0B7A75ull);
  s = splitmix64(s ^ static_cast<uint64_t>(epoch));
  s = splitmix64(s ^ static_cast<uint64_t>(case_index));
  s = splitmix64(s ^ static_cast<uint64_t>(sample));
  return Rng(s);
}

// The range of a patch origin along one axis: [dim - P, 0] when the volume is smaller
// (padding on a random side), else [0, dim - P].
int64_t draw_origin(Rng& rng, int64_t dim, int64_t p) {
  const int64_t lo = std::min<int64_t>(0, dim - p), hi = std::max<int64_t>(0, dim - p);
  return lo + static_cast<int64_t>(rng.below(static_cast<uint32_t>(hi - lo + 1)));
}

// Tumour voxels of the window at `origin`, counting stops once above `enough`.
int64_t count_tumour(const BratsCase& c, const std::array<int64_t, 3>& origin, const std::array<int64_t, 3>& p,
                     int64_t enough) {
  const auto& d = c.dims;
  int64_t n = 0;
  const int64_t x0 = std::max<int64_t>(0, origin[0]), x1 = std::min(d[0], origin[0] + p[0]);
  const int64_t y0 = std::max<int64_t>(0, origin[1]), y1 = std::min(d[1], origin[1] + p[1]);
  const int64_t z0 = std::max<int64_t>(0, origin[2]), z1 = std::min(d[2], origin[2] + p[2]);
  for (int64_t x = x0; x < x1; ++x)
    for (int64_t y = y0; y < y1; ++y) {
      const uint8_t* row = c.classes.data() + (x * d[1] + y) * d[2];
      for (int64_t z = z0; z < z1; ++z) n += row[z] != 0 ? 1 : 0;
      if (n > enough) return n;
    }
  return n;
}

}  // namespace

PatchInfo sample_patch(const BratsCase& c, const PatchConfig& config, uint64_t seed, int64_t epoch,
                       int64_t case_index, int sample, float* image_out, float* label_out) {
  UNET_CHECK(c.has_labels && static_cast<int64_t>(c.classes.size()) == c.voxel_count(), c.id,
             tr("case has no segmentation; patches for training need labels"));
  for (int64_t s : config.size) UNET_CHECK(s >= 1, "--patch-size", tr("every patch side must be at least 1"));
  UNET_CHECK(config.max_tries >= 1, "max_tries", tr("must be at least 1"));
  const auto& d = c.dims;
  const auto& p = config.size;
  Rng rng = patch_stream(seed, epoch, case_index, sample);

  PatchInfo info;
  bool found = false;
  for (int t = 0; t < config.max_tries && !found; ++t) {
    for (int a = 0; a < 3; ++a) info.origin[a] = draw_origin(rng, d[a], p[a]);
    info.tries = t + 1;
    found = count_tumour(c, info.origin, p, config.min_tumor_voxels) > config.min_tumor_voxels;
  }
  if (!found) {
    // Fallback: centre on the k-th tumour voxel for a random k (when there is tumour at all).
    const int64_t total = c.tumour_voxels();
    if (total > 0) {
      int64_t k = static_cast<int64_t>(rng.below(static_cast<uint32_t>(std::min<int64_t>(total, 0xFFFFFFFFll))));
      int64_t index = 0;
      for (; index < c.voxel_count(); ++index)
        if (c.classes[static_cast<size_t>(index)] != 0 && k-- == 0) break;
      const std::array<int64_t, 3> at{index / (d[1] * d[2]), (index / d[2]) % d[1], index % d[2]};
      for (int a = 0; a < 3; ++a) {
        const int64_t lo = std::min<int64_t>(0, d[a] - p[a]), hi = std::max<int64_t>(0, d[a] - p[a]);
        info.origin[a] = std::clamp(at[a] - p[a] / 2, lo, hi);
      }
      info.tries = config.max_tries + 1;
    }
  }
  for (int a = 0; a < 3; ++a) info.flipped[a] = config.flip && rng.uniform() < 0.5f;

  const int64_t pv = p[0] * p[1] * p[2], cv = c.voxel_count();
  std::fill(image_out, image_out + 4 * pv, 0.0f);
  std::fill(label_out, label_out + pv, 0.0f);
  for (int64_t i = 0; i < p[0]; ++i) {
    const int64_t x = info.origin[0] + (info.flipped[0] ? p[0] - 1 - i : i);
    if (x < 0 || x >= d[0]) continue;
    for (int64_t j = 0; j < p[1]; ++j) {
      const int64_t y = info.origin[1] + (info.flipped[1] ? p[1] - 1 - j : j);
      if (y < 0 || y >= d[1]) continue;
      for (int64_t k = 0; k < p[2]; ++k) {
        const int64_t z = info.origin[2] + (info.flipped[2] ? p[2] - 1 - k : k);
        if (z < 0 || z >= d[2]) continue;
        const int64_t src = (x * d[1] + y) * d[2] + z, dst = (i * p[1] + j) * p[2] + k;
        for (int m = 0; m < 4; ++m) image_out[m * pv + dst] = c.image[static_cast<size_t>(m * cv + src)];
        const uint8_t cls = c.classes[static_cast<size_t>(src)];
        label_out[dst] = static_cast<float>(cls);
        info.tumour_voxels += cls != 0 ? 1 : 0;
      }
    }
  }
  return info;
}

std::vector<PatchRef> epoch_patch_order(int64_t cases, const PatchConfig& config, uint64_t seed, int64_t epoch,
                                        bool shuffle) {
  UNET_CHECK(config.sample_num >= 1, "--sample-num", tr("must be at least 1"));
  std::vector<PatchRef> order;
  order.reserve(static_cast<size_t>(cases * config.sample_num));
  for (int64_t c = 0; c < cases; ++c)
    for (int s = 0; s < config.sample_num; ++s) order.push_back(PatchRef{c, s});
  if (shuffle) {
    Rng rng(splitmix64(seed ^ 0x0DE7ull) ^ splitmix64(static_cast<uint64_t>(epoch)));
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(static_cast<uint32_t>(i))]);
  }
  return order;
}

PatchBatch make_patch_batch(const std::vector<BratsCase>& cases, const std::vector<PatchRef>& refs,
                            const PatchConfig& config, uint64_t seed, int64_t epoch, std::vector<PatchInfo>* infos) {
  PatchBatch b;
  b.count = static_cast<int64_t>(refs.size());
  b.size = config.size;
  const int64_t pv = config.size[0] * config.size[1] * config.size[2];
  b.images.resize(static_cast<size_t>(b.count * 4 * pv));
  b.labels.resize(static_cast<size_t>(b.count * pv));
  if (infos != nullptr) infos->assign(refs.size(), PatchInfo{});
  for (size_t n = 0; n < refs.size(); ++n) {
    const PatchRef& r = refs[n];
    UNET_CHECK(r.case_index >= 0 && r.case_index < static_cast<int64_t>(cases.size()), "make_patch_batch",
               trf("case index {} is outside the {} loaded cases", std::to_string(r.case_index),
                   std::to_string(cases.size())));
    const PatchInfo info = sample_patch(cases[static_cast<size_t>(r.case_index)], config, seed, epoch, r.case_index,
                                        r.sample, b.images.data() + n * 4 * pv, b.labels.data() + n * pv);
    if (infos != nullptr) (*infos)[n] = info;
  }
  return b;
}

}  // namespace unet::data
