// Parity cases of the multi-class segmentation kernels (softmax over channels, argmax, one-hot,
// softmax Dice, cross-entropy) and of the multi-class losses through autograd. Logits are
// [N, C, S], class maps [N, S] of floats holding 0..C-1 (kernels/softmax.hpp).
#include <algorithm>
#include <cmath>
#include <string>

#include "engine/autograd.hpp"
#include "kernels/kernels.hpp"
#include "tests/parity_cases.hpp"
#include "tests/test_util.hpp"
#include "unet/losses.hpp"

namespace unet::test {

namespace {

struct Layout {
  int64_t n, c, s;
  std::string str() const { return "n=" + std::to_string(n) + " c=" + std::to_string(c) + " s=" + std::to_string(s); }
  int64_t voxels() const { return n * s; }
  int64_t numel() const { return n * c * s; }
  size_t at(int64_t v, int64_t k) const { return static_cast<size_t>((v / s) * c * s + k * s + v % s); }
};

// Above the OpenMP threshold in voxels (2 * 12503 = 25006) and odd; tiny; two classes.
const Layout kLayouts[] = {{2, 4, 12503}, {1, 3, 7}, {3, 2, 5}};

Tensor input(const std::vector<float>& v, Device d) {
  return Tensor::from_vector({static_cast<int64_t>(v.size())}, v, d);
}

// Class indices 0..classes-1 as floats, uniformly drawn.
std::vector<float> class_map(int64_t voxels, int64_t classes, uint64_t seed) {
  auto v = random_vector(voxels, seed, 0.0f, static_cast<float>(classes));
  for (auto& x : v) x = std::min(std::floor(x), static_cast<float>(classes - 1));
  return v;
}

std::vector<double> softmax_ref(const std::vector<float>& z, const Layout& l) {
  std::vector<double> p(z.size());
  for (int64_t v = 0; v < l.voxels(); ++v) {
    double m = -INFINITY, sum = 0;
    for (int64_t k = 0; k < l.c; ++k) m = std::max(m, static_cast<double>(z[l.at(v, k)]));
    for (int64_t k = 0; k < l.c; ++k) sum += std::exp(z[l.at(v, k)] - m);
    for (int64_t k = 0; k < l.c; ++k) p[l.at(v, k)] = std::exp(z[l.at(v, k)] - m) / sum;
  }
  return p;
}

// Logits on a grid of 0.5 in [-2, 2]: many voxels have two or more classes tied for the max.
std::vector<float> tied_logits(int64_t n, uint64_t seed) {
  auto v = random_vector(n, seed, -2.0f, 2.0f);
  for (auto& x : v) x = std::round(x * 2.0f) / 2.0f;
  return v;
}

}  // namespace

void add_multiclass_kernel_cases(std::vector<ParityCase>& c) {
  // As in kernel_cases(): expf/logf are within a few ulp and the sums reduce float terms in a
  // different order than the reference: 1e-10 nmse is far above that (~1e-13) and far below
  // a wrong class, index or formula (1e-5 and more).
  constexpr double kTranscendental = 1e-10;
  for (const Layout& l : kLayouts) {
    // Logits up to +-40: exp(z - max) underflows to 0 for some classes, and must not overflow.
    c.push_back({"softmax_channels+argmax_channels+one_hot " + l.str() + " (logits up to +-40, ties)",
                 [l](Device d) {
                   ParityResult r;
                   Guarded p(l.numel(), d), y(l.voxels(), d), h(l.numel(), d);
                   kernels::softmax_channels(d, l.n, l.c, l.s, input(random_vector(l.numel(), 40, -40, 40), d).data(),
                                             p.ptr());
                   kernels::argmax_channels(d, l.n, l.c, l.s, input(tied_logits(l.numel(), 41), d).data(), y.ptr());
                   auto labels = class_map(l.voxels(), l.c, 42);
                   labels[0] = static_cast<float>(l.c);  // out of range: an all-zero row
                   kernels::one_hot(d, l.n, l.c, l.s, input(labels, d).data(), h.ptr());
                   r.outputs = {p.take(r.guards_intact), y.take(r.guards_intact), h.take(r.guards_intact)};
                   return r;
                 },
                 [l] {
                   const auto p = softmax_ref(random_vector(l.numel(), 40, -40, 40), l);
                   const auto z = tied_logits(l.numel(), 41);
                   auto labels = class_map(l.voxels(), l.c, 42);
                   labels[0] = static_cast<float>(l.c);
                   std::vector<double> y(static_cast<size_t>(l.voxels())), h(static_cast<size_t>(l.numel()), 0.0);
                   for (int64_t v = 0; v < l.voxels(); ++v) {
                     int64_t best = 0;
                     for (int64_t k = 1; k < l.c; ++k)
                       if (z[l.at(v, k)] > z[l.at(v, best)]) best = k;  // strict: ties to the lowest
                     y[static_cast<size_t>(v)] = static_cast<double>(best);
                     const auto label = static_cast<int64_t>(labels[static_cast<size_t>(v)]);
                     if (label < l.c) h[l.at(v, label)] = 1.0;
                   }
                   return std::vector<std::vector<double>>{p, y, h};
                 },
                 kTranscendental});
    // Dice on given probabilities; in the tiny layouts the last class is absent from the batch.
    const bool absent = l.voxels() < 100;
    auto probabilities = [l] {
      const auto p = softmax_ref(random_vector(l.numel(), 43, -3, 3), l);
      return std::vector<float>(p.begin(), p.end());
    };
    auto labels = [l, absent] {
      return class_map(l.voxels(), absent ? l.c - 1 : l.c, 44);
    };
    c.push_back(
        {"softmax_dice_sums+softmax_dice_loss+softmax_dice_backward " + l.str() +
             (absent ? " (last class absent)" : ""),
         [=](Device d) {
           ParityResult r;
           Guarded sums(3 * l.c, d), loss(1, d), dz(l.numel(), d);
           const Tensor p = input(probabilities(), d), t = input(labels(), d), g = input({1.5f}, d);
           kernels::softmax_dice_sums(d, l.n, l.c, l.s, p.data(), t.data(), sums.ptr());
           kernels::softmax_dice_loss(d, l.c, sums.ptr(), 1e-5f, loss.ptr());
           kernels::softmax_dice_backward(d, l.n, l.c, l.s, p.data(), t.data(), sums.ptr(), 1e-5f, g.data(), dz.ptr());
           r.outputs = {sums.take(r.guards_intact), loss.take(r.guards_intact), dz.take(r.guards_intact)};
           return r;
         },
         [=] {
           const auto p = probabilities();
           const auto t = labels();
           const double smooth = static_cast<double>(1e-5f);
           std::vector<double> sums(static_cast<size_t>(3 * l.c), 0.0);
           for (int64_t v = 0; v < l.voxels(); ++v)
             for (int64_t k = 0; k < l.c; ++k) {
               const double y = t[static_cast<size_t>(v)] == static_cast<float>(k) ? 1.0 : 0.0;
               sums[static_cast<size_t>(k)] += p[l.at(v, k)] * y;
               sums[static_cast<size_t>(l.c + k)] += p[l.at(v, k)];
               sums[static_cast<size_t>(2 * l.c + k)] += y;
             }
           double mean_dice = 0;
           for (int64_t k = 0; k < l.c; ++k)
             mean_dice += (2 * sums[static_cast<size_t>(k)] + smooth) /
                          (sums[static_cast<size_t>(l.c + k)] + sums[static_cast<size_t>(2 * l.c + k)] + smooth) /
                          static_cast<double>(l.c);
           // dL/dp_j from the formula, then the softmax Jacobian as a full C x C product.
           std::vector<double> dz(static_cast<size_t>(l.numel()));
           for (int64_t v = 0; v < l.voxels(); ++v) {
             std::vector<double> g(static_cast<size_t>(l.c));
             for (int64_t j = 0; j < l.c; ++j) {
               const double y = t[static_cast<size_t>(v)] == static_cast<float>(j) ? 1.0 : 0.0;
               const double D = sums[static_cast<size_t>(l.c + j)] + sums[static_cast<size_t>(2 * l.c + j)] + smooth;
               const double N = 2 * sums[static_cast<size_t>(j)] + smooth;
               g[static_cast<size_t>(j)] = -(2 * y * D - N) / (D * D) / static_cast<double>(l.c);
             }
             for (int64_t k = 0; k < l.c; ++k) {
               double acc = 0;
               for (int64_t j = 0; j < l.c; ++j)
                 acc += g[static_cast<size_t>(j)] * p[l.at(v, j)] * ((j == k ? 1.0 : 0.0) - p[l.at(v, k)]);
               dz[l.at(v, k)] = 1.5 * acc;
             }
           }
           return std::vector<std::vector<double>>{sums, {1 - mean_dice}, dz};
         },
         kTranscendental});
    c.push_back({"cross_entropy_sum+cross_entropy_backward " + l.str() + " (logits up to +-50)",
                 [l](Device d) {
                   ParityResult r;
                   Guarded total(1, d), dz(l.numel(), d);
                   const Tensor z = input(random_vector(l.numel(), 45, -50, 50), d),
                                t = input(class_map(l.voxels(), l.c, 46), d), g = input({2.0f}, d);
                   kernels::cross_entropy_sum(d, l.n, l.c, l.s, z.data(), t.data(), total.ptr());
                   kernels::cross_entropy_backward(d, l.n, l.c, l.s, z.data(), t.data(), g.data(), 0.5f, dz.ptr());
                   r.outputs = {total.take(r.guards_intact), dz.take(r.guards_intact)};
                   return r;
                 },
                 [l] {
                   const auto z = random_vector(l.numel(), 45, -50, 50);
                   const auto t = class_map(l.voxels(), l.c, 46);
                   const auto p = softmax_ref(z, l);
                   double total = 0;
                   std::vector<double> dz(static_cast<size_t>(l.numel()));
                   for (int64_t v = 0; v < l.voxels(); ++v) {
                     const auto label = static_cast<int64_t>(t[static_cast<size_t>(v)]);
                     total -= std::log(p[l.at(v, label)]);
                     for (int64_t k = 0; k < l.c; ++k)
                       dz[l.at(v, k)] = 2.0 * 0.5 * (p[l.at(v, k)] - (k == label ? 1 : 0));
                   }
                   return std::vector<std::vector<double>>{{total}, dz};
                 },
                 kTranscendental});
  }
}

void add_multiclass_layer_cases(std::vector<ParityCase>& c) {
  // The multi-class losses as training runs them, on a 3D BraTS-like shape with 4 classes:
  // softmax, the per-class sums and the backward through autograd. Compared GPU against CPU:
  // the same kernel code on both, only the summation order and the last ulp of expf/logf
  // differ (~1e-13 nmse); 1e-10 catches a wrong class, index or formula.
  constexpr double tolerance = 1e-10;
  for (const char* loss : {"dice", "ce", "dice+ce"}) {
    c.push_back({std::string("multiclass_segmentation_loss ") + loss + " [2,4,5,6,7]",
                 [loss](Device d) {
                   ParityResult r;
                   Tensor z = random_tensor({2, 4, 5, 6, 7}, 110, -3, 3, d).set_requires_grad(true);
                   const Tensor t = Tensor::from_vector({2, 5, 6, 7}, class_map(2 * 5 * 6 * 7, 4, 111), d);
                   MulticlassLossConfig config;
                   config.kind = MulticlassLossConfig::parse(loss);
                   Tensor y = multiclass_segmentation_loss(z, t, config);
                   r.outputs.push_back(y.to_vector());
                   run_backward(y, Tensor::full({1}, 1.5f, d));
                   r.outputs.push_back(z.grad().to_vector());
                   return r;
                 },
                 nullptr, tolerance});
  }
}

}  // namespace unet::test
