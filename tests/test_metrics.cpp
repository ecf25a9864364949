// 2D segmentation metrics (train/metrics.hpp): Dice and IoU on hand-computed masks, their
// identity IoU = D / (2 - D) on random pairs, and the empty-mask conventions.
#include <doctest/doctest.h>

#include <random>

#include "train/metrics.hpp"

using namespace unet;

TEST_CASE("Dice and IoU of a hand-computed pair") {
  // pred 1 1 1 0 0 0 / truth 0 1 1 1 1 0: intersection 2, |P| 3, |T| 4, union 5.
  const std::vector<uint8_t> p{1, 1, 1, 0, 0, 0}, t{0, 1, 1, 1, 1, 0};
  CHECK(dice(p.data(), t.data(), 6) == doctest::Approx(4.0 / 7.0));
  CHECK(iou(p.data(), t.data(), 6) == doctest::Approx(2.0 / 5.0));
  CHECK(iou_volume(p, t) == doctest::Approx(2.0 / 5.0));
  const std::vector<uint8_t> none(6, 0);
  CHECK(iou(none.data(), none.data(), 6) == 1.0);  // no tumour predicted where there is none: correct
  CHECK(iou(p.data(), none.data(), 6) == 0.0);
  CHECK(dice(none.data(), none.data(), 6) == 1.0);
}

TEST_CASE("IoU = Dice / (2 - Dice) for every pair") {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<uint8_t> p(200), t(200);
    const unsigned density = 1 + rng() % 9;
    for (size_t i = 0; i < p.size(); ++i) p[i] = rng() % 10 < density, t[i] = rng() % 10 < density;
    const double d = dice(p.data(), t.data(), 200);
    CHECK(iou(p.data(), t.data(), 200) == doctest::Approx(d / (2.0 - d)).epsilon(1e-12));  // exact in double
  }
}
