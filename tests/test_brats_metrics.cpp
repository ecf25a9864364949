// BraTS metrics (train/brats_metrics.hpp, train/hausdorff.hpp): hand-computed small cases, the
// distance transform against brute force, and the whole metric set against scipy / medpy's
// definition (tests/metrics/hd95_reference.py, run by ctest before this test).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/rng.hpp"
#include "train/brats_metrics.hpp"

using namespace unet;
namespace fs = std::filesystem;

namespace {

int64_t at(const VoxelGrid& g, int64_t x, int64_t y, int64_t z) {
  return (x * g.ny + y) * g.nz + z;
}

std::vector<uint8_t> read_bytes(const fs::path& path, size_t expected) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE_MESSAGE(bytes.size() == expected, path << " has " << bytes.size() << " bytes, expected " << expected);
  return bytes;
}

}  // namespace

TEST_CASE("surface voxels: 6-neighbourhood, the volume's border counts as outside") {
  SUBCASE("a 3x3x3 cube inside a 5x5x5 volume: all but its centre") {
    const VoxelGrid g{5, 5, 5};
    std::vector<uint8_t> mask(125, 0);
    for (int x = 1; x < 4; ++x)
      for (int y = 1; y < 4; ++y)
        for (int z = 1; z < 4; ++z) mask[at(g, x, y, z)] = 1;
    const auto s = surface_voxels(mask.data(), g);
    int count = 0;
    for (auto v : s) count += v;
    CHECK(count == 26);
    CHECK(s[at(g, 2, 2, 2)] == 0);
    CHECK(s[at(g, 1, 1, 1)] == 1);
  }
  SUBCASE("a full volume: every voxel on the volume's faces, not the inside") {
    const VoxelGrid g{4, 3, 5};
    std::vector<uint8_t> mask(60, 1);
    const auto s = surface_voxels(mask.data(), g);
    CHECK(s[at(g, 1, 1, 1)] == 0);
    CHECK(s[at(g, 2, 1, 3)] == 0);
    CHECK(s[at(g, 0, 1, 1)] == 1);
    CHECK(s[at(g, 1, 1, 4)] == 1);
    int count = 0;
    for (auto v : s) count += v;
    CHECK(count == 60 - 2 * 1 * 3);  // the inside is 2 x 1 x 3
  }
  SUBCASE("a diagonal neighbour outside does not make a surface voxel (connectivity 1)") {
    const VoxelGrid g{5, 5, 5};
    std::vector<uint8_t> mask(125, 1);
    mask[at(g, 1, 1, 1)] = 0;
    const auto s = surface_voxels(mask.data(), g);
    CHECK(s[at(g, 2, 2, 2)] == 0);  // only diagonal to the hole
    CHECK(s[at(g, 1, 1, 2)] == 1);  // face neighbour of the hole
  }
}

TEST_CASE("squared distance transform equals brute force, anisotropic spacing") {
  // Random sparse features; brute force takes the minimum over every feature. Both are exact
  // in double; they differ only in rounding of the sums (relative 1e-12 is ~1e4 ulps).
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const VoxelGrid g{7 + static_cast<int64_t>(seed), 9, 6, 0.7 + 0.2 * static_cast<double>(seed), 1.9, 0.45};
    Rng rng(seed);
    std::vector<uint8_t> features(static_cast<size_t>(g.voxels()));
    for (auto& f : features) f = rng.uniform(0.0f, 1.0f) < 0.03f;
    features[static_cast<size_t>(seed)] = 1;  // at least one
    const auto d2 = squared_distance_transform(features.data(), g);
    for (int64_t x = 0; x < g.nx; ++x)
      for (int64_t y = 0; y < g.ny; ++y)
        for (int64_t z = 0; z < g.nz; ++z) {
          double best = std::numeric_limits<double>::infinity();
          for (int64_t fx = 0; fx < g.nx; ++fx)
            for (int64_t fy = 0; fy < g.ny; ++fy)
              for (int64_t fz = 0; fz < g.nz; ++fz)
                if (features[at(g, fx, fy, fz)]) {
                  const double dx = (x - fx) * g.sx, dy = (y - fy) * g.sy, dz = (z - fz) * g.sz;
                  best = std::min(best, dx * dx + dy * dy + dz * dz);
                }
          REQUIRE(d2[at(g, x, y, z)] == doctest::Approx(best).epsilon(1e-12));
        }
  }
  SUBCASE("no features: infinity everywhere") {
    const VoxelGrid g{3, 4, 5};
    std::vector<uint8_t> none(60, 0);
    for (double v : squared_distance_transform(none.data(), g)) CHECK(std::isinf(v));
  }
}

TEST_CASE("percentile_linear is numpy.percentile's default") {
  // np.percentile([4, 1, 3, 2], 95) = 3.85; np.percentile([0, 0, 6], 95) = 5.4. Relative
  // 1e-15 = a few ulps: the index 0.95 * (n - 1) is itself rounded.
  CHECK(percentile_linear({4, 1, 3, 2}, 95) == doctest::Approx(3.85).epsilon(1e-15));
  CHECK(percentile_linear({0, 0, 6}, 95) == doctest::Approx(5.4).epsilon(1e-15));
  CHECK(percentile_linear({4, 1, 3, 2}, 0) == 1.0);
  CHECK(percentile_linear({4, 1, 3, 2}, 100) == 4.0);
  CHECK(percentile_linear({7}, 95) == 7.0);
  CHECK_THROWS_AS(percentile_linear({}, 95), Error);
}

TEST_CASE("hd95 by hand") {
  SUBCASE("two single voxels: their distance in mm") {
    const VoxelGrid g{4, 3, 3, 1.5, 1.0, 1.0};
    std::vector<uint8_t> a(36, 0), b(36, 0);
    a[at(g, 0, 1, 1)] = 1;
    b[at(g, 2, 1, 1)] = 1;
    CHECK(hd95(a.data(), b.data(), g) == doctest::Approx(3.0).epsilon(1e-15));
  }
  SUBCASE("percentile interpolation over both directions") {
    // A = {(0,0,0)}, B = {(0,0,0), (0,0,3)}, sz = 2 mm: A->B {0}, B->A {0, 6}; union {0, 0, 6}:
    // index 0.95 * 2 = 1.9 -> 0 + 0.9 * 6 = 5.4 mm.
    const VoxelGrid g{2, 2, 5, 1.0, 1.0, 2.0};
    std::vector<uint8_t> a(20, 0), b(20, 0);
    a[at(g, 0, 0, 0)] = 1;
    b[at(g, 0, 0, 0)] = 1;
    b[at(g, 0, 0, 3)] = 1;
    CHECK(hd95(a.data(), b.data(), g) == doctest::Approx(5.4).epsilon(1e-14));
    CHECK(hd95(b.data(), a.data(), g) == doctest::Approx(5.4).epsilon(1e-14));  // symmetric
  }
  SUBCASE("identical masks: 0; empty masks: 0 when both, NaN when one") {
    const VoxelGrid g{5, 5, 5};
    std::vector<uint8_t> a(125, 0), none(125, 0);
    a[at(g, 2, 2, 2)] = a[at(g, 2, 3, 2)] = 1;
    CHECK(hd95(a.data(), a.data(), g) == 0.0);
    CHECK(hd95(none.data(), none.data(), g) == 0.0);
    CHECK(std::isnan(hd95(a.data(), none.data(), g)));
    CHECK(std::isnan(hd95(none.data(), a.data(), g)));
  }
  SUBCASE("a bad grid is refused") {
    std::vector<uint8_t> a(8, 1);
    CHECK_THROWS_AS(hd95(a.data(), a.data(), VoxelGrid{2, 2, 2, 1.0, 0.0, 1.0}), Error);
    CHECK_THROWS_AS(hd95(a.data(), a.data(), VoxelGrid{2, 0, 2}), Error);
  }
}

TEST_CASE("BraTS metrics of a hand-made case") {
  // One row along Z of 10 voxels (X = Y = 1). Engine classes: 3 is BraTS label 4.
  const VoxelGrid g{1, 1, 10, 1.0, 1.0, 1.0};
  const std::vector<uint8_t> truth{0, 2, 2, 1, 1, 3, 3, 2, 0, 0};
  const std::vector<uint8_t> pred{0, 2, 2, 1, 3, 3, 2, 2, 2, 0};
  const BratsCaseMetrics m = brats_case_metrics(pred, truth, g);
  // label 1: truth {3,4}, pred {3}: 2*1/3.  label 2: truth {1,2,7}, pred {1,2,6,7,8}: 2*3/8.
  // label 4: truth {5,6}, pred {4,5}: 2*1/4.  WT: truth {1..7}, pred {1..8}: 2*7/15.
  // TC: truth {3,4,5,6}, pred {3,4,5}: 2*3/7.  ET = label 4.
  // Relative 1e-15: a ratio of small integers, rounded once.
  CHECK(m.dice_label1 == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(m.dice_label2 == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(m.dice_label4 == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(m.dice_wt == doctest::Approx(14.0 / 15.0).epsilon(1e-15));
  CHECK(m.dice_tc == doctest::Approx(6.0 / 7.0).epsilon(1e-15));
  CHECK(m.dice_et == m.dice_label4);
  // IoU: WT 7 shared of 8 in either; TC 3 of 4; ET 1 of 3. And IoU = D / (2 - D) per region.
  CHECK(m.iou_wt == doctest::Approx(7.0 / 8.0).epsilon(1e-15));
  CHECK(m.iou_tc == doctest::Approx(3.0 / 4.0).epsilon(1e-15));
  CHECK(m.iou_et == doctest::Approx(1.0 / 3.0).epsilon(1e-15));
  for (const auto& [iou, dice] : {std::pair{m.iou_wt, m.dice_wt}, std::pair{m.iou_tc, m.dice_tc}, std::pair{m.iou_et, m.dice_et}})
    CHECK(iou == doctest::Approx(dice / (2.0 - dice)).epsilon(1e-14));  // two roundings apart
  // On a single row every mask voxel is a surface voxel. Relative 1e-14: the percentile index
  // 0.95 * (n - 1) is rounded (numpy itself gives 0.29999999999999893 for the first).
  // WT: truth 1..7 -> {0 x 7}, pred 1..8 -> {0 x 7, 1}: 15 values, index 13.3 -> 0.3.
  CHECK(m.hd95_wt == doctest::Approx(0.3).epsilon(1e-14));
  // TC: truth {3,4,5,6} -> {0,0,0,1}, pred {3,4,5} -> {0,0,0}: 7 values, index 5.7 -> 0.7.
  CHECK(m.hd95_tc == doctest::Approx(0.7).epsilon(1e-14));
  // ET: truth {5,6} -> {0,1}, pred {4,5} -> {1,0}: index 2.85 between 1 and 1 -> 1.
  CHECK(m.hd95_et == doctest::Approx(1.0).epsilon(1e-15));

  SUBCASE("no tumour in either: Dice 1 and HD95 0 everywhere") {
    const std::vector<uint8_t> none(10, 0);
    const BratsCaseMetrics e = brats_case_metrics(none, none, g);
    CHECK(e.dice_label1 == 1.0);
    CHECK(e.dice_wt == 1.0);
    CHECK(e.iou_wt == 1.0);
    CHECK(e.hd95_wt == 0.0);
    CHECK(e.hd95_et == 0.0);
  }
  SUBCASE("no enhancing tumour predicted: Dice 0 and HD95 NaN for ET") {
    std::vector<uint8_t> no_et = pred;
    for (auto& c : no_et) c = c == 3 ? 1 : c;
    const BratsCaseMetrics e = brats_case_metrics(no_et, truth, g);
    CHECK(e.dice_et == 0.0);
    CHECK(e.iou_et == 0.0);
    CHECK(std::isnan(e.hd95_et));
    CHECK(e.hd95_tc == doctest::Approx(0.7).epsilon(1e-14));  // the core is unchanged
  }
  SUBCASE("BraTS label 4 (not mapped to class 3) and wrong sizes are refused") {
    std::vector<uint8_t> raw_labels = truth;
    raw_labels[5] = 4;
    CHECK_THROWS_WITH_AS(brats_case_metrics(pred, raw_labels, g),
                         doctest::Contains("ground-truth volume holds the value 4 at voxel index 5"), Error);
    CHECK_THROWS_AS(brats_case_metrics(pred, std::vector<uint8_t>(9, 0), g), Error);
  }
}

TEST_CASE("the mean over cases leaves NaN out and counts what it used") {
  BratsCaseMetrics a, b, c;
  a.dice_wt = 0.8, b.dice_wt = 0.6, c.dice_wt = 1.0;
  a.hd95_et = 2.0, b.hd95_et = std::numeric_limits<double>::quiet_NaN(), c.hd95_et = 5.0;
  const BratsMeanMetrics m = brats_mean_metrics({a, b, c});
  CHECK(m.cases == 3);
  CHECK(m.dice_wt.count == 3);
  CHECK(m.dice_wt.mean == doctest::Approx(0.8).epsilon(1e-15));
  CHECK(m.hd95_et.count == 2);
  CHECK(m.hd95_et.mean == doctest::Approx(3.5).epsilon(1e-15));
  b.hd95_et = a.hd95_et = c.hd95_et = std::numeric_limits<double>::quiet_NaN();
  const BratsMeanMetrics none = brats_mean_metrics({a, b, c});
  CHECK(none.hd95_et.count == 0);
  CHECK(std::isnan(none.hd95_et.mean));
}

TEST_CASE("agrees with scipy / medpy on random blob volumes (hd95_reference.py)") {
  const char* dir_env = std::getenv("UNET_HD95_REFERENCE_DIR");
  REQUIRE_MESSAGE(dir_env != nullptr,
                  "UNET_HD95_REFERENCE_DIR is not set; ctest sets it after hd95_reference_generate");
  const fs::path dir(dir_env);
  std::ifstream listing(dir / "cases.json");
  REQUIRE_MESSAGE(listing.good(), "cannot open " << dir / "cases.json");
  const nlohmann::json cases = nlohmann::json::parse(listing);
  REQUIRE(cases.size() >= 5);
  for (const auto& c : cases) {
    const std::string name = c.at("name");
    CAPTURE(name);
    const VoxelGrid g{c["size"][0], c["size"][1], c["size"][2], c["spacing"][0], c["spacing"][1], c["spacing"][2]};
    const auto n = static_cast<size_t>(g.voxels());
    const auto pred = read_bytes(dir / (name + "_pred.u8"), n), truth = read_bytes(dir / (name + "_truth.u8"), n);
    const BratsCaseMetrics m = brats_case_metrics(pred, truth, g);
    const nlohmann::json& want = c.at("metrics");
    const std::pair<const char*, double> got[] = {
        {"dice_label1", m.dice_label1}, {"dice_label2", m.dice_label2}, {"dice_label4", m.dice_label4},
        {"dice_wt", m.dice_wt},         {"dice_tc", m.dice_tc},         {"dice_et", m.dice_et},
        {"hd95_wt", m.hd95_wt},         {"hd95_tc", m.hd95_tc},         {"hd95_et", m.hd95_et}};
    for (const auto& [key_name, value] : got) {
      const std::string key = key_name;
      CAPTURE(key);
      if (want.at(key).is_null()) {
        CHECK(std::isnan(value));
        continue;
      }
      // Dice: the same integer counts on both sides, so equal to the last bits; 1e-12 allows
      // only a different order of the final division. HD95: both sides take the exact distance
      // to the nearest surface voxel in double (scipy from the nearest voxel's coordinates,
      // here from the minimum over parabolas), so they differ by rounding only (~1e-15 mm on
      // distances below 400 mm), and the percentile interpolates the same sorted values;
      // 1e-9 mm is far below one voxel but catches any wrong voxel, spacing or percentile.
      const double tolerance = key.starts_with("dice") ? 1e-12 : 1e-9;
      const double expected = want.at(key).get<double>();
      CAPTURE(expected);
      CHECK(std::fabs(value - expected) <= tolerance);
    }
  }
}
