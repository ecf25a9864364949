#include "tools/bench_measure.hpp"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "base/device.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "base/rng.hpp"
#ifdef UNET_HAS_CUDA
#include "base/cuda_context.hpp"
#include "base/gpu_math.hpp"
#include "layers/cuda/cudnn_algorithm_choice.hpp"
#endif

namespace unet::tools {

using clock_type = std::chrono::steady_clock;

double peak_rss_mb() {
  std::ifstream f("/proc/self/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return 0.0;
}

// Best of a few runs of an n x n x n single-precision GEMM, in GFLOP/s.
double gemm_gflops(Device d) {
  const int64_t n = d == Device::CPU ? 2048 : 8192;
  double best = 0.0;
  if (d == Device::CPU) {
    std::vector<float> a(static_cast<size_t>(n * n), 1.0f), b(a.size(), 0.5f), c(a.size());
    for (int r = 0; r < 3; ++r) {
      const auto t0 = clock_type::now();
      const dnnl_status_t st = dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      UNET_CHECK(st == dnnl_success, "dnnl_sgemm", trf("status {}", std::to_string(static_cast<int>(st))));
      const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
      best = std::max(best, 2.0 * static_cast<double>(n * n * n) / s / 1e9);
    }
    return best;
  }
#ifdef UNET_HAS_CUDA
  Tensor a = Tensor::full({n * n}, 1.0f, d), b = Tensor::full({n * n}, 0.5f, d), c = Tensor::empty({n * n}, d);
  const float one = 1.0f, zero = 0.0f;
  auto& ctx = CudaContext::get();
  // The precision the convolutions use (TF32 or plain fp32, base/gpu_math.hpp): a rate to compare with.
  UNET_CUBLAS_CHECK(cublasSetMathMode(ctx.cublas(), cuda::cublas_math_mode(gpu_allow_tf32())));
  for (int r = 0; r < 4; ++r) {
    ctx.synchronize();
    const auto t0 = clock_type::now();
    UNET_CUBLAS_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(n),
                                  static_cast<int>(n), &one, a.data(), static_cast<int>(n), b.data(), static_cast<int>(n),
                                  &zero, c.data(), static_cast<int>(n)));
    ctx.synchronize();
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (r > 0) best = std::max(best, 2.0 * static_cast<double>(n) * n * n / s / 1e9);
  }
  UNET_CUBLAS_CHECK(cublasSetMathMode(ctx.cublas(), CUBLAS_DEFAULT_MATH));
#endif
  return best;
}

Tensor random_input(const Shape& shape, uint64_t seed, Device d) {
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = rng.uniform(-1.0f, 1.0f);
  return Tensor::from_vector(shape, v, d);
}

double median_seconds(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<OpTiming> median_op_timings(const std::vector<std::vector<OpTiming>>& runs) {
  if (runs.empty()) return {};
  std::vector<OpTiming> out = runs.front();
  for (OpTiming& op : out) {
    std::vector<double> f, b;
    for (const auto& run : runs)
      for (const auto& t : run)
        if (t.name == op.name) f.push_back(t.forward_seconds), b.push_back(t.backward_seconds);
    op.forward_seconds = median_seconds(f);
    op.backward_seconds = median_seconds(b);
  }
  return out;
}

WarmLayerTimes warm_layer_times(Device d, const std::function<void()>& step, int k) {
  using clock_type = std::chrono::steady_clock;
  step();
  std::vector<double> step_times;
  for (int i = 0; i < k; ++i) {
    synchronize(d);
    const auto s0 = clock_type::now();
    step();
    synchronize(d);
    step_times.push_back(std::chrono::duration<double>(clock_type::now() - s0).count());
  }
  std::vector<std::vector<OpTiming>> runs;
  for (int i = 0; i < k; ++i) {
    OpProfiler::get().reset();
    OpProfiler::get().set_enabled(true);
    step();
    OpProfiler::get().set_enabled(false);
    runs.push_back(OpProfiler::get().results());
  }
  return WarmLayerTimes{median_op_timings(runs), median_seconds(step_times)};
}

const char* pass_fail(bool ok) {
  static const std::string pass = tr("PASS"), fail = tr("FAIL");
  return ok ? pass.c_str() : fail.c_str();
}

nlohmann::json print_layer_table(const std::vector<OpTiming>& layer_times, double step_seconds) {
  nlohmann::json rows = nlohmann::json::array();
  if (layer_times.empty()) return rows;
  double sum = 0.0;
  for (const auto& lt : layer_times) sum += lt.forward_seconds + lt.backward_seconds;
  // Achieved rate of one direction: GFLOP/s where the op reports FLOPs, else GB/s of its bytes.
  auto rate = [](double flops, double bytes, double seconds) {
    char b[32] = "";
    if (seconds <= 0) return std::string("-");
    if (flops > 0) std::snprintf(b, sizeof b, "%.1f GF/s", flops / seconds / 1e9);
    else if (bytes > 0) std::snprintf(b, sizeof b, "%.1f GB/s", bytes / seconds / 1e9);
    else return std::string("-");
    return std::string(b);
  };
  // Headings padded by terminal columns: a translated heading may hold double-width characters.
  std::printf("\n  %s %s %s %s %s %s\n", pad_columns(tr("op (one warm training step, median)"), 66).c_str(),
              pad_columns(tr("fwd ms"), 9, true).c_str(), pad_columns(tr("bwd ms"), 9, true).c_str(),
              pad_columns(tr("share"), 6, true).c_str(), pad_columns(tr("fwd rate"), 12, true).c_str(),
              pad_columns(tr("bwd rate"), 12, true).c_str());
  double tf = 0, tb = 0;
  for (const auto& lt : layer_times) {
    const double share = sum > 0 ? 100.0 * (lt.forward_seconds + lt.backward_seconds) / sum : 0.0;
    std::printf("  %-66s %9.2f %9.2f %5.1f%% %12s %12s\n", lt.name.c_str(), lt.forward_seconds * 1e3,
                lt.backward_seconds * 1e3, share, rate(lt.forward_flops, lt.forward_bytes, lt.forward_seconds).c_str(),
                rate(lt.backward_flops, lt.backward_bytes, lt.backward_seconds).c_str());
    tf += lt.forward_seconds, tb += lt.backward_seconds;
    rows.push_back({{"op", lt.name},
                    {"forward_ms", lt.forward_seconds * 1e3},
                    {"backward_ms", lt.backward_seconds * 1e3},
                    {"share", share / 100.0},
                    {"forward_flops", lt.forward_flops},
                    {"backward_flops", lt.backward_flops},
                    {"forward_bytes", lt.forward_bytes},
                    {"backward_bytes", lt.backward_bytes}});
  }
  std::printf("  %s %9.2f %9.2f\n", pad_columns(tr("total"), 66).c_str(), tf * 1e3, tb * 1e3);
  if (step_seconds > 0)
    std::printf(tr("  the ops above add up to %.1f ms; an unprofiled step takes %.1f ms (median): %+.1f%%, the rest is "
                   "autograd, the loss's backward and the profiler's own cost\n")
                    .c_str(),
                sum * 1e3, step_seconds * 1e3, 100.0 * (sum - step_seconds) / step_seconds);
  return rows;
}

}  // namespace unet::tools
