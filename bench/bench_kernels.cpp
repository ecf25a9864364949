// Micro-benchmarks of every hand-written kernel, in the style of llm.c's dev/cuda: the
// achieved bandwidth of each kernel beside a memcpy of the same bytes, on the CPU and, when
// one is present, on the GPU. Usage: bench_kernels [--n 16777216] [--reps 10]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/device.hpp"
#include "engine/tensor.hpp"
#include "kernels/kernel_list.hpp"
#include "kernels/kernels.hpp"

using namespace unet;

namespace {

struct KernelBench {
  const char* name;      // its entry point in kernels/kernels.hpp
  double floats_moved;   // per element, for GB/s (0: a few values; latency only)
  std::function<void()> f;
};

// Every kernel of kernels/kernel_list.hpp must be timed here; throws naming the first that is not.
void check_coverage(const std::vector<KernelBench>& ks) {
  for (const char* listed : kernels::kKernelNames) {
    bool found = false;
    for (const auto& k : ks) found = found || std::strcmp(k.name, listed) == 0;
    if (!found)
      throw std::runtime_error(std::string("bench_kernels: kernel '") + listed +
                               "' of kernels/kernel_list.hpp has no line in bench/bench_kernels.cpp");
  }
}

double time_it(Device d, int reps, const std::function<void()>& f) {
  f();  // warm-up
  synchronize(d);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) f();
  synchronize(d);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

void run(Device d, int64_t n, int reps) {
  const auto bytes = [&](double floats) { return floats * static_cast<double>(n) * sizeof(float); };
  Tensor a = Tensor::full({n}, 0.5f, d), b = Tensor::full({n}, 0.25f, d), c = Tensor::full({n}, 0.1f, d),
         e = Tensor::full({n}, 0.01f, d), out = Tensor::zeros({n}, d), scalar = Tensor::full({3}, 1.0f, d);
  // memcpy of 2n floats' worth of traffic (n read + n written), the reference line.
  const double copy_s = time_it(d, reps, [&] { out.copy_from(a); });
  const double copy_gbs = bytes(2) / copy_s / 1e9;
  std::printf("\n%s, n = %lld floats; memcpy of the same bytes: %.1f GB/s\n", device_name(d), static_cast<long long>(n), copy_gbs);
  std::printf("  %-28s %10s %10s %12s\n", "kernel", "ms", "GB/s", "of memcpy");
  const int64_t hw = 4096, nb = n / (2 * hw);
  // n outputs from a plane of a quarter the pixels: about 1.25 n values moved.
  const int64_t side = static_cast<int64_t>(std::sqrt(static_cast<double>(n))) & ~int64_t{1}, small = side / 2;
  Tensor bytes_in = Tensor::zeros({(small * small + 3) / 4}, d), bytes_out = Tensor::zeros({(side * side + 3) / 4}, d);
  const auto* u8_in = reinterpret_cast<const uint8_t*>(bytes_in.data());
  auto* u8_out = reinterpret_cast<uint8_t*>(bytes_out.data());
  // Multi-class kernels: n values as [1, 4, n/4] logits (4 classes, as BraTS); b holds class 0.
  const int64_t classes = 4, voxels = n / classes;
  Tensor class_sums = Tensor::zeros({3 * classes}, d);
  std::vector<KernelBench> ks = {
      {"fill", 1, [&] { kernels::fill(d, n, 1.0f, out.data()); }},
      {"broadcast_scalar", 1, [&] { kernels::broadcast_scalar(d, n, scalar.data(), out.data()); }},
      {"add", 3, [&] { kernels::add(d, n, a.data(), b.data(), out.data()); }},
      {"axpy", 3, [&] { kernels::axpy(d, n, 0.5f, a.data(), out.data()); }},
      {"scale", 2, [&] { kernels::scale(d, n, 2.0f, a.data(), out.data()); }},
      {"relu_forward", 2, [&] { kernels::relu_forward(d, n, a.data(), out.data()); }},
      {"relu_backward", 3, [&] { kernels::relu_backward(d, n, a.data(), b.data(), out.data()); }},
      {"sigmoid_forward", 2, [&] { kernels::sigmoid_forward(d, n, a.data(), out.data()); }},
      {"sigmoid_backward", 3, [&] { kernels::sigmoid_backward(d, n, a.data(), b.data(), out.data()); }},
      {"concat_channels", 2, [&] { kernels::concat_channels(d, nb, 1, 1, hw, a.data(), b.data(), out.data()); }},
      {"concat_channels_backward", 2, [&] { kernels::concat_channels_backward(d, nb, 1, 1, hw, a.data(), out.data(), c.data()); }},
      {"sum", 1, [&] { kernels::sum(d, n, a.data(), scalar.data()); }},
      {"bce_with_logits_sum", 2, [&] { kernels::bce_with_logits_sum(d, n, a.data(), b.data(), scalar.data()); }},
      {"bce_with_logits_backward", 3, [&] { kernels::bce_with_logits_backward(d, n, a.data(), b.data(), scalar.data(), 1.0f, out.data()); }},
      {"dice_sums", 6, [&] { kernels::dice_sums(d, n, a.data(), b.data(), scalar.data()); }},  // 3 passes
      {"dice_loss", 0, [&] { kernels::dice_loss(d, scalar.data(), 1.0f, scalar.data() + 2); }},  // one value: latency only
      {"dice_backward", 3, [&] { kernels::dice_backward(d, n, a.data(), b.data(), scalar.data(), 1.0f, scalar.data(), out.data()); }},
      {"softmax_channels", 2, [&] { kernels::softmax_channels(d, 1, classes, voxels, a.data(), out.data()); }},
      {"argmax_channels", 1.25, [&] { kernels::argmax_channels(d, 1, classes, voxels, a.data(), out.data()); }},
      {"one_hot", 1.25, [&] { kernels::one_hot(d, 1, classes, voxels, b.data(), out.data()); }},
      // 3 passes per class: I_k reads p_k and t, P_k reads p_k, T_k reads t (4 x n/4 each class).
      {"softmax_dice_sums", 4, [&] { kernels::softmax_dice_sums(d, 1, classes, voxels, a.data(), b.data(), class_sums.data()); }},
      {"softmax_dice_loss", 0, [&] { kernels::softmax_dice_loss(d, classes, class_sums.data(), 1e-5f, scalar.data()); }},
      {"softmax_dice_backward", 2.25, [&] {
         kernels::softmax_dice_backward(d, 1, classes, voxels, a.data(), b.data(), class_sums.data(), 1e-5f,
                                        scalar.data(), out.data());
       }},
      {"cross_entropy_sum", 1.25, [&] { kernels::cross_entropy_sum(d, 1, classes, voxels, a.data(), b.data(), scalar.data()); }},
      {"cross_entropy_backward", 2.25, [&] {
         kernels::cross_entropy_backward(d, 1, classes, voxels, a.data(), b.data(), scalar.data(), 1.0f, out.data());
       }},
      {"adam_step", 7, [&] {
         kernels::adam_step(d, n, kernels::AdamConfig{}, 1, out.data(), a.data(), c.data(), e.data());
       }},
      {"uniform_init", 1, [&] { kernels::uniform_init(d, n, -1.0f, 1.0f, 7, 0, out.data()); }},
      {"batchnorm_running_stats", 0, [&] {  // per channel: latency only
         kernels::batchnorm_running_stats(d, 1, scalar.data(), scalar.data() + 1, 0.1f, 4, c.data(), e.data());
       }},
      // As a BatchNorm of [4, 64, n / 256]: sum (x - mean)^2 reads x twice (a and b).
      {"channel_sums", 2, [&] {
         kernels::channel_sums(d, 4, 64, n / 256, a.data(), scalar.data(), a.data(), scalar.data(), out.data(),
                               c.data());
       }},
      {"sync_batchnorm_backward", 3, [&] {  // x and dy read, dx written
         kernels::sync_batchnorm_backward(d, 4, 64, n / 256, n, 1e-5f, a.data(), b.data(), e.data(), e.data(), e.data(),
                                          e.data(), e.data(), out.data(), c.data(), c.data() + 64);
       }},
      {"resize_bilinear", 1.25, [&] { kernels::resize_bilinear(d, small, small, side, side, a.data(), out.data()); }},
      {"resize_nearest", 1.25 / 4, [&] { kernels::resize_nearest(d, small, small, side, side, u8_in, u8_out); }},
  };
  check_coverage(ks);
  for (const auto& k : ks) {
    const double s = time_it(d, reps, k.f);
    if (k.floats_moved == 0) {
      std::printf("  %-28s %10.3f %10s %12s\n", k.name, s * 1e3, "-", "-");
      continue;
    }
    const double gbs = bytes(k.floats_moved) / s / 1e9;
    std::printf("  %-28s %10.3f %10.1f %11.0f%%\n", k.name, s * 1e3, gbs, 100.0 * gbs / copy_gbs);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = int64_t{1} << 24;
  int reps = 10;
  bool check = false;  // --check: every listed kernel has a line here (a quick CPU pass; ctest runs it)
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--check") == 0) check = true;
    else if (std::strcmp(argv[i], "--n") == 0 && i + 1 < argc) n = std::stoll(argv[++i]);
    else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::stoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_kernels [--n FLOATS] [--reps N] [--check]\n");
      return 2;
    }
  }
  try {
    if (check) {
      run(Device::CPU, 16384, 1);
      std::printf("bench_kernels: all %zu listed kernels are timed\n", std::size(kernels::kKernelNames));
      return 0;
    }
    run(Device::CPU, n, reps);
    if (cuda_available()) run(Device::CUDA, n, reps * 10);
    else std::printf("\nGPU: not run (%s)\n", cuda_unavailable_reason().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
