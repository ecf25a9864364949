#include "data/synth.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/image_noise.hpp"
#include "base/rng.hpp"

namespace unet::data {

namespace fs = std::filesystem;

std::string synthetic_case_id(uint64_t seed, int index) {
  Rng rng(seed ^ 0xC0FFEEull, static_cast<uint64_t>(index) * 16);
  const int year = 1995 + static_cast<int>(rng.below(10)), month = 1 + static_cast<int>(rng.below(12)),
            day = 1 + static_cast<int>(rng.below(28));
  char buf[64];
  std::snprintf(buf, sizeof buf, "SYNTH_SY_%04d_%04d%02d%02d", index + 1, year, month, day);
  return buf;
}

namespace {

constexpr float kPi = 3.14159265358979f;

// Smooth 3D value noise on a coarse lattice: random values in [-1, 1] at lattice points,
// interpolated with a smoothstep. Precomputed per patient, so a pixel costs a few flops.
class LatticeNoise {
 public:
  LatticeNoise(Rng& rng, int64_t size, int64_t depth, float cell_xy, float cell_z)
      : cell_xy_(cell_xy), cell_z_(cell_z) {
    nx_ = static_cast<int64_t>(static_cast<float>(size) / cell_xy) + 2;
    nz_ = static_cast<int64_t>(static_cast<float>(depth) / cell_z) + 2;
    values_.resize(static_cast<size_t>(nx_ * nx_ * nz_));
    for (auto& v : values_) v = rng.uniform(-1.0f, 1.0f);
  }
  // The slice z as a 2D lattice (interpolated in z once per slice).
  std::vector<float> slice(float z) const {
    const float fz = z / cell_z_;
    const int64_t z0 = std::min<int64_t>(static_cast<int64_t>(fz), nz_ - 2);
    const float t = smooth(fz - static_cast<float>(z0));
    std::vector<float> s(static_cast<size_t>(nx_ * nx_));
    for (int64_t i = 0; i < nx_ * nx_; ++i)
      s[static_cast<size_t>(i)] = values_[static_cast<size_t>(z0 * nx_ * nx_ + i)] * (1 - t) +
                                  values_[static_cast<size_t>((z0 + 1) * nx_ * nx_ + i)] * t;
    return s;
  }
  float at(const std::vector<float>& s, float x, float y) const {
    const float fx = x / cell_xy_, fy = y / cell_xy_;
    const int64_t x0 = std::clamp<int64_t>(static_cast<int64_t>(fx), 0, nx_ - 2);
    const int64_t y0 = std::clamp<int64_t>(static_cast<int64_t>(fy), 0, nx_ - 2);
    const float tx = smooth(fx - static_cast<float>(x0)), ty = smooth(fy - static_cast<float>(y0));
    const float a = s[static_cast<size_t>(y0 * nx_ + x0)], b = s[static_cast<size_t>(y0 * nx_ + x0 + 1)];
    const float c = s[static_cast<size_t>((y0 + 1) * nx_ + x0)], d = s[static_cast<size_t>((y0 + 1) * nx_ + x0 + 1)];
    return (a * (1 - tx) + b * tx) * (1 - ty) + (c * (1 - tx) + d * tx) * ty;
  }

 private:
  static float smooth(float t) { return t * t * (3 - 2 * t); }
  float cell_xy_, cell_z_;
  int64_t nx_ = 0, nz_ = 0;
  std::vector<float> values_;
};

struct Tissue {
  float pre, flair, post;
};
// Typical relative intensities of LGG MRI: T1 pre-contrast, FLAIR, T1 post-contrast.
constexpr Tissue kScalp{0.80f, 0.45f, 0.82f};
constexpr Tissue kSkull{0.07f, 0.05f, 0.09f};
constexpr Tissue kGrey{0.47f, 0.56f, 0.50f};
constexpr Tissue kWhite{0.63f, 0.44f, 0.65f};
constexpr Tissue kCsf{0.14f, 0.08f, 0.16f};
constexpr Tissue kTumour{0.38f, 0.92f, 0.42f};
constexpr Tissue kEnhancing{0.40f, 0.88f, 0.90f};
constexpr Tissue kNecrosis{0.22f, 0.70f, 0.18f};

SynthReport write_patient(const SynthConfig& cfg, int index, const fs::path& root) {
  Rng rng(cfg.seed, static_cast<uint64_t>(index) << 40);
  const int64_t s = cfg.size;
  const int64_t depth = cfg.min_slices + rng.below(static_cast<uint32_t>(cfg.max_slices - cfg.min_slices + 1));
  const std::string id = synthetic_case_id(cfg.seed, index);
  const fs::path dir = root / id;
  fs::create_directories(dir);

  const float fs_ = static_cast<float>(s);
  const float cx = fs_ / 2 + rng.uniform(-6, 6), cy = fs_ / 2 + rng.uniform(-6, 6);
  const float ax = fs_ * rng.uniform(0.36f, 0.41f), ay = fs_ * rng.uniform(0.41f, 0.46f);
  const float tilt = rng.uniform(-0.12f, 0.12f);
  const float contrast_gain[3] = {rng.uniform(0.85f, 1.15f), rng.uniform(0.85f, 1.15f), rng.uniform(0.85f, 1.15f)};
  const float noise_sigma = rng.uniform(0.015f, 0.035f);
  LatticeNoise texture(rng, s, depth, 14.0f, 3.0f), sulci(rng, s, depth, 5.0f, 2.0f), bias(rng, s, depth, 90.0f, 30.0f),
      lump(rng, s, depth, 10.0f, 3.0f);

  // Tumour: an ellipsoid deformed by noise, over about a third of the slices.
  const float run = static_cast<float>(depth) * rng.uniform(0.25f, 0.45f);
  const float tz = static_cast<float>(depth) * rng.uniform(0.35f, 0.6f);
  const float rz = run / 2;
  const float rr = rng.uniform(0.12f, 0.30f) * ax;
  const float ang = rng.uniform(0, 2 * kPi), off = rng.uniform(0.15f, 0.5f);
  const float tx = cx + std::cos(ang) * off * ax, ty = cy + std::sin(ang) * off * ay;
  const float trx = rr * rng.uniform(0.8f, 1.25f), try_ = rr * rng.uniform(0.8f, 1.25f);
  const float enhance_threshold = rng.uniform(-0.1f, 0.4f);

  SynthReport rep;
  rep.patients = 1;
  ImageNoise pixel_noise((static_cast<uint64_t>(rng.next_u32()) << 32) | rng.next_u32());
  Image8 img{s, s, 3, std::vector<uint8_t>(static_cast<size_t>(s * s * 3))};
  Image8 msk{s, s, 1, std::vector<uint8_t>(static_cast<size_t>(s * s))};
  for (int64_t d = 0; d < depth; ++d) {
    const float z = static_cast<float>(d) + 0.5f;
    const float t = z / static_cast<float>(depth);
    // The head is widest a little below the middle and narrows towards both ends.
    const float head = std::sqrt(std::max(0.0f, 1.0f - std::pow((t - 0.45f) / 0.62f, 2.0f)));
    const auto tex = texture.slice(z), sul = sulci.slice(z), bia = bias.slice(z), lmp = lump.slice(z);
    const float dzt = (z - tz) / rz;
    bool positive = false;
    for (int64_t y = 0; y < s; ++y) {
      for (int64_t x = 0; x < s; ++x) {
        const float fx = static_cast<float>(x), fy = static_cast<float>(y);
        const float dx = fx - cx, dy = fy - cy;
        const float rx = dx * std::cos(tilt) + dy * std::sin(tilt), ry = -dx * std::sin(tilt) + dy * std::cos(tilt);
        const float rho = head > 0.05f ? std::sqrt((rx * rx) / (ax * ax) + (ry * ry) / (ay * ay)) / head : 9.0f;
        Tissue tissue{0, 0, 0};
        bool in_tumour = false;
        if (rho < 1.0f) {
          if (rho > 0.93f) {
            tissue = kScalp;
          } else if (rho > 0.86f) {
            tissue = kSkull;
          } else {
            // Brain: cortex (grey) near the edge and along sulci, white matter inside,
            // ventricles near the centre on the middle slices.
            const float n = texture.at(tex, fx, fy) + 0.5f * sulci.at(sul, fx, fy);
            tissue = (rho > 0.74f || n > 0.35f) ? kGrey : kWhite;
            if (rho > 0.80f && sulci.at(sul, fx, fy) > 0.45f) tissue = kCsf;
            const float vx = std::abs(rx) - 0.12f * ax, vy = ry / (0.28f * ay);
            if (t > 0.35f && t < 0.7f && (vx * vx) / (0.07f * ax * 0.07f * ax) + vy * vy < 1.0f) tissue = kCsf;
            if (std::abs(dzt) < 1.0f) {
              const float ex = (fx - tx) / trx, ey = (fy - ty) / try_;
              const float r3 = std::sqrt(ex * ex + ey * ey + dzt * dzt);
              const float shape = 1.0f + 0.35f * lump.at(lmp, fx, fy);
              if (r3 < shape && rho < 0.84f) {
                in_tumour = true;
                tissue = kTumour;
                const float rel = r3 / shape;
                if (rel > 0.7f && lump.at(lmp, fy, fx) > enhance_threshold) tissue = kEnhancing;  // enhancing rim
                if (rel < 0.35f && rr > 0.2f * ax) tissue = kNecrosis;
              }
            }
          }
        }
        const float b = 1.0f + 0.18f * bias.at(bia, fx, fy);
        const float vals[3] = {tissue.pre, tissue.flair, tissue.post};
        for (int c = 0; c < 3; ++c) {
          float v = vals[c] * contrast_gain[c] * b;
          if (rho < 1.0f) v += noise_sigma * pixel_noise.gaussian();
          v = std::abs(v + (rho < 1.0f ? 0.0f : 0.004f * pixel_noise.gaussian()));  // magnitude images: Rician-like floor
          img.pixels[static_cast<size_t>((y * s + x) * 3 + c)] = static_cast<uint8_t>(std::clamp(v * 255.0f, 0.0f, 255.0f));
        }
        msk.pixels[static_cast<size_t>(y * s + x)] = in_tumour ? 255 : 0;
        positive |= in_tumour;
      }
    }
    const std::string stem = (dir / (id + "_" + std::to_string(d + 1))).string();
    write_tiff(stem + ".tif", img, cfg.compression);
    write_tiff(stem + "_mask.tif", msk, cfg.compression);
    ++rep.slices;
    rep.positive_slices += positive ? 1 : 0;
  }
  return rep;
}

}  // namespace

SynthReport generate_synthetic(const SynthConfig& cfg) {
  UNET_CHECK(cfg.patients >= 1, "--patients", tr("must be at least 1"));
  UNET_CHECK(cfg.size >= 32, "--size", tr("must be at least 32"));
  UNET_CHECK(cfg.min_slices >= 1 && cfg.max_slices >= cfg.min_slices, "synth", tr("invalid slice range"));
  const fs::path root = fs::path(cfg.out) / "kaggle_3m";
  std::error_code ec;
  fs::create_directories(root, ec);
  UNET_CHECK(!ec, cfg.out, trf("cannot create the output folder: {}", ec.message()));
  SynthReport total;
  std::mutex mu;
  std::atomic<int> next{0};
  std::exception_ptr error;
  auto worker = [&] {
    for (int i = next++; i < cfg.patients; i = next++) {
      try {
        const SynthReport r = write_patient(cfg, i, root);
        std::lock_guard<std::mutex> lock(mu);
        total.patients += r.patients;
        total.slices += r.slices;
        total.positive_slices += r.positive_slices;
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        next = cfg.patients;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, cfg.threads); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return total;
}

}  // namespace unet::data
