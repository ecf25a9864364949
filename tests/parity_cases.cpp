#include "tests/parity_cases.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "engine/autograd.hpp"
#include "base/rng.hpp"
#include "engine/tensor.hpp"
#include "kernels/kernels.hpp"
#include "layers/ops.hpp"
#include "unet/losses.hpp"
#include "tests/test_util.hpp"

namespace unet::test {

Guarded::Guarded(int64_t n, Device d) : n_(n), t_(Tensor::full({n + 2 * kGuard}, kSentinel, d)) {}

Guarded::Guarded(const std::vector<float>& init, Device d) : Guarded(static_cast<int64_t>(init.size()), d) {
  t_.view_range(kGuard, {n_}).copy_from(Tensor::from_vector({n_}, init));
}

float* Guarded::ptr() const {
  return t_.data() + kGuard;
}

std::vector<float> Guarded::take(bool& ok) const {
  const auto all = t_.to_vector();
  for (int64_t i = 0; i < kGuard; ++i)
    if (all[static_cast<size_t>(i)] != kSentinel || all[static_cast<size_t>(n_ + kGuard + i)] != kSentinel) ok = false;
  return {all.begin() + kGuard, all.begin() + kGuard + n_};
}

double nmse(const std::vector<float>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den == 0 ? num : num / den;
}

namespace {

Tensor input(const std::vector<float>& v, Device d) {
  return Tensor::from_vector({static_cast<int64_t>(v.size())}, v, d);
}

std::vector<float> mask01(int64_t n, uint64_t seed) {
  auto v = random_vector(n, seed);
  for (auto& x : v) x = x > 0.2f ? 1.0f : 0.0f;
  return v;
}

std::vector<double> to_double(const std::vector<float>& v) {
  return {v.begin(), v.end()};
}

double sigmoid_d(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

// Sizes: one above the OpenMP threshold and odd, one tiny.
const int64_t kSizes[] = {100003, 7};

template <class Run, class Ref>
void add_sized(std::vector<ParityCase>& out, const std::string& name, double tol, Run run, Ref ref) {
  for (int64_t n : kSizes) {
    out.push_back(
        {name + " n=" + std::to_string(n), [run, n](Device d) { return run(d, n); }, [ref, n] { return ref(n); }, tol});
  }
}

}  // namespace

std::vector<ParityCase> kernel_cases() {
  std::vector<ParityCase> c;
  // Elementwise ops are exact or one rounding away from the double reference: 1e-12 nmse
  // is far above float rounding (~1e-14) and far below any indexing or formula error.
  constexpr double kExact = 1e-12;
  // Transcendentals (expf, log1pf) are within a few ulp: 1e-10.
  constexpr double kTranscendental = 1e-10;

  add_sized(
      c, "fill", kExact,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(n, d);
        kernels::fill(d, n, 0.25f, y.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        return r;
      },
      [](int64_t n) { return std::vector<std::vector<double>>{std::vector<double>(static_cast<size_t>(n), 0.25)}; });
  add_sized(
      c, "add", kExact,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(n, d);
        kernels::add(d, n, input(random_vector(n, 1), d).data(), input(random_vector(n, 2), d).data(), y.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        return r;
      },
      [](int64_t n) {
        auto a = random_vector(n, 1), b = random_vector(n, 2);
        std::vector<double> y(a.size());
        for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<double>(a[i]) + b[i];
        return std::vector<std::vector<double>>{y};
      });
  add_sized(
      c, "axpy", kExact,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(random_vector(n, 3), d);
        kernels::axpy(d, n, -0.5f, input(random_vector(n, 4), d).data(), y.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        return r;
      },
      [](int64_t n) {
        auto y0 = random_vector(n, 3), x = random_vector(n, 4);
        std::vector<double> y(x.size());
        for (size_t i = 0; i < y.size(); ++i) y[i] = y0[i] - 0.5 * x[i];
        return std::vector<std::vector<double>>{y};
      });
  add_sized(
      c, "scale", kExact,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(n, d);
        kernels::scale(d, n, 3.0f, input(random_vector(n, 5), d).data(), y.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        return r;
      },
      [](int64_t n) {
        auto x = random_vector(n, 5);
        std::vector<double> y(x.size());
        for (size_t i = 0; i < y.size(); ++i) y[i] = 3.0 * x[i];
        return std::vector<std::vector<double>>{y};
      });
  add_sized(
      c, "relu_forward+relu_backward", kExact,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(n, d), dx(n, d);
        kernels::relu_forward(d, n, input(random_vector(n, 6), d).data(), y.ptr());
        kernels::relu_backward(d, n, y.ptr(), input(random_vector(n, 7), d).data(), dx.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        r.outputs.push_back(dx.take(r.guards_intact));
        return r;
      },
      [](int64_t n) {
        auto x = random_vector(n, 6), g = random_vector(n, 7);
        std::vector<double> y(x.size()), dx(x.size());
        for (size_t i = 0; i < y.size(); ++i) {
          y[i] = x[i] > 0 ? x[i] : 0;
          dx[i] = x[i] > 0 ? g[i] : 0;
        }
        return std::vector<std::vector<double>>{y, dx};
      });
  add_sized(
      c, "sigmoid_forward+sigmoid_backward", kTranscendental,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(n, d), dx(n, d);
        kernels::sigmoid_forward(d, n, input(random_vector(n, 8, -30, 30), d).data(), y.ptr());
        kernels::sigmoid_backward(d, n, y.ptr(), input(random_vector(n, 9), d).data(), dx.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        r.outputs.push_back(dx.take(r.guards_intact));
        return r;
      },
      [](int64_t n) {
        auto x = random_vector(n, 8, -30, 30), g = random_vector(n, 9);
        std::vector<double> y(x.size()), dx(x.size());
        for (size_t i = 0; i < y.size(); ++i) {
          y[i] = sigmoid_d(x[i]);
          dx[i] = g[i] * y[i] * (1 - y[i]);
        }
        return std::vector<std::vector<double>>{y, dx};
      });

  // concat [2, 3, hw] + [2, 5, hw] and its split
  for (int64_t hw : {int64_t{4099}, int64_t{3}}) {
    const int64_t n = 2, ca = 3, cb = 5;
    c.push_back({"concat_channels+concat_channels_backward hw=" + std::to_string(hw),
                 [=](Device d) {
                   ParityResult r;
                   Guarded y(n * (ca + cb) * hw, d), da(n * ca * hw, d), db(n * cb * hw, d);
                   kernels::concat_channels(d, n, ca, cb, hw, input(random_vector(n * ca * hw, 10), d).data(),
                                            input(random_vector(n * cb * hw, 11), d).data(), y.ptr());
                   Tensor dy = input(random_vector(n * (ca + cb) * hw, 12), d);
                   kernels::concat_channels_backward(d, n, ca, cb, hw, dy.data(), da.ptr(), db.ptr());
                   r.outputs = {y.take(r.guards_intact), da.take(r.guards_intact), db.take(r.guards_intact)};
                   return r;
                 },
                 [=] {
                   auto a = random_vector(n * ca * hw, 10), b = random_vector(n * cb * hw, 11),
                        dy = random_vector(n * (ca + cb) * hw, 12);
                   std::vector<double> y, da, db;
                   for (int64_t i = 0; i < n; ++i) {
                     for (int64_t k = 0; k < ca * hw; ++k) y.push_back(a[static_cast<size_t>(i * ca * hw + k)]);
                     for (int64_t k = 0; k < cb * hw; ++k) y.push_back(b[static_cast<size_t>(i * cb * hw + k)]);
                     for (int64_t k = 0; k < ca * hw; ++k)
                       da.push_back(dy[static_cast<size_t>(i * (ca + cb) * hw + k)]);
                     for (int64_t k = 0; k < cb * hw; ++k)
                       db.push_back(dy[static_cast<size_t>(i * (ca + cb) * hw + ca * hw + k)]);
                   }
                   return std::vector<std::vector<double>>{y, da, db};
                 },
                 kExact});
  }

  // Reductions sum in a different order than the reference; float partial sums over 1e5
  // terms carry ~1e-7 relative error each: 1e-10 nmse.
  constexpr double kReduction = 1e-10;
  add_sized(
      c, "sum", kReduction,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(1, d);
        kernels::sum(d, n, input(random_vector(n, 13), d).data(), y.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        return r;
      },
      [](int64_t n) {
        double s = 0;
        for (float v : random_vector(n, 13)) s += v;
        return std::vector<std::vector<double>>{{s}};
      });
  // More than 1024 blocks (the CUDA launcher caps at 4096 of 256 threads, so 3000017 terms take
  // 3 grid-stride passes and the final pass adds 4096 partials). Terms in [0, 1] keep the sum
  // far from 0 (~1.5e6), so nmse measures relative error: float partials give ~1e-7, 1e-10 nmse.
  constexpr int64_t kManyBlocks = 3000017;
  c.push_back({"sum n=" + std::to_string(kManyBlocks) + " (> 1024 blocks, several grid-stride passes)",
               [](Device d) {
                 ParityResult r;
                 Guarded y(1, d);
                 kernels::sum(d, kManyBlocks, input(random_vector(kManyBlocks, 18, 0, 1), d).data(), y.ptr());
                 r.outputs.push_back(y.take(r.guards_intact));
                 return r;
               },
               [] {
                 double s = 0;
                 for (float v : random_vector(kManyBlocks, 18, 0, 1)) s += v;
                 return std::vector<std::vector<double>>{{s}};
               },
               kReduction});
  add_sized(
      c, "bce_with_logits_sum+bce_with_logits_backward (|z| <= 100)", kTranscendental,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded s(1, d), dz(n, d);
        Tensor z = input(random_vector(n, 14, -100, 100), d), t = input(mask01(n, 15), d), g = input({2.0f}, d);
        kernels::bce_with_logits_sum(d, n, z.data(), t.data(), s.ptr());
        kernels::bce_with_logits_backward(d, n, z.data(), t.data(), g.data(), 0.5f, dz.ptr());
        r.outputs = {s.take(r.guards_intact), dz.take(r.guards_intact)};
        return r;
      },
      [](int64_t n) {
        auto z = random_vector(n, 14, -100, 100), t = mask01(n, 15);
        double s = 0;
        std::vector<double> dz(z.size());
        for (size_t i = 0; i < z.size(); ++i) {
          const double zi = z[i];
          s += std::max(zi, 0.0) - zi * t[i] + std::log1p(std::exp(-std::fabs(zi)));
          dz[i] = 2.0 * 0.5 * (sigmoid_d(zi) - t[i]);
        }
        return std::vector<std::vector<double>>{{s}, dz};
      });
  add_sized(
      c, "dice_sums+dice_loss+dice_backward", kTranscendental,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded sums(3, d), loss(1, d), dz(n, d);
        Tensor z = input(random_vector(n, 16, -5, 5), d), t = input(mask01(n, 17), d), g = input({1.0f}, d);
        kernels::dice_sums(d, n, z.data(), t.data(), sums.ptr());
        kernels::dice_loss(d, sums.ptr(), 1.0f, loss.ptr());
        kernels::dice_backward(d, n, z.data(), t.data(), sums.ptr(), 1.0f, g.data(), dz.ptr());
        r.outputs = {sums.take(r.guards_intact), loss.take(r.guards_intact), dz.take(r.guards_intact)};
        return r;
      },
      [](int64_t n) {
        auto z = random_vector(n, 16, -5, 5), t = mask01(n, 17);
        double I = 0, P = 0, T = 0;
        for (size_t i = 0; i < z.size(); ++i) {
          const double p = sigmoid_d(z[i]);
          I += p * t[i];
          P += p;
          T += t[i];
        }
        const double D = P + T + 1, N = 2 * I + 1;
        std::vector<double> dz(z.size());
        for (size_t i = 0; i < z.size(); ++i) {
          const double p = sigmoid_d(z[i]);
          dz[i] = -(2 * t[i] * D - N) / (D * D) * p * (1 - p);
        }
        return std::vector<std::vector<double>>{{I, P, T}, {1 - N / D}, dz};
      });
  add_sized(
      c, "adam_step (weight decay 0.01, step 3)", kTranscendental,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded p(random_vector(n, 18), d), m(random_vector(n, 19, -0.1f, 0.1f), d),
            v(random_vector(n, 20, 0, 0.01f), d);
        kernels::AdamConfig config;
        config.weight_decay = 0.01;
        kernels::adam_step(d, n, config, 3, p.ptr(), input(random_vector(n, 21), d).data(), m.ptr(), v.ptr());
        r.outputs = {p.take(r.guards_intact), m.take(r.guards_intact), v.take(r.guards_intact)};
        return r;
      },
      [](int64_t n) {
        auto p = to_double(random_vector(n, 18)), m = to_double(random_vector(n, 19, -0.1f, 0.1f)),
             v = to_double(random_vector(n, 20, 0, 0.01f)), g = to_double(random_vector(n, 21));
        for (size_t i = 0; i < p.size(); ++i) {
          const double gi = g[i] + 0.01 * p[i];
          m[i] = 0.9 * m[i] + 0.1 * gi;
          v[i] = 0.999 * v[i] + 0.001 * gi * gi;
          p[i] -= 1e-3 / (1 - std::pow(0.9, 3)) * m[i] / (std::sqrt(v[i]) / std::sqrt(1 - std::pow(0.999, 3)) + 1e-8);
        }
        return std::vector<std::vector<double>>{p, m, v};
      });
  add_sized(
      c, "uniform_init (Philox)", kExact,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(n, d);
        kernels::uniform_init(d, n, -0.5f, 0.5f, 1234, 77, y.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        return r;
      },
      [](int64_t n) {
        std::vector<double> y(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i)
          y[static_cast<size_t>(i)] = -0.5 + bits_to_unit_float(philox_bits(1234, 77 + static_cast<uint64_t>(i)));
        return std::vector<std::vector<double>>{y};
      });
  // BatchNorm across ranks on x [N, C, P]: the per-channel sums (with and without shifts and a
  // second factor), then the backward from the summed statistics.
  {
    const int64_t n = 3, ch = 5, p = 2731;  // N P above the OpenMP threshold, odd, many chunks
    const int64_t total = n * ch * p;
    const auto at = [=](int64_t i, int64_t k, int64_t j) { return static_cast<size_t>((i * ch + k) * p + j); };
    c.push_back({"channel_sums",
                 [=](Device d) {
                   ParityResult r;
                   const Tensor x = input(random_vector(total, 31), d), y = input(random_vector(total, 32), d);
                   const Tensor sx = input(random_vector(ch, 33), d), sy = input(random_vector(ch, 34), d);
                   Tensor scratch = Tensor::empty({ch * kernels::channel_sum_chunks(n * p)}, d);
                   Guarded plain(ch, d), product(ch, d);
                   kernels::channel_sums(d, n, ch, p, x.data(), nullptr, nullptr, nullptr, scratch.data(), plain.ptr());
                   kernels::channel_sums(d, n, ch, p, x.data(), sx.data(), y.data(), sy.data(), scratch.data(),
                                         product.ptr());
                   r.outputs = {plain.take(r.guards_intact), product.take(r.guards_intact)};
                   return r;
                 },
                 [=] {
                   const auto x = random_vector(total, 31), y = random_vector(total, 32);
                   const auto sx = random_vector(ch, 33), sy = random_vector(ch, 34);
                   std::vector<double> plain(static_cast<size_t>(ch), 0.0), product(static_cast<size_t>(ch), 0.0);
                   for (int64_t i = 0; i < n; ++i)
                     for (int64_t k = 0; k < ch; ++k)
                       for (int64_t j = 0; j < p; ++j) {
                         plain[static_cast<size_t>(k)] += x[at(i, k, j)];
                         product[static_cast<size_t>(k)] += (static_cast<double>(x[at(i, k, j)]) - sx[static_cast<size_t>(k)]) *
                                                            (static_cast<double>(y[at(i, k, j)]) - sy[static_cast<size_t>(k)]);
                       }
                   return std::vector<std::vector<double>>{plain, product};
                 },
                 1e-12});  // double sums of chunks, each rounded to float once: far below 1e-12 of sum b^2
    c.push_back({"sync_batchnorm_backward",
                 [=](Device d) {
                   ParityResult r;
                   const Tensor x = input(random_vector(total, 41), d), dy = input(random_vector(total, 42), d);
                   const Tensor mean = input(random_vector(ch, 43), d), var = input(random_vector(ch, 44, 0.5f, 2), d);
                   const Tensor gamma = input(random_vector(ch, 45), d);
                   const Tensor sums = input(random_vector(2 * ch, 46), d), local = input(random_vector(2 * ch, 47), d);
                   Guarded dx(total, d), dgamma(ch, d), dbeta(ch, d);
                   kernels::sync_batchnorm_backward(d, n, ch, p, 2 * n * p, 1e-5f, x.data(), dy.data(), mean.data(),
                                                    var.data(), gamma.data(), sums.data(), local.data(), dx.ptr(),
                                                    dgamma.ptr(), dbeta.ptr());
                   r.outputs = {dx.take(r.guards_intact), dgamma.take(r.guards_intact), dbeta.take(r.guards_intact)};
                   return r;
                 },
                 [=] {
                   const auto x = random_vector(total, 41), dy = random_vector(total, 42), mean = random_vector(ch, 43);
                   const auto var = random_vector(ch, 44, 0.5f, 2), gamma = random_vector(ch, 45);
                   const auto sums = random_vector(2 * ch, 46), local = random_vector(2 * ch, 47);
                   const double m = static_cast<double>(2 * n * p), eps = static_cast<double>(1e-5f);
                   std::vector<double> dx(static_cast<size_t>(total)), dgamma(static_cast<size_t>(ch)), dbeta(static_cast<size_t>(ch));
                   for (int64_t k = 0; k < ch; ++k) {
                     const size_t kk = static_cast<size_t>(k);
                     const double r = 1.0 / std::sqrt(var[kk] + eps);
                     dgamma[kk] = local[static_cast<size_t>(ch + k)] * r;
                     dbeta[kk] = local[kk];
                     for (int64_t i = 0; i < n; ++i)
                       for (int64_t j = 0; j < p; ++j) {
                         const size_t e = at(i, k, j);
                         dx[e] = gamma[kk] * r *
                                 (dy[e] - sums[kk] / m - (x[e] - mean[kk]) * r * r * sums[static_cast<size_t>(ch + k)] / m);
                       }
                   }
                   return std::vector<std::vector<double>>{dx, dgamma, dbeta};
                 },
                 kTranscendental});  // float sqrt and products against double: ~1e-14 nmse
  }
  c.push_back({"batchnorm_running_stats",
               [](Device d) {
                 ParityResult r;
                 Guarded rm(random_vector(5, 22), d), rv(random_vector(5, 23, 0.5f, 2), d);
                 kernels::batchnorm_running_stats(d, 5, input(random_vector(5, 24), d).data(),
                                                  input(random_vector(5, 25, 0, 1), d).data(), 0.1f, 10, rm.ptr(),
                                                  rv.ptr());
                 r.outputs = {rm.take(r.guards_intact), rv.take(r.guards_intact)};
                 return r;
               },
               [] {
                 auto rm = to_double(random_vector(5, 22)), rv = to_double(random_vector(5, 23, 0.5f, 2));
                 auto bm = random_vector(5, 24), bv = random_vector(5, 25, 0, 1);
                 for (size_t i = 0; i < 5; ++i) {
                   rm[i] = 0.9 * rm[i] + 0.1 * bm[i];
                   rv[i] = 0.9 * rv[i] + 0.1 * bv[i] * 10.0 / 9.0;
                 }
                 return std::vector<std::vector<double>>{rm, rv};
               },
               kExact});
  add_sized(
      c, "broadcast_scalar", kExact,
      [](Device d, int64_t n) {
        ParityResult r;
        Guarded y(n, d);
        kernels::broadcast_scalar(d, n, input({-3.5f}, d).data(), y.ptr());
        r.outputs.push_back(y.take(r.guards_intact));
        return r;
      },
      [](int64_t n) { return std::vector<std::vector<double>>{std::vector<double>(static_cast<size_t>(n), -3.5)}; });
  // Resizing: up (37x23 -> 64x48) and down (64x48 -> 37x23), the reference in double with
  // the same pixel-centre convention. The kernel computes the source coordinate in float
  // (up to 64, so ~4e-6 absolute error in each interpolation weight, measured nmse 4e-12):
  // 1e-10 allows that; a pixel off by one gives ~1e-2.
  constexpr double kResize = 1e-10;
  for (const auto& [ih, iw, oh, ow] : {std::array<int64_t, 4>{37, 23, 64, 48}, std::array<int64_t, 4>{64, 48, 37, 23}}) {
    const std::string size = " " + std::to_string(ih) + "x" + std::to_string(iw) + "->" + std::to_string(oh) + "x" +
                             std::to_string(ow);
    c.push_back({"resize_bilinear" + size,
                 [=](Device d) {
                   ParityResult r;
                   Guarded y(oh * ow, d);
                   kernels::resize_bilinear(d, ih, iw, oh, ow, input(random_vector(ih * iw, 30), d).data(), y.ptr());
                   r.outputs.push_back(y.take(r.guards_intact));
                   return r;
                 },
                 [=] {
                   const auto x = random_vector(ih * iw, 30);
                   std::vector<double> y(static_cast<size_t>(oh * ow));
                   for (int64_t oy = 0; oy < oh; ++oy)
                     for (int64_t ox = 0; ox < ow; ++ox) {
                       const double sy = std::clamp((oy + 0.5) * ih / oh - 0.5, 0.0, ih - 1.0);
                       const double sx = std::clamp((ox + 0.5) * iw / ow - 0.5, 0.0, iw - 1.0);
                       const int64_t y0 = static_cast<int64_t>(sy), x0 = static_cast<int64_t>(sx);
                       const int64_t y1 = std::min(y0 + 1, ih - 1), x1 = std::min(x0 + 1, iw - 1);
                       const double fy = sy - y0, fx = sx - x0;
                       auto at = [&](int64_t yy, int64_t xx) { return static_cast<double>(x[static_cast<size_t>(yy * iw + xx)]); };
                       y[static_cast<size_t>(oy * ow + ox)] = (at(y0, x0) * (1 - fx) + at(y0, x1) * fx) * (1 - fy) +
                                                              (at(y1, x0) * (1 - fx) + at(y1, x1) * fx) * fy;
                     }
                   return std::vector<std::vector<double>>{y};
                 },
                 kResize});
    // Nearest on label bytes: the byte buffers live inside float tensors (guards at float
    // granularity); the output bytes are compared as values, exactly.
    auto labels = [=] {
      std::vector<uint8_t> v(static_cast<size_t>(ih * iw));
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 37 + i / 7) % 251);
      return v;
    };
    c.push_back({"resize_nearest" + size,
                 [=](Device d) {
                   const auto bytes = labels();
                   std::vector<float> packed((bytes.size() + 3) / 4, 0.0f);
                   std::memcpy(packed.data(), bytes.data(), bytes.size());
                   const Tensor x = input(packed, d);
                   ParityResult r;
                   Guarded y((oh * ow + 3) / 4, d);
                   kernels::resize_nearest(d, ih, iw, oh, ow, reinterpret_cast<const uint8_t*>(x.data()),
                                           reinterpret_cast<uint8_t*>(y.ptr()));
                   const auto out = y.take(r.guards_intact);
                   std::vector<uint8_t> got(static_cast<size_t>(oh * ow));
                   std::memcpy(got.data(), out.data(), got.size());
                   r.outputs.push_back(std::vector<float>(got.begin(), got.end()));
                   return r;
                 },
                 [=] {
                   const auto x = labels();
                   std::vector<double> y(static_cast<size_t>(oh * ow));
                   for (int64_t oy = 0; oy < oh; ++oy)
                     for (int64_t ox = 0; ox < ow; ++ox) {
                       // The source pixel whose centre is nearest: floor((o + 0.5) * in / out).
                       const int64_t sy = std::min<int64_t>(static_cast<int64_t>(std::floor((oy + 0.5) * ih / oh)), ih - 1);
                       const int64_t sx = std::min<int64_t>(static_cast<int64_t>(std::floor((ox + 0.5) * iw / ow)), iw - 1);
                       y[static_cast<size_t>(oy * ow + ox)] = x[static_cast<size_t>(sy * iw + sx)];
                     }
                   return std::vector<std::vector<double>>{y};
                 },
                 0.0});  // label bytes: exact
  }
  add_multiclass_kernel_cases(c);
  return c;
}

namespace {
// Forward output and every input gradient of `f` on device d, with seeded inputs.
ParityResult layer_run(Device d, const std::vector<Shape>& shapes,
                       const std::function<Tensor(const std::vector<Tensor>&)>& f) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < shapes.size(); ++i)
    in.push_back(random_tensor(shapes[i], 100 + i, -1, 1, d).set_requires_grad(true));
  Tensor y = f(in);
  ParityResult r;
  r.outputs.push_back(y.to_vector());
  run_backward(y, random_tensor(y.shape(), 99, -1, 1, d));
  for (auto& t : in) r.outputs.push_back(t.grad().to_vector());
  return r;
}
}  // namespace

std::vector<ParityCase> layer_cases() {
  // Library-backed layers (oneDNN vs cuDNN/cuBLAS): compared CUDA against CPU. cuDNN may use
  // TF32 tensor cores (10-bit mantissa, as PyTorch allows by default): nmse 1e-5 is ~3e-3
  // relative, what TF32 gives on sums of a few hundred products.
  constexpr double kLibrary = 1e-5;
  std::vector<ParityCase> c;
  auto add = [&](const std::string& name, std::vector<Shape> shapes,
                 std::function<Tensor(const std::vector<Tensor>&)> f) {
    c.push_back({name, [shapes, f](Device d) { return layer_run(d, shapes, f); }, nullptr, kLibrary});
  };
  add("conv2d 3x3 pad 1 [2,16,33,20] -> 8 (+bias)", {{2, 16, 33, 20}, {8, 16, 3, 3}, {8}},
      [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 1); });
  add("conv2d 1x1 (cuBLAS) [2,32,17,16] -> 1 (+bias)", {{2, 32, 17, 16}, {1, 32, 1, 1}, {1}},
      [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 0); });
  add("conv_transpose2d 2x2 s2 [2,16,9,7] -> 8 (+bias)", {{2, 16, 9, 7}, {16, 8, 2, 2}, {8}},
      [](const std::vector<Tensor>& in) { return ops::conv_transpose(in[0], in[1], in[2], 2, 0); });
  add("batch_norm train [4,8,15,9]", {{4, 8, 15, 9}, {8}, {8}}, [](const std::vector<Tensor>& in) {
    Tensor rm = Tensor::zeros({8}, in[0].device()), rv = Tensor::full({8}, 1.0f, in[0].device());
    return ops::batch_norm_train(in[0], in[1], in[2], rm, rv, 0.1f, 1e-5f);
  });
  add("max_pool2d 2x2 [2,8,15,9]", {{2, 8, 15, 9}},
      [](const std::vector<Tensor>& in) { return ops::max_pool(in[0], 2); });
  // What training and inference really run (issue 12): bias-free 3x3 convs (every conv of the
  // reference layout), BatchNorm in inference mode (validation, eval, predict), and a real
  // U-Net level at batch 16, where cuDNN picks other algorithms and the workspace grows.
  add("conv2d 3x3 pad 1 [2,16,33,20] -> 8 (no bias)", {{2, 16, 33, 20}, {8, 16, 3, 3}},
      [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], Tensor(), 1, 1); });
  add("conv2d 3x3 pad 1 [16,64,64,64] -> 64 (no bias, batch 16)", {{16, 64, 64, 64}, {64, 64, 3, 3}},
      [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], Tensor(), 1, 1); });
  // Forward only: evaluation mode records no gradients (as in validation, eval and predict).
  c.push_back({"batch_norm eval [4,8,15,9]",
               [](Device d) {
                 NoGradGuard no_grad;
                 const Tensor x = random_tensor({4, 8, 15, 9}, 30, -2, 3, d);
                 const Tensor gamma = random_tensor({8}, 31, 0.5, 1.5, d), beta = random_tensor({8}, 32, -1, 1, d);
                 const Tensor rm = random_tensor({8}, 33, -0.5, 0.5, d), rv = random_tensor({8}, 34, 0.5, 2.0, d);
                 ParityResult r;
                 r.outputs.push_back(ops::batch_norm_eval(x, gamma, beta, rm, rv, 1e-5f).to_vector());
                 return r;
               },
               nullptr, kLibrary});
  // The running mean and variance after one training-mode forward, from non-trivial start values.
  c.push_back({"batch_norm train: running mean/var update [16,32,12,10]",
               [](Device d) {
                 ParityResult r;
                 const Tensor x = random_tensor({16, 32, 12, 10}, 33, -2, 3, d);
                 const Tensor gamma = random_tensor({32}, 34, 0.5, 1.5, d), beta = random_tensor({32}, 35, -1, 1, d);
                 Tensor rm = random_tensor({32}, 36, -0.5, 0.5, d), rv = random_tensor({32}, 37, 0.5, 2.0, d);
                 r.outputs.push_back(ops::batch_norm_train(x, gamma, beta, rm, rv, 0.1f, 1e-5f).to_vector());
                 r.outputs.push_back(rm.to_vector());
                 r.outputs.push_back(rv.to_vector());
                 return r;
               },
               nullptr, kLibrary});
  add("concat + relu + sigmoid chain", {{2, 3, 8, 8}, {2, 5, 8, 8}},
      [](const std::vector<Tensor>& in) { return ops::sigmoid(ops::relu(ops::concat_channels(in[0], in[1]))); });
  // The losses as training runs them: the fused BCE / Dice kernels through autograd, with a
  // 0/1 target (the logits' gradient is compared; the target takes none).
  for (const char* loss : {"bce", "dice", "bce+dice"}) {
    add(std::string("segmentation_loss ") + loss + " [4,1,33,20]", {{4, 1, 33, 20}},
        [loss](const std::vector<Tensor>& in) {
          LossConfig config;
          config.kind = LossConfig::parse(loss);
          const Tensor target = Tensor::from_vector({4, 1, 33, 20}, mask01(4 * 33 * 20, 77), in[0].device());
          return segmentation_loss(in[0], target, config);
        });
  }
  add_multiclass_layer_cases(c);
  return c;
}

}  // namespace unet::test
