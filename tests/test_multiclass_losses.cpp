// The multi-class segmentation losses (softmax Dice, cross-entropy, Dice + CE) and class ops
// (softmax, argmax, one-hot) on the CPU, against an independent double-precision reference:
// values, and gradients against central differences of that reference at every element, in
// 2D and 3D shapes; the edge cases (a class absent from the batch, two classes, one voxel);
// the loss names; the shape checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "base/error.hpp"
#include "engine/autograd.hpp"
#include "tests/check_error.hpp"
#include "tests/test_util.hpp"
#include "unet/class_ops.hpp"
#include "unet/losses.hpp"

using namespace unet;
using unet::test::check_error;
using unet::test::max_abs_diff;
using unet::test::random_vector;
using unet::test::rel_l2;

namespace {

constexpr double kSmooth = 1e-5;

// [N, C, spatial...] seen as [N, C, S].
struct Layout {
  int64_t n, c, s;
  explicit Layout(const Shape& shape) : n(shape[0]), c(shape[1]), s(shape_numel(shape) / (shape[0] * shape[1])) {}
  size_t at(int64_t v, int64_t k) const { return static_cast<size_t>((v / s) * c * s + k * s + v % s); }
};

std::vector<double> softmax_ref(const std::vector<double>& z, const Layout& l) {
  std::vector<double> p(z.size());
  for (int64_t v = 0; v < l.n * l.s; ++v) {
    double m = -INFINITY, sum = 0;
    for (int64_t k = 0; k < l.c; ++k) m = std::max(m, z[l.at(v, k)]);
    for (int64_t k = 0; k < l.c; ++k) sum += std::exp(z[l.at(v, k)] - m);
    for (int64_t k = 0; k < l.c; ++k) p[l.at(v, k)] = std::exp(z[l.at(v, k)] - m) / sum;
  }
  return p;
}

// The reference program's DiceLoss, written out per class.
double dice_ref(const std::vector<double>& z, const std::vector<float>& t, const Layout& l) {
  const auto p = softmax_ref(z, l);
  double mean_dice = 0;
  for (int64_t k = 0; k < l.c; ++k) {
    double inter = 0, sum_p = 0, sum_t = 0;
    for (int64_t v = 0; v < l.n * l.s; ++v) {
      const double y = t[static_cast<size_t>(v)] == static_cast<float>(k) ? 1.0 : 0.0;
      inter += p[l.at(v, k)] * y;
      sum_p += p[l.at(v, k)];
      sum_t += y;
    }
    mean_dice += (2 * inter + kSmooth) / (sum_p + sum_t + kSmooth) / static_cast<double>(l.c);
  }
  return 1 - mean_dice;
}

double ce_ref(const std::vector<double>& z, const std::vector<float>& t, const Layout& l) {
  const auto p = softmax_ref(z, l);
  double total = 0;
  for (int64_t v = 0; v < l.n * l.s; ++v)
    total -= std::log(p[l.at(v, static_cast<int64_t>(t[static_cast<size_t>(v)]))]);
  return total / static_cast<double>(l.n * l.s);
}

using RefLoss = std::function<double(const std::vector<double>&)>;

// Central differences of the double reference at every element: h = 1e-4 leaves a truncation
// error ~h^2 |f'''| ~ 1e-8 relative and a rounding error ~1e-16 / h ~ 1e-12, both far below
// float32's ~1e-6.
std::vector<double> numeric_gradient(const RefLoss& f, std::vector<double> z) {
  constexpr double h = 1e-4;
  std::vector<double> g(z.size());
  for (size_t i = 0; i < z.size(); ++i) {
    const double orig = z[i];
    z[i] = orig + h;
    const double plus = f(z);
    z[i] = orig - h;
    const double minus = f(z);
    z[i] = orig;
    g[i] = (plus - minus) / (2 * h);
  }
  return g;
}

std::vector<float> class_map(int64_t voxels, int64_t classes, uint64_t seed) {
  auto v = random_vector(voxels, seed, 0.0f, static_cast<float>(classes));
  for (auto& x : v) x = std::min(std::floor(x), static_cast<float>(classes - 1));
  return v;
}

Shape without_channels(Shape s) {
  s.erase(s.begin() + 1);
  return s;
}

// Our loss and gradient (upstream 1) against the double reference and its central differences.
// Tolerances: each float term carries a few ulp (~5e-7 relative) and the sums accumulate in
// double, so the loss is within ~1e-6 relative and the gradient within ~1e-5 relative (the
// Dice backward subtracts sum_j g_j p_j from g_k, losing at most a digit); 1e-5 and 1e-4 sit
// above that, and far below a wrong term, class or factor (O(1e-2) and more).
void check_against_reference(const char* what, const Shape& shape, const std::vector<float>& z32,
                             const std::vector<float>& t,
                             const std::function<Tensor(const Tensor&, const Tensor&)>& ours, const RefLoss& ref) {
  CAPTURE(what);
  CAPTURE(shape_str(shape));
  Tensor z = Tensor::from_vector(shape, z32).set_requires_grad(true);
  const Tensor classes = Tensor::from_vector(without_channels(shape), t);
  Tensor loss = ours(z, classes);
  REQUIRE(loss.numel() == 1);
  const std::vector<double> z64(z32.begin(), z32.end());
  const double expected = ref(z64);
  const double got = loss.to_vector()[0];
  CAPTURE(got);
  CAPTURE(expected);
  CHECK(std::fabs(got - expected) <= 1e-5 * std::max(std::fabs(expected), 1e-2));
  loss.backward();
  const auto analytic = z.grad().to_vector();
  const auto numeric = numeric_gradient(ref, z64);
  const std::vector<float> numeric32(numeric.begin(), numeric.end());
  double largest = 0;
  for (double g : numeric) largest = std::max(largest, std::fabs(g));
  const double err = rel_l2(analytic, numeric32), worst = max_abs_diff(analytic, numeric32);
  CAPTURE(err);
  CAPTURE(worst);
  CAPTURE(largest);
  CHECK(largest > 0);
  CHECK(err <= 1e-4);
  CHECK(worst <= 1e-4 * largest);
}

Tensor dice_ours(const Tensor& z, const Tensor& t) {
  return softmax_dice_loss(z, t, static_cast<float>(kSmooth));
}
Tensor ce_ours(const Tensor& z, const Tensor& t) {
  return cross_entropy_loss(z, t);
}
Tensor dice_ce_ours(const Tensor& z, const Tensor& t) {
  return dice_ce_loss(z, t, static_cast<float>(kSmooth));
}

void check_three_losses(const Shape& shape, const std::vector<float>& z, const std::vector<float>& t) {
  const Layout l(shape);
  check_against_reference("softmax_dice_loss", shape, z, t, dice_ours,
                          [&](const std::vector<double>& x) { return dice_ref(x, t, l); });
  check_against_reference("cross_entropy_loss", shape, z, t, ce_ours,
                          [&](const std::vector<double>& x) { return ce_ref(x, t, l); });
  check_against_reference("dice_ce_loss", shape, z, t, dice_ce_ours,
                          [&](const std::vector<double>& x) { return dice_ref(x, t, l) + ce_ref(x, t, l); });
}

void check_random_case(const Shape& shape, uint64_t seed) {
  const Layout l(shape);
  check_three_losses(shape, random_vector(shape_numel(shape), seed, -3, 3), class_map(l.n * l.s, l.c, seed + 1));
}

}  // namespace

TEST_CASE("multi-class losses match a double-precision reference, value and gradient: 3D, 2D, no spatial dims") {
  check_random_case({2, 4, 5, 6, 7}, 1);  // 3D, BraTS's 4 classes
  check_random_case({2, 4, 9, 11}, 3);    // 2D
  check_random_case({3, 4, 5}, 5);        // 1D
  check_random_case({5, 3}, 7);           // no spatial dims: one voxel per sample
}

TEST_CASE("multi-class losses: two classes") {
  check_random_case({3, 2, 4, 5}, 9);
  check_random_case({1, 2, 3, 2, 4}, 11);
}

TEST_CASE("multi-class losses: a single voxel") {
  // [1, 4, 1, 1, 1]: three classes are absent, each dice_k = smooth / (p_k + smooth).
  check_random_case({1, 4, 1, 1, 1}, 13);
  const std::vector<float> z = {0.5f, -1.0f, 2.0f, 0.25f};
  const Tensor logits = Tensor::from_vector({1, 4, 1, 1, 1}, z), classes = Tensor::from_vector({1, 1, 1, 1}, {2.0f});
  const auto p = softmax_channels(logits).to_vector();
  double mean_dice = 0;
  for (int k = 0; k < 4; ++k)
    mean_dice += (k == 2 ? (2 * p[2] + kSmooth) / (p[2] + 1 + kSmooth) : kSmooth / (p[k] + kSmooth)) / 4;
  CHECK(softmax_dice_loss(logits, classes).to_vector()[0] == doctest::Approx(1 - mean_dice).epsilon(1e-6));
  CHECK(cross_entropy_loss(logits, classes).to_vector()[0] == doctest::Approx(-std::log(p[2])).epsilon(1e-6));
}

TEST_CASE("softmax Dice: a class absent from the batch scores smooth / (sum p + smooth)") {
  // Class 2 of 3 never appears in the target; classes 0 and 1 are predicted with logit 20
  // where true and -20 elsewhere. Class 2 with logit -20 everywhere: sum p_2 ~ 24 exp(-40), far
  // below smooth, so dice_2 ~ 1 and, with 0 and 1 perfect, the loss is ~0 (without smooth it
  // would be 1/3). Class 2 with logit 20 everywhere: it ties with the true class (p = 1/2 each),
  // dice_0 = dice_1 = 2 (T/2) / (T/2 + T) = 2/3, dice_2 = smooth / 12 ~ 0: the loss is 5/9.
  const Shape shape = {2, 3, 2, 3, 2};
  const Layout l(shape);
  const auto t = class_map(l.n * l.s, 2, 21);  // classes 0 and 1 only
  for (const double absent_logit : {-20.0, 20.0}) {
    CAPTURE(absent_logit);
    std::vector<float> z(static_cast<size_t>(shape_numel(shape)));
    for (int64_t v = 0; v < l.n * l.s; ++v)
      for (int64_t k = 0; k < l.c; ++k)
        z[l.at(v, k)] = k == 2 ? static_cast<float>(absent_logit) : (t[static_cast<size_t>(v)] == k ? 20.0f : -20.0f);
    const std::vector<double> z64(z.begin(), z.end());
    const auto p = softmax_ref(z64, l);
    double sum_p2 = 0;
    for (int64_t v = 0; v < l.n * l.s; ++v) sum_p2 += p[l.at(v, 2)];
    const double dice_2 = kSmooth / (sum_p2 + kSmooth);
    CAPTURE(dice_2);
    const double loss =
        softmax_dice_loss(Tensor::from_vector(shape, z), Tensor::from_vector(without_channels(shape), t))
            .to_vector()[0];
    CAPTURE(loss);
    // Float rounding of a loss of order 1: ~1e-7; 1e-5 is far from 1/3 or 1/9 off.
    if (absent_logit < 0) {
      CHECK(dice_2 > 1 - 1e-9);
      CHECK(std::fabs(loss) <= 1e-5);
    } else {
      CHECK(dice_2 < 1e-5);
      CHECK(std::fabs(loss - 5.0 / 9.0) <= 1e-5);
    }
    CHECK(std::fabs(loss - dice_ref(z64, t, l)) <= 1e-5);
  }
  // Value and gradient with the class absent, at moderate logits (saturated ones have
  // gradients of ~1e-18 that float cannot resolve, in any program).
  check_three_losses(shape, random_vector(shape_numel(shape), 22, -3, 3), t);
}

TEST_CASE("cross-entropy: uniform logits give log C, perfect ones give ~0") {
  const Tensor classes = Tensor::from_vector({2, 3}, {0, 1, 2, 3, 3, 1});
  CHECK(cross_entropy_loss(Tensor::zeros({2, 4, 3}), classes).to_vector()[0] ==
        doctest::Approx(std::log(4.0)).epsilon(1e-6));
  // Logits up to 100 apart stay finite (the log-sum-exp subtracts the max first).
  std::vector<float> z(24, -50.0f);
  const auto t = classes.to_vector();
  for (int64_t v = 0; v < 6; ++v) z[static_cast<size_t>((v / 3) * 12 + static_cast<int64_t>(t[v]) * 3 + v % 3)] = 50.0f;
  Tensor logits = Tensor::from_vector({2, 4, 3}, z).set_requires_grad(true);
  Tensor loss = cross_entropy_loss(logits, classes);
  CHECK(loss.to_vector()[0] >= 0.0f);
  CHECK(loss.to_vector()[0] < 1e-30f);
  loss.backward();
  CHECK(unet::test::all_finite(logits.grad().to_vector()));
}

TEST_CASE("a [N, 1, spatial...] class map is accepted as [N, spatial...]") {
  const Shape shape = {2, 4, 3, 4, 5};
  const auto z = random_vector(shape_numel(shape), 31, -2, 2);
  const auto t = class_map(2 * 60, 4, 32);
  const Tensor logits = Tensor::from_vector(shape, z);
  const float a = dice_ce_loss(logits, Tensor::from_vector({2, 3, 4, 5}, t)).to_vector()[0];
  const float b = dice_ce_loss(logits, Tensor::from_vector({2, 1, 3, 4, 5}, t)).to_vector()[0];
  CHECK(a == b);
}

TEST_CASE("argmax_channels: ties go to the lowest class; one_hot_channels inverts it") {
  // Voxel 0: all tied -> 0; voxel 1: classes 1 and 3 tied -> 1; voxel 2: class 3 alone.
  // [1, 4, 3]: channel k of voxel v at k * 3 + v.
  const Tensor logits = Tensor::from_vector({1, 4, 3}, {0, 0, 1, 0, 2, 1, 0, 1, 1, 0, 2, 5});
  CHECK(argmax_channels(logits).shape() == Shape{1, 3});
  CHECK(argmax_channels(logits).to_vector() == std::vector<float>{0, 1, 3});

  const Shape shape = {2, 4, 3, 4, 5};
  const auto t = class_map(2 * 60, 4, 33);
  const Tensor classes = Tensor::from_vector({2, 3, 4, 5}, t);
  const Tensor hot = one_hot_channels(classes, 4);
  CHECK(hot.shape() == shape);
  const Layout l(shape);
  const auto h = hot.to_vector();
  for (int64_t v = 0; v < l.n * l.s; ++v)
    for (int64_t k = 0; k < l.c; ++k) CHECK(h[l.at(v, k)] == (t[static_cast<size_t>(v)] == k ? 1.0f : 0.0f));
  CHECK(argmax_channels(hot).to_vector() == t);
  // softmax keeps the argmax and sums to 1 over the classes of each voxel.
  const Tensor z = Tensor::from_vector(shape, random_vector(shape_numel(shape), 34, -30, 30));
  const auto p = softmax_channels(z).to_vector();
  CHECK(argmax_channels(softmax_channels(z)).to_vector() == argmax_channels(z).to_vector());
  for (int64_t v = 0; v < l.n * l.s; ++v) {
    double sum = 0;
    for (int64_t k = 0; k < l.c; ++k) sum += p[l.at(v, k)];
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));  // C roundings of ~6e-8 each
  }
  // [N, 1, spatial...] in, [N, C, spatial...] out.
  CHECK(one_hot_channels(Tensor::from_vector({2, 1, 3, 4, 5}, t), 4).shape() == shape);
}

TEST_CASE("the class ops record no gradient") {
  Tensor z = Tensor::from_vector({1, 3, 2}, random_vector(6, 35)).set_requires_grad(true);
  CHECK_FALSE(softmax_channels(z).requires_grad());
  CHECK_FALSE(argmax_channels(z).requires_grad());
}

TEST_CASE("multi-class loss names: dice, ce, dice+ce; the binary names are unchanged") {
  for (const char* name : {"dice", "ce", "dice+ce"})
    CHECK(MulticlassLossConfig::name(MulticlassLossConfig::parse(name)) == name);
  CHECK(MulticlassLossConfig::parse("dice+ce") == MulticlassLossKind::DiceCrossEntropy);
  CHECK(MulticlassLossConfig{}.kind == MulticlassLossKind::Dice);  // the reference program's loss
  check_error([] { MulticlassLossConfig::parse("bce"); }, {"--loss", "'bce' is not a multi-class loss", "dice+ce"});
  check_error([] { MulticlassLossConfig::parse("bce+dice"); }, {"'bce+dice' is not a multi-class loss"});
  // The 2D model's parser keeps its three names and refuses the 3D-only ones.
  CHECK(LossConfig::parse("bce") == LossKind::Bce);
  CHECK(LossConfig::parse("dice") == LossKind::Dice);
  CHECK(LossConfig::parse("bce+dice") == LossKind::BceDice);
  CHECK(LossConfig{}.kind == LossKind::Bce);
  check_error([] { LossConfig::parse("dice+ce"); }, {"'dice+ce' is not a loss"});
  check_error([] { LossConfig::parse("ce"); }, {"'ce' is not a loss"});

  // multiclass_segmentation_loss dispatches to the three losses.
  const Tensor z = Tensor::from_vector({2, 4, 3, 3}, random_vector(72, 36, -2, 2));
  const Tensor t = Tensor::from_vector({2, 3, 3}, class_map(18, 4, 37));
  MulticlassLossConfig config;
  config.kind = MulticlassLossKind::Dice;
  CHECK(multiclass_segmentation_loss(z, t, config).to_vector() == softmax_dice_loss(z, t).to_vector());
  config.kind = MulticlassLossKind::CrossEntropy;
  CHECK(multiclass_segmentation_loss(z, t, config).to_vector() == cross_entropy_loss(z, t).to_vector());
  config.kind = MulticlassLossKind::DiceCrossEntropy;
  const float sum = softmax_dice_loss(z, t).to_vector()[0] + cross_entropy_loss(z, t).to_vector()[0];
  CHECK(multiclass_segmentation_loss(z, t, config).to_vector()[0] == sum);
}

TEST_CASE("multi-class losses refuse logits and class maps that do not fit") {
  const Tensor z = Tensor::zeros({2, 4, 3, 5});
  check_error(
      [&] {
        softmax_dice_loss(z, Tensor::zeros({2, 3, 4}));
      },
      {"softmax_dice_loss", "class map [2, 3, 4] does not fit logits [2, 4, 3, 5]", "[2, 3, 5]", "[2, 1, 3, 5]"});
  check_error([&] { cross_entropy_loss(z, Tensor::zeros({2, 4, 3, 5})); }, {"cross_entropy_loss", "does not fit"});
  check_error([] { dice_ce_loss(Tensor::zeros({2, 1, 3}), Tensor::zeros({2, 3})); }, {"1 channel(s)", "at least 2"});
  check_error([] { cross_entropy_loss(Tensor::zeros({4}), Tensor::zeros({4})); },
              {"cross_entropy_loss", "logits [4] must be [N, C, spatial...]"});
  check_error([] { argmax_channels(Tensor::zeros({4})); }, {"argmax_channels", "[N, C, spatial...]"});
  check_error([] { one_hot_channels(Tensor::zeros({2, 3}), 0); }, {"one_hot_channels", "num_classes is 0"});
}
