// Sliding-window inference (unet/sliding_window.hpp): tile positions, the Gaussian importance
// map, and whole-volume predictions from predictors whose right answer is known.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <tuple>

#include "base/error.hpp"
#include "unet/sliding_window.hpp"

using namespace unet;

namespace {

using Steps = std::vector<int64_t>;

// A sum of float weights times one value, divided by the sum of the weights, is the value
// up to a few roundings per overlapping tile (at most 8 here): relative 2e-6 is ~16 ulps.
constexpr double kWeightedMeanTolerance = 2e-6;

bool close(float got, double want) {
  return std::fabs(got - want) <= kWeightedMeanTolerance * std::max(1.0, std::fabs(want));
}

// [C = 3, X, Y, Z] whose channel a holds each voxel's coordinate along axis a.
Tensor coordinate_volume(int64_t nx, int64_t ny, int64_t nz) {
  std::vector<float> v(static_cast<size_t>(3 * nx * ny * nz));
  const int64_t n = nx * ny * nz;
  for (int64_t x = 0; x < nx; ++x)
    for (int64_t y = 0; y < ny; ++y)
      for (int64_t z = 0; z < nz; ++z) {
        const int64_t i = (x * ny + y) * nz + z;
        v[i] = static_cast<float>(x), v[n + i] = static_cast<float>(y), v[2 * n + i] = static_cast<float>(z);
      }
  return Tensor::from_vector({3, nx, ny, nz}, v);
}

}  // namespace

TEST_CASE("tile positions") {
  CHECK(sliding_window_steps(155, 128, 0.5) == Steps{0, 27});
  CHECK(sliding_window_steps(240, 128, 0.5) == Steps{0, 56, 112});
  CHECK(sliding_window_steps(160, 128, 0.5) == Steps{0, 32});
  CHECK(sliding_window_steps(128, 128, 0.5) == Steps{0});
  CHECK(sliding_window_steps(256, 128, 0.0) == Steps{0, 128});
  CHECK(sliding_window_steps(300, 128, 0.0) == Steps{0, 86, 172});
  CHECK(sliding_window_steps(33, 16, 0.5) == Steps{0, 6, 11, 17});  // spread 17/3
  // Spread 2.5: numpy.round takes 2.5 to 2 (ties to even), not 3.
  CHECK(sliding_window_steps(11, 6, 0.5) == Steps{0, 2, 5});
  CHECK(sliding_window_steps(7, 4, 0.5) == Steps{0, 2, 3});  // 1.5 -> 2
  CHECK_THROWS_WITH_AS(sliding_window_steps(100, 128, 0.5), doctest::Contains("shorter than the patch"), Error);
  CHECK_THROWS_AS(sliding_window_steps(200, 128, 1.0), Error);
  CHECK_THROWS_AS(sliding_window_steps(200, 128, -0.1), Error);
}

TEST_CASE("Gaussian importance map") {
  SUBCASE("peak 1 at patch / 2, sigma = patch / 8 per axis, separable, positive") {
    const std::vector<int64_t> p{8, 16, 24};  // sigma 1, 2, 3; peak at (4, 8, 12)
    const auto g = gaussian_importance_map(p);
    REQUIRE(g.size() == 8u * 16u * 24u);
    const auto at = [&](int64_t x, int64_t y, int64_t z) {
      return g[static_cast<size_t>((x * 16 + y) * 24 + z)];
    };
    CHECK(at(4, 8, 12) == 1.0f);
    CHECK(*std::max_element(g.begin(), g.end()) == 1.0f);
    CHECK(*std::min_element(g.begin(), g.end()) > 0.0f);
    // One sigma away along each axis: exp(-1/2). Relative 1e-6: computed in double, stored as float.
    CHECK(at(5, 8, 12) == doctest::Approx(std::exp(-0.5)).epsilon(1e-6));
    CHECK(at(4, 10, 12) == doctest::Approx(std::exp(-0.5)).epsilon(1e-6));
    CHECK(at(4, 8, 9) == doctest::Approx(std::exp(-0.5)).epsilon(1e-6));
    CHECK(at(1, 3, 20) == doctest::Approx(at(1, 8, 12) * at(4, 3, 12) * at(4, 8, 20)).epsilon(1e-6));
  }
  SUBCASE("values that underflow become the smallest nonzero value") {
    // sigma = 64 / 64 = 1: exp(-d^2 / 2) underflows float beyond d = 14 voxels from 32.
    const auto g = gaussian_importance_map({64}, 1.0 / 64.0);
    CHECK(g[32] == 1.0f);
    const float smallest = *std::min_element(g.begin(), g.end());
    CHECK(smallest > 0.0f);
    CHECK(g[0] == smallest);
    CHECK(g[63] == smallest);
    CHECK(g[32 - 14] == smallest);  // the farthest value that did not underflow
    CHECK(g[32 - 13] > smallest);
  }
}

TEST_CASE("a constant per-class prediction comes back everywhere (the weights cancel)") {
  const float value[3] = {0.1f, -2.5f, 7.0f};
  int calls = 0;
  const PatchPredictor constant = [&](const Tensor& in) {
    ++calls;
    const Shape s = in.shape();
    std::vector<float> v(static_cast<size_t>(3 * s[2] * s[3] * s[4]));
    const size_t per_class = v.size() / 3;
    for (size_t i = 0; i < v.size(); ++i) v[i] = value[i / per_class];
    return Tensor::from_vector({1, 3, s[2], s[3], s[4]}, v);
  };
  SlidingWindowOptions o;
  o.patch = {8, 8, 6};
  const Tensor out = sliding_window_predict(Tensor::zeros({2, 20, 17, 11}), constant, o);
  REQUIRE(out.shape() == Shape{3, 20, 17, 11});
  CHECK(calls == 4 * 4 * 3);  // 20/8 -> 0,4,8,12;  17/8 -> 4 tiles;  11/6 -> 0,2,5 (spread 2.5)
  const auto v = out.to_vector();
  const size_t per_class = v.size() / 3;
  int wrong = 0;
  for (size_t i = 0; i < v.size(); ++i) wrong += !close(v[i], value[i / per_class]);
  CHECK(wrong == 0);
}

TEST_CASE("tiles are cut and put back at their offsets (a predictor that knows coordinates)") {
  // The input holds every voxel's coordinates. The predictor reads the corner of its patch,
  // checks that every voxel holds corner + its index in the patch (catching a patch cut from
  // the wrong place or with axes mixed up), and returns corner + index computed by itself, so
  // the result is the coordinate volume only if each tile is written back where it was cut.
  const int64_t nx = 40, ny = 33, nz = 20;
  std::set<std::tuple<int64_t, int64_t, int64_t>> corners;
  int64_t wrong_inputs = 0;
  const PatchPredictor knows_coordinates = [&](const Tensor& in) {
    const Shape s = in.shape();
    REQUIRE(s == Shape{1, 3, 16, 16, 8});
    const auto v = in.to_vector();
    const int64_t n = 16 * 16 * 8;
    const int64_t cx = static_cast<int64_t>(v[0]), cy = static_cast<int64_t>(v[n]), cz = static_cast<int64_t>(v[2 * n]);
    corners.insert({cx, cy, cz});
    std::vector<float> out(v.size());
    for (int64_t x = 0; x < 16; ++x)
      for (int64_t y = 0; y < 16; ++y)
        for (int64_t z = 0; z < 8; ++z) {
          const int64_t i = (x * 16 + y) * 8 + z;
          const float want[3] = {float(cx + x), float(cy + y), float(cz + z)};
          for (int a = 0; a < 3; ++a) {
            wrong_inputs += v[a * n + i] != want[a];
            out[a * n + i] = want[a];
          }
        }
    return Tensor::from_vector({1, 3, 16, 16, 8}, out);
  };
  SlidingWindowOptions o;
  o.patch = {16, 16, 8};
  const Tensor image = coordinate_volume(nx, ny, nz);
  const Tensor out = sliding_window_predict(image, knows_coordinates, o);
  CHECK(wrong_inputs == 0);
  std::set<std::tuple<int64_t, int64_t, int64_t>> expected;
  for (int64_t x : Steps{0, 8, 16, 24})
    for (int64_t y : Steps{0, 6, 11, 17})
      for (int64_t z : Steps{0, 4, 8, 12}) expected.insert({x, y, z});
  CHECK(corners == expected);
  REQUIRE(out.shape() == image.shape());
  const auto got = out.to_vector(), want = image.to_vector();
  int wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += !close(got[i], want[i]);
  CHECK(wrong == 0);
}

TEST_CASE("a volume smaller than the patch is zero-padded around it and cropped back") {
  // [1, 5, 6, 3] in an [8, 8, 4] patch: padding (1 before, 2 after), (1, 1), (0, 1).
  std::vector<float> values(5 * 6 * 3);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i + 1);
  int calls = 0;
  double input_sum = 0.0;
  float placed = 0.0f;
  const PatchPredictor twice_plus_one = [&](const Tensor& in) {
    ++calls;
    auto v = in.to_vector();
    for (float x : v) input_sum += x;
    placed = v[((1 + 2) * 8 + (1 + 4)) * 4 + (0 + 1)];  // image voxel (2, 4, 1)
    for (float& x : v) x = 2.0f * x + 1.0f;
    return Tensor::from_vector(in.shape(), v);
  };
  SlidingWindowOptions o;
  o.patch = {8, 8, 4};
  const Tensor out = sliding_window_predict(Tensor::from_vector({1, 5, 6, 3}, values), twice_plus_one, o);
  CHECK(calls == 1);
  CHECK(input_sum == doctest::Approx(90.0 * 91.0 / 2.0));  // the padding added only zeros
  CHECK(placed == values[(2 * 6 + 4) * 3 + 1]);
  REQUIRE(out.shape() == Shape{1, 5, 6, 3});
  const auto got = out.to_vector();
  int wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += !close(got[i], 2.0 * values[i] + 1.0);
  CHECK(wrong == 0);
}

TEST_CASE("2D images: the same tiling over [C, X, Y]") {
  std::vector<float> values(2 * 30 * 21);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 97) - 40.0f;
  int calls = 0;
  const PatchPredictor sum_of_channels = [&](const Tensor& in) {
    ++calls;
    REQUIRE(in.shape() == Shape{1, 2, 16, 16});
    const auto v = in.to_vector();
    std::vector<float> out(256);
    for (size_t i = 0; i < 256; ++i) out[i] = v[i] + v[256 + i];
    return Tensor::from_vector({1, 1, 16, 16}, out);
  };
  SlidingWindowOptions o;
  o.patch = {16, 16};
  const Tensor out = sliding_window_predict(Tensor::from_vector({2, 30, 21}, values), sum_of_channels, o);
  CHECK(calls == 3 * 2);  // 30/16 -> 0, 7, 14;  21/16 -> 0, 5
  REQUIRE(out.shape() == Shape{1, 30, 21});
  const auto got = out.to_vector();
  int wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += !close(got[i], double(values[i]) + values[630 + i]);
  CHECK(wrong == 0);
}

TEST_CASE("refusals: wrong image rank, wrong predictor output") {
  SlidingWindowOptions o;
  o.patch = {4, 4, 4};
  const PatchPredictor wrong_size = [](const Tensor&) {
    return Tensor::zeros({1, 2, 4, 4, 3});
  };
  CHECK_THROWS_WITH_AS(sliding_window_predict(Tensor::zeros({1, 6, 6, 6}), wrong_size, o),
                       doctest::Contains("the predictor must return [1, K, patch...] = [1, K, [4, 4, 4]]"), Error);
  const PatchPredictor fine = [](const Tensor&) {
    return Tensor::zeros({1, 2, 4, 4, 4});
  };
  CHECK_THROWS_WITH_AS(sliding_window_predict(Tensor::zeros({6, 6, 6}), fine, o),
                       doctest::Contains("the image must be [C, X, Y, Z]"), Error);
  o.patch = {4};
  CHECK_THROWS_AS(sliding_window_predict(Tensor::zeros({1, 6}), fine, o), Error);
}

TEST_CASE("softmax and argmax over the class axis") {
  // Two classes, three voxels: class 1 wins, a tie (lowest class), class 0 wins.
  const Tensor scores = Tensor::from_vector({2, 3}, {0.0f, 2.0f, 5.0f, 1.0f, 2.0f, -1.0f});
  CHECK(argmax_classes(scores) == std::vector<uint8_t>{1, 0, 0});
  const auto p = softmax_over_classes(scores).to_vector();
  // Relative 1e-6: float exp and division.
  CHECK(p[0] == doctest::Approx(1.0 / (1.0 + std::exp(1.0))).epsilon(1e-6));
  CHECK(p[3] == doctest::Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(1e-6));
  CHECK(p[1] == doctest::Approx(0.5).epsilon(1e-6));
  CHECK(p[2] + p[5] == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(argmax_classes(softmax_over_classes(scores)) == argmax_classes(scores));
}
