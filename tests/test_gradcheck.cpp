// Finite-difference gradient checks on the CPU for every differentiable op and layer, on
// random inputs with odd spatial sizes and batch > 1.
//
// Method: L = sum_i out_i * R_i with a fixed random R, accumulated in double on the host.
// The analytic gradient comes from backward with upstream gradient R; the numeric one from
// central differences (L(x + h) - L(x - h)) / 2h on a sample of elements of every input.
#include <doctest/doctest.h>

#include <functional>

#include "engine/autograd.hpp"
#include "layers/modules.hpp"
#include "layers/ops.hpp"
#include "tests/test_util.hpp"
#include "unet/losses.hpp"

using namespace unet;
using unet::test::random_tensor;
using unet::test::random_vector;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

double weighted_sum(const Tensor& out, const std::vector<float>& r) {
  const auto v = out.to_vector();
  double s = 0.0;
  for (size_t i = 0; i < v.size(); ++i) s += static_cast<double>(v[i]) * r[i];
  return s;
}

// Tolerance: |analytic - numeric| <= 1e-2 * (|numeric| + scale), scale = the largest
// numeric gradient seen. With h = 1e-2 and O(1) inputs, central differences have a
// truncation error ~h^2 |f'''| ~ 1e-4 and float32 rounding of L ~ 1e-7 |L| / h ~ 1e-4 of the
// gradient scale; 1e-2 leaves a 100x margin while a wrong gradient (sign, factor, missing
// term) is off by O(1).
void gradcheck(const char* name, std::vector<Tensor> inputs, const Fn& fn, double h = 1e-2, int samples = 24) {
  CAPTURE(name);
  for (auto& t : inputs) t.set_requires_grad(true);
  Tensor out = fn(inputs);
  const auto r = random_vector(out.numel(), 991);
  run_backward(out, Tensor::from_vector(out.shape(), r));
  for (size_t k = 0; k < inputs.size(); ++k) {
    CAPTURE(k);
    Tensor& x = inputs[k];
    REQUIRE(x.grad().defined());
    const auto analytic = x.grad().to_vector();
    std::vector<double> numeric;
    std::vector<int64_t> idx;
    Rng pick(7 + k);
    const int64_t n = x.numel();
    for (int s = 0; s < samples && s < n; ++s) idx.push_back(n <= samples ? s : pick.below(static_cast<uint32_t>(n)));
    auto values = x.to_vector();
    double scale = 0.0;
    {
      NoGradGuard no_grad;
      for (int64_t i : idx) {
        const float orig = values[static_cast<size_t>(i)];
        values[static_cast<size_t>(i)] = orig + static_cast<float>(h);
        x.copy_from(Tensor::from_vector(x.shape(), values));
        const double plus = weighted_sum(fn(inputs), r);
        values[static_cast<size_t>(i)] = orig - static_cast<float>(h);
        x.copy_from(Tensor::from_vector(x.shape(), values));
        const double minus = weighted_sum(fn(inputs), r);
        values[static_cast<size_t>(i)] = orig;
        x.copy_from(Tensor::from_vector(x.shape(), values));
        numeric.push_back((plus - minus) / (2.0 * h));
        scale = std::max(scale, std::fabs(numeric.back()));
      }
    }
    for (size_t j = 0; j < idx.size(); ++j) {
      CAPTURE(idx[j]);
      const double a = analytic[static_cast<size_t>(idx[j])];
      CHECK(std::fabs(a - numeric[j]) <= 1e-2 * (std::fabs(numeric[j]) + scale));
    }
  }
}

// Values at least `gap` apart in random order, so max-pool's argmax and ReLU's sign do not
// change under a perturbation of h < gap / 2.
Tensor spaced_tensor(const Shape& shape, uint64_t seed, float gap) {
  const int64_t n = shape_numel(shape);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = (static_cast<float>(i) - n / 2.0f) * gap + gap / 2;
  Rng rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[static_cast<size_t>(i)], v[rng.below(static_cast<uint32_t>(i + 1))]);
  return Tensor::from_vector(shape, v);
}

}  // namespace

TEST_CASE("gradcheck conv2d 3x3 pad 1, with and without bias, odd sizes") {
  gradcheck("conv2d+bias", {random_tensor({2, 3, 7, 5}, 1), random_tensor({4, 3, 3, 3}, 2), random_tensor({4}, 3)},
            [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 1); });
  gradcheck("conv2d", {random_tensor({3, 2, 5, 6}, 4), random_tensor({3, 2, 3, 3}, 5)},
            [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], Tensor(), 1, 1); });
}

TEST_CASE("gradcheck conv2d 1x1") {
  gradcheck("conv1x1", {random_tensor({2, 5, 3, 7}, 6), random_tensor({2, 5, 1, 1}, 7), random_tensor({2}, 8)},
            [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 0); });
}

TEST_CASE("gradcheck conv_transpose2d 2x2 stride 2 with bias") {
  gradcheck("conv_transpose2d", {random_tensor({2, 4, 3, 5}, 9), random_tensor({4, 3, 2, 2}, 10), random_tensor({3}, 11)},
            [](const std::vector<Tensor>& in) { return ops::conv_transpose(in[0], in[1], in[2], 2, 0); });
}

TEST_CASE("gradcheck transposed convolutions with kernel = stride 3 (2D, 3D; no bias)") {
  // On the CPU their forward is a 1x1 convolution and a reorder, their backward oneDNN's
  // deconvolution: the finite differences of the one check the other, for any kernel size.
  gradcheck("conv_transpose2d k3 s3", {random_tensor({2, 3, 2, 3}, 60), random_tensor({3, 2, 3, 3}, 61), random_tensor({2}, 62)},
            [](const std::vector<Tensor>& in) { return ops::conv_transpose(in[0], in[1], in[2], 3, 0); });
  gradcheck("conv_transpose3d k3 s3", {random_tensor({1, 2, 2, 1, 3}, 63), random_tensor({2, 3, 3, 3, 3}, 64)},
            [](const std::vector<Tensor>& in) { return ops::conv_transpose(in[0], in[1], Tensor(), 3, 0); });
}

TEST_CASE("gradcheck batch_norm in training mode") {
  Tensor rm = Tensor::zeros({3}), rv = Tensor::full({3}, 1.0f);
  gradcheck("batch_norm", {random_tensor({2, 3, 5, 3}, 12, -2, 2), random_tensor({3}, 13, 0.5, 1.5), random_tensor({3}, 14)},
            [&](const std::vector<Tensor>& in) { return ops::batch_norm_train(in[0], in[1], in[2], rm, rv, 0.1f, 1e-5f); });
}

TEST_CASE("batch_norm_relu (fused on the CPU) computes relu(batch_norm) in both modes, gradients included") {
  // The composition is gradchecked above; the fused op must match it. The ReLU's mask is the same
  // comparison of the same float, and batch norm's sums are the same kernel's: 1e-6 relative
  // leaves room for a different order inside oneDNN, while a missing mask is O(1) off.
  for (const Shape& shape : {Shape{2, 3, 5, 3}, Shape{2, 16, 6, 4}}) {
    CAPTURE(shape_str(shape));
    std::vector<std::vector<float>> outs, grads;
    for (bool fused : {true, false}) {
      Tensor x = random_tensor(shape, 21, -2, 2), g = random_tensor({shape[1]}, 22, 0.5, 1.5),
             b = random_tensor({shape[1]}, 23);
      x.set_requires_grad(true), g.set_requires_grad(true), b.set_requires_grad(true);
      Tensor rm = Tensor::zeros({shape[1]}), rv = Tensor::full({shape[1]}, 1.0f);
      const Tensor y = fused ? ops::batch_norm_relu_train(x, g, b, rm, rv, 0.1f, 1e-5f)
                             : ops::relu_(ops::batch_norm_train(x, g, b, rm, rv, 0.1f, 1e-5f));
      run_backward(y, random_tensor(shape, 24));
      outs.push_back(y.to_vector());
      for (const Tensor* t : {&x, &g, &b}) grads.push_back(t->grad().to_vector());
      NoGradGuard no_grad;
      outs.push_back(fused ? ops::batch_norm_relu_eval(x, g, b, rm, rv, 1e-5f).to_vector()
                           : ops::relu_(ops::batch_norm_eval(x, g, b, rm, rv, 1e-5f)).to_vector());
    }
    for (size_t i = 0; i < 2; ++i) CHECK(unet::test::rel_l2(outs[i], outs[i + 2]) < 1e-6);
    for (size_t i = 0; i < 3; ++i) CHECK(unet::test::rel_l2(grads[i], grads[i + 3]) < 1e-6);
  }
}

TEST_CASE("gradcheck max_pool2d on an odd size") {
  gradcheck("max_pool2d", {spaced_tensor({2, 3, 7, 5}, 15, 0.05f)},
            [](const std::vector<Tensor>& in) { return ops::max_pool(in[0], 2); }, 1e-2);
}

TEST_CASE("gradcheck relu, sigmoid, concat, add, scale, sum, mean") {
  gradcheck("relu", {spaced_tensor({2, 3, 5, 3}, 16, 0.05f)}, [](const std::vector<Tensor>& in) { return ops::relu(in[0]); });
  gradcheck("sigmoid", {random_tensor({2, 2, 3, 5}, 17, -4, 4)},
            [](const std::vector<Tensor>& in) { return ops::sigmoid(in[0]); });
  gradcheck("concat", {random_tensor({2, 3, 3, 5}, 18), random_tensor({2, 2, 3, 5}, 19)},
            [](const std::vector<Tensor>& in) { return ops::concat_channels(in[0], in[1]); });
  gradcheck("add", {random_tensor({2, 5}, 20), random_tensor({2, 5}, 21)},
            [](const std::vector<Tensor>& in) { return ops::add(in[0], in[1]); });
  gradcheck("scale", {random_tensor({7}, 22)}, [](const std::vector<Tensor>& in) { return ops::scale(in[0], -1.5f); });
  gradcheck("sum", {random_tensor({3, 3}, 23)}, [](const std::vector<Tensor>& in) { return ops::sum(in[0]); });
  gradcheck("mean", {random_tensor({3, 5}, 24)}, [](const std::vector<Tensor>& in) { return ops::mean(in[0]); });
}

TEST_CASE("gradcheck losses: BCE-with-logits, soft Dice, BCE+Dice") {
  Tensor t = Tensor::from_vector({2, 1, 3, 5}, [] {
    auto v = random_vector(30, 25);
    for (auto& x : v) x = x > 0 ? 1.0f : 0.0f;
    return v;
  }());
  gradcheck("bce", {random_tensor({2, 1, 3, 5}, 26, -3, 3)},
            [&](const std::vector<Tensor>& in) { return bce_with_logits_loss(in[0], t); });
  gradcheck("dice", {random_tensor({2, 1, 3, 5}, 27, -3, 3)},
            [&](const std::vector<Tensor>& in) { return soft_dice_loss(in[0], t, 1.0f); });
  LossConfig both;
  both.kind = LossKind::BceDice;
  both.bce_weight = 0.7f;
  both.dice_weight = 1.3f;
  gradcheck("bce+dice", {random_tensor({2, 1, 3, 5}, 28, -3, 3)},
            [&](const std::vector<Tensor>& in) { return segmentation_loss(in[0], t, both); });
}

TEST_CASE("gradcheck a DoubleConv-like chain: conv, BN, ReLU, pool, transposed conv, concat") {
  // Composition checks that gradients flow through a whole U-Net level.
  Tensor rm = Tensor::zeros({4}), rv = Tensor::full({4}, 1.0f);
  gradcheck("chain",
            {random_tensor({2, 3, 6, 6}, 29), random_tensor({4, 3, 3, 3}, 30), random_tensor({4}, 31, 0.5, 1.5),
             random_tensor({4}, 32), random_tensor({4, 4, 2, 2}, 33)},
            [&](const std::vector<Tensor>& in) {
              Tensor h = ops::sigmoid(ops::batch_norm_train(ops::conv(in[0], in[1], Tensor(), 1, 1), in[2], in[3], rm, rv, 0.1f, 1e-5f));
              Tensor down = ops::max_pool(h, 2);
              Tensor up = ops::conv_transpose(down, in[4], Tensor(), 2, 0);
              return ops::concat_channels(up, h);
            },
            1e-2, 16);
}

// The same ops on volumes [N, C, D, H, W]: D, H and W all different and odd where the op allows.
TEST_CASE("gradcheck 3D: conv3d 3x3x3 pad 1 and 1x1x1, conv_transpose3d, batch norm, max pool, concat") {
  gradcheck("conv3d+bias", {random_tensor({2, 2, 3, 5, 4}, 40), random_tensor({3, 2, 3, 3, 3}, 41), random_tensor({3}, 42)},
            [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 1); });
  gradcheck("conv3d 1x1x1", {random_tensor({2, 4, 3, 2, 5}, 43), random_tensor({2, 4, 1, 1, 1}, 44), random_tensor({2}, 45)},
            [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 0); });
  gradcheck("conv_transpose3d", {random_tensor({2, 3, 2, 3, 2}, 46), random_tensor({3, 2, 2, 2, 2}, 47), random_tensor({2}, 48)},
            [](const std::vector<Tensor>& in) { return ops::conv_transpose(in[0], in[1], in[2], 2, 0); });
  Tensor rm = Tensor::zeros({3}), rv = Tensor::full({3}, 1.0f);
  gradcheck("batch_norm 3d", {random_tensor({2, 3, 3, 2, 3}, 49, -2, 2), random_tensor({3}, 50, 0.5, 1.5), random_tensor({3}, 51)},
            [&](const std::vector<Tensor>& in) { return ops::batch_norm_train(in[0], in[1], in[2], rm, rv, 0.1f, 1e-5f); });
  gradcheck("max_pool3d", {spaced_tensor({2, 2, 5, 3, 4}, 52, 0.05f)},
            [](const std::vector<Tensor>& in) { return ops::max_pool(in[0], 2); });
  gradcheck("concat 3d", {random_tensor({2, 3, 2, 3, 2}, 53), random_tensor({2, 1, 2, 3, 2}, 54)},
            [](const std::vector<Tensor>& in) { return ops::concat_channels(in[0], in[1]); });
}

TEST_CASE("3D ops refuse mixed ranks and name the op") {
  Tensor x = Tensor::zeros({1, 2, 4, 4, 4});
  CHECK_THROWS_WITH(ops::conv(x, Tensor::zeros({3, 2, 3, 3}), Tensor(), 1, 1), doctest::Contains("conv3d"));
  CHECK_THROWS_WITH(ops::conv(x, Tensor::zeros({3, 2, 3, 1, 3}), Tensor(), 1, 1), doctest::Contains("same size along every axis"));
  CHECK_THROWS_WITH(ops::concat_channels(x, Tensor::zeros({1, 2, 4, 4})), doctest::Contains("concat_channels"));
  CHECK_THROWS_WITH(ops::max_pool(Tensor::zeros({1, 1, 4, 1, 4}), 2), doctest::Contains("max_pool3d"));
}

TEST_CASE("gradcheck multi-class losses: softmax Dice, cross-entropy, Dice+CE, 2D and 3D") {
  // Class maps [N, spatial...] with every class present, logits [N, C, spatial...].
  struct Case {
    Shape logits;
    uint64_t seed;
  };
  for (const Case& c : {Case{{2, 4, 3, 5}, 40}, Case{{1, 4, 3, 4, 5}, 41}, Case{{2, 2, 2, 3, 3}, 42}}) {
    Shape map_shape = c.logits;
    map_shape.erase(map_shape.begin() + 1);
    const int64_t classes = c.logits[1], voxels = shape_numel(map_shape);
    std::vector<float> labels(static_cast<size_t>(voxels));
    for (int64_t v = 0; v < voxels; ++v) labels[static_cast<size_t>(v)] = static_cast<float>((v * 7 + c.seed) % classes);
    const Tensor t = Tensor::from_vector(map_shape, labels);
    CAPTURE(shape_str(c.logits));
    gradcheck("softmax_dice", {random_tensor(c.logits, c.seed, -3, 3)},
              [&](const std::vector<Tensor>& in) { return softmax_dice_loss(in[0], t); });
    gradcheck("cross_entropy", {random_tensor(c.logits, c.seed + 10, -3, 3)},
              [&](const std::vector<Tensor>& in) { return cross_entropy_loss(in[0], t); });
    gradcheck("dice+ce", {random_tensor(c.logits, c.seed + 20, -3, 3)},
              [&](const std::vector<Tensor>& in) { return dice_ce_loss(in[0], t); });
  }
}
