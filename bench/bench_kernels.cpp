// Micro-benchmarks of every hand-written kernel, in the style of llm.c's dev/cuda: the
// achieved bandwidth of each kernel beside a memcpy of the same bytes, on the CPU and, when
// one is present, on the GPU. Usage: bench_kernels [--n 16777216] [--reps 10]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/device.hpp"
#include "engine/tensor.hpp"
#include "kernels/cpu/launch_cpu.hpp"
#include "kernels/kernels.hpp"
#include "kernels/resize.hpp"

using namespace unet;

namespace {

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
  struct K {
    const char* name;
    double floats_moved;  // per element
    std::function<void()> f;
  };
  const int64_t hw = 4096, nb = n / (2 * hw);
  std::vector<K> ks = {
      {"fill", 1, [&] { kernels::fill(d, n, 1.0f, out.data()); }},
      {"add", 3, [&] { kernels::add(d, n, a.data(), b.data(), out.data()); }},
      {"axpy", 3, [&] { kernels::axpy(d, n, 0.5f, a.data(), out.data()); }},
      {"scale", 2, [&] { kernels::scale(d, n, 2.0f, a.data(), out.data()); }},
      {"relu forward", 2, [&] { kernels::relu_forward(d, n, a.data(), out.data()); }},
      {"relu backward", 3, [&] { kernels::relu_backward(d, n, a.data(), b.data(), out.data()); }},
      {"sigmoid forward", 2, [&] { kernels::sigmoid_forward(d, n, a.data(), out.data()); }},
      {"sigmoid backward", 3, [&] { kernels::sigmoid_backward(d, n, a.data(), b.data(), out.data()); }},
      {"concat channels", 2, [&] { kernels::concat_channels(d, nb, 1, 1, hw, a.data(), b.data(), out.data()); }},
      {"concat backward", 2, [&] { kernels::concat_channels_backward(d, nb, 1, 1, hw, a.data(), out.data(), c.data()); }},
      {"sum", 1, [&] { kernels::sum(d, n, a.data(), scalar.data()); }},
      {"bce sum", 2, [&] { kernels::bce_with_logits_sum(d, n, a.data(), b.data(), scalar.data()); }},
      {"bce backward", 3, [&] { kernels::bce_with_logits_backward(d, n, a.data(), b.data(), scalar.data(), 1.0f, out.data()); }},
      {"dice sums (3 passes)", 6, [&] { kernels::dice_sums(d, n, a.data(), b.data(), scalar.data()); }},
      {"dice backward", 3, [&] { kernels::dice_backward(d, n, a.data(), b.data(), scalar.data(), 1.0f, scalar.data(), out.data()); }},
      {"adam step", 7, [&] {
         kernels::AdamHyper h;
         kernels::adam_step(d, n, h, out.data(), a.data(), c.data(), e.data());
       }},
      {"uniform init (Philox)", 1, [&] { kernels::uniform_init(d, n, -1.0f, 1.0f, 7, 0, out.data()); }},
  };
  if (d == Device::CPU) {
    // Resizing runs on the host only (data preparation and prediction): n outputs from a
    // plane of a quarter the pixels, so it moves about 1.25 n floats.
    const int64_t side = static_cast<int64_t>(std::sqrt(static_cast<double>(n))) & ~int64_t{1}, small = side / 2;  // side^2 ~ n
    ks.push_back({"resize bilinear (host)", 1.25, [&, side, small] {
                    kernels::cpu::parallel_for(side * side, kernels::ResizeBilinearOp<float>{a.data(), small, small, side, side, out.data()});
                  }});
    ks.push_back({"resize nearest (host)", 1.25, [&, side, small] {
                    kernels::cpu::parallel_for(side * side, kernels::ResizeNearestOp<float>{a.data(), small, small, side, side, out.data()});
                  }});
  }
  for (const auto& k : ks) {
    const double s = time_it(d, reps, k.f);
    const double gbs = bytes(k.floats_moved) / s / 1e9;
    std::printf("  %-28s %10.3f %10.1f %11.0f%%\n", k.name, s * 1e3, gbs, 100.0 * gbs / copy_gbs);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = int64_t{1} << 24;
  int reps = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--n") == 0) n = std::stoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--reps") == 0) reps = std::stoi(argv[i + 1]);
  }
  run(Device::CPU, n, reps);
  if (cuda_available()) run(Device::CUDA, n, reps * 10);
  else std::printf("\nGPU: not run (%s)\n", cuda_unavailable_reason().c_str());
  return 0;
}
