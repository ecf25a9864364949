#include "data/synth_brats.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "base/rng.hpp"
#include "data/brats_scan.hpp"
#include "data/image_noise.hpp"
#include "data/nifti_io.hpp"

namespace unet::data {

namespace fs = std::filesystem;

std::string synth_brats_case_id(int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "BraTS20_Training_%03d", index + 1);
  return buf;
}

namespace {

// Smooth 3D value noise: random values in [-1, 1] on a lattice of `cell` voxels,
// interpolated with a smoothstep.
class ValueNoise3 {
 public:
  ValueNoise3(Rng& rng, const std::array<int64_t, 3>& dims, float cell) : cell_(cell) {
    for (int a = 0; a < 3; ++a) n_[a] = static_cast<int64_t>(static_cast<float>(dims[a]) / cell) + 2;
    values_.resize(static_cast<size_t>(n_[0] * n_[1] * n_[2]));
    for (auto& v : values_) v = rng.uniform(-1.0f, 1.0f);
  }
  float at(float x, float y, float z) const {
    const float f[3] = {x / cell_, y / cell_, z / cell_};
    int64_t i[3];
    float t[3];
    for (int a = 0; a < 3; ++a) {
      i[a] = std::clamp<int64_t>(static_cast<int64_t>(f[a]), 0, n_[a] - 2);
      const float u = std::clamp(f[a] - static_cast<float>(i[a]), 0.0f, 1.0f);
      t[a] = u * u * (3 - 2 * u);
    }
    float r = 0.0f;
    for (int c = 0; c < 8; ++c) {
      const int dx = c & 1, dy = (c >> 1) & 1, dz = (c >> 2) & 1;
      const float w = (dx ? t[0] : 1 - t[0]) * (dy ? t[1] : 1 - t[1]) * (dz ? t[2] : 1 - t[2]);
      r += w * values_[static_cast<size_t>(((i[0] + dx) * n_[1] + i[1] + dy) * n_[2] + i[2] + dz)];
    }
    return r;
  }

 private:
  float cell_;
  int64_t n_[3] = {0, 0, 0};
  std::vector<float> values_;
};

// How far inside a compartment of radius `edge` a point at `dist` is, from 0 (outside) to 1
// (inside), over a transition `width` voxels wide centred on the edge.
float soft_inside(float edge, float dist, float width) { return std::clamp(0.5f + (edge - dist) / width, 0.0f, 1.0f); }

// Intensities per modality (flair, t1, t1ce, t2), in the int16 range of the real scans.
struct Tissue {
  float v[4];
};
constexpr Tissue kWhite{{600, 1040, 1080, 520}};
constexpr Tissue kGrey{{760, 840, 880, 680}};
constexpr Tissue kCsf{{180, 360, 380, 1800}};
constexpr Tissue kEdema{{1360, 760, 800, 1400}};
constexpr Tissue kEnhancing{{1120, 800, 2000, 1040}};
constexpr Tissue kNecrotic{{840, 400, 520, 1640}};

constexpr std::array<const char*, 5> kFileRoles = {"flair", "t1", "t1ce", "t2", "seg"};

SynthBratsReport write_case(const SynthBratsConfig& cfg, int index, const fs::path& root) {
  Rng rng(cfg.seed, static_cast<uint64_t>(index) << 40);
  const auto& d = cfg.size;
  const int64_t nv = d[0] * d[1] * d[2];
  const float fd[3] = {static_cast<float>(d[0]), static_cast<float>(d[1]), static_cast<float>(d[2])};

  // The brain: an ellipsoid a little longer front to back (y), its surface gently deformed.
  float centre[3], radius[3];
  const float radius_share[3] = {0.38f, 0.44f, 0.42f};
  for (int a = 0; a < 3; ++a) {
    centre[a] = fd[a] / 2 + rng.uniform(-0.03f, 0.03f) * fd[a];
    radius[a] = fd[a] * radius_share[a] * rng.uniform(0.9f, 1.0f);
  }
  const float min_radius = std::min({radius[0], radius[1], radius[2]});
  const float avg_side = (fd[0] + fd[1] + fd[2]) / 3;
  ValueNoise3 surface(rng, d, avg_side / 6), texture(rng, d, avg_side / 24), bias(rng, d, avg_side / 2),
      lump(rng, d, avg_side / 8);
  float gain[4];
  for (float& g : gain) g = rng.uniform(0.8f, 1.2f);

  // The tumour: centred within 45% of the brain's radius of its middle, so that even its
  // deformed outer edge (1.25 x 0.35 of the smallest radius) stays inside the brain.
  const float outer = min_radius * rng.uniform(0.25f, 0.35f);
  const float theta = rng.uniform(0, 6.2831853f), phi = std::acos(rng.uniform(-1.0f, 1.0f));
  const float off = rng.uniform(0.0f, 0.45f);
  const float toward[3] = {std::sin(phi) * std::cos(theta), std::sin(phi) * std::sin(theta), std::cos(phi)};
  float tc[3], stretch[3];
  for (int a = 0; a < 3; ++a) {
    tc[a] = centre[a] + toward[a] * off * radius[a];
    stretch[a] = rng.uniform(0.9f, 1.1f);
  }
  // Radii in voxels of the sub-regions; the rim and the edema are at least 3 voxels thick, so
  // the core never touches the edema nor the rim the background: the distance below changes
  // by less than 2 per voxel (1 / 0.9 from the stretch, 10% from the smooth deformation).
  const float core = outer * rng.uniform(0.25f, 0.4f);
  const float rim = core + std::max(3.0f, outer * rng.uniform(0.12f, 0.2f));
  const float edema = std::max(outer, rim + 3.0f);
  const float sigma = 0.07f * kWhite.v[0];
  ImageNoise noise((static_cast<uint64_t>(rng.next_u32()) << 32) | rng.next_u32());

  std::vector<std::vector<float>> images(4, std::vector<float>(static_cast<size_t>(nv), 0.0f));
  std::vector<float> seg(static_cast<size_t>(nv), 0.0f);
  SynthBratsReport rep;
  for (int64_t x = 0; x < d[0]; ++x)
    for (int64_t y = 0; y < d[1]; ++y)
      for (int64_t z = 0; z < d[2]; ++z) {
        const float p[3] = {static_cast<float>(x) + 0.5f, static_cast<float>(y) + 0.5f, static_cast<float>(z) + 0.5f};
        float rho2 = 0;
        for (int a = 0; a < 3; ++a) rho2 += (p[a] - centre[a]) * (p[a] - centre[a]) / (radius[a] * radius[a]);
        const float rho = std::sqrt(rho2) / (1.0f + 0.05f * surface.at(p[0], p[1], p[2]));
        if (rho >= 1.0f) continue;  // skull-stripped: exactly zero outside the brain
        const size_t i = static_cast<size_t>((x * d[1] + y) * d[2] + z);
        Tissue t = (rho > 0.85f || texture.at(p[0], p[1], p[2]) > 0.4f) ? kGrey : kWhite;
        // Two ventricles beside the midline.
        const float vx = (std::fabs(p[0] - centre[0]) - 0.12f * radius[0]) / (0.07f * radius[0]);
        const float vy = (p[1] - centre[1]) / (0.28f * radius[1]), vz = (p[2] - centre[2]) / (0.2f * radius[2]);
        if (vx * vx + vy * vy + vz * vz < 1.0f) t = kCsf;
        float r3 = 0;
        for (int a = 0; a < 3; ++a) r3 += (p[a] - tc[a]) * (p[a] - tc[a]) / (stretch[a] * stretch[a]);
        const float dist = std::sqrt(r3) / (1.0f + 0.1f * lump.at(p[0], p[1], p[2]));
        int label = 0;
        if (dist < core) {
          label = 1;
        } else if (dist < rim) {
          label = 4;
        } else if (dist < edema) {
          label = 2;
        }
        // The labels are sharp; the images are not, as in real scans: compartments blend over
        // a voxel or two (partial volume), the edema fades into the tissue around it (at its
        // border it is barely brighter than white matter), the tumour's intensity varies
        // within each compartment, and the noise is that of a clinical scan. Without this a
        // model separates the compartments by thresholds (validation Dice 0.999 in 5 epochs).
        const float edema_w = soft_inside(edema, dist, 2.0f) *
                              (0.35f + 0.65f * std::clamp((edema - dist) / (edema - rim), 0.0f, 1.0f));
        const float rim_w = soft_inside(rim, dist, 1.5f) * (0.8f + 0.2f * lump.at(p[2], p[1], p[0]));
        const float core_w = soft_inside(core, dist, 1.5f);
        const float hetero = 1.0f + 0.12f * texture.at(p[1], p[2], p[0]);
        Tissue mixed = t;
        for (int m = 0; m < 4; ++m) {
          float v = t.v[m];
          v += edema_w * (kEdema.v[m] * hetero - v);
          v += rim_w * (kEnhancing.v[m] * hetero - v);
          v += core_w * (kNecrotic.v[m] * hetero - v);
          mixed.v[m] = v;
        }
        t = mixed;
        seg[i] = static_cast<float>(label);
        rep.tumour_voxels += label != 0 ? 1 : 0;
        const float b = 1.0f + 0.1f * bias.at(p[0], p[1], p[2]);
        for (int m = 0; m < 4; ++m) {
          const float v = t.v[m] * gain[m] * b + sigma * noise.gaussian();
          images[static_cast<size_t>(m)][i] = std::clamp(std::round(v), 1.0f, 32767.0f);  // nonzero = brain
        }
      }

  const std::string id = synth_brats_case_id(index);
  const fs::path dir = root / id;
  fs::create_directories(dir);
  const bool compressed = index % 2 == 1;
  // The real set's affine: 1 mm voxels, x and y flipped (RAS world from LPS-ordered voxels).
  const std::array<double, 16> affine = {-1, 0, 0, 0, 0, -1, 0, static_cast<double>(d[1] - 1), 0, 0, 1, 0, 0, 0, 0, 1};
  const NiftiHeader header = NiftiHeader::make(d, {1.0, 1.0, 1.0}, affine);
  for (size_t f = 0; f < kFileRoles.size(); ++f) {
    const std::string path = (dir / (id + "_" + kFileRoles[f] + (compressed ? ".nii.gz" : ".nii"))).string();
    if (f < 4)
      write_nifti(path, header, images[f], NiftiDatatype::Int16);
    else
      write_nifti(path, header, seg, NiftiDatatype::UInt8);
    ++rep.files;
  }
  rep.cases = 1;
  rep.compressed_cases = compressed ? 1 : 0;
  return rep;
}

}  // namespace

SynthBratsReport synth_brats(const SynthBratsConfig& config) {
  UNET_CHECK(!config.out.empty(), "--out", tr("an output folder is needed"));
  UNET_CHECK(config.cases >= 1 && config.cases <= 999, "--cases",
             trf("must be 1..999 (BraTS20_Training_NNN has three digits), got {}", std::to_string(config.cases)));
  for (int64_t s : config.size)
    UNET_CHECK(s >= 16 && s <= 1024, "--size", trf("every side must be 16..1024 voxels, got {}", std::to_string(s)));
  const fs::path root = fs::path(config.out) / "MICCAI_BraTS2020_TrainingData";
  std::error_code ec;
  fs::create_directories(root, ec);
  UNET_CHECK(fs::is_directory(root, ec), root.string(), tr("cannot create the output folder"));

  SynthBratsReport total;
  total.root = root.string();
  std::mutex mu;
  std::atomic<int> next{0};
  std::exception_ptr first_error;
  auto worker = [&] {
    for (int i = next++; i < config.cases; i = next++) {
      try {
        const SynthBratsReport r = write_case(config, i, root);
        std::lock_guard<std::mutex> lock(mu);
        total.cases += r.cases, total.files += r.files, total.compressed_cases += r.compressed_cases;
        total.tumour_voxels += r.tumour_voxels;
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!first_error) first_error = std::current_exception();
        next = config.cases;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < std::max(1, std::min(config.threads, config.cases)); ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (first_error) std::rethrow_exception(first_error);
  return total;
}

}  // namespace unet::data
