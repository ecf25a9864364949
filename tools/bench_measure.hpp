// Measurements shared by the 2D and 3D modes of `unet bench`: peak host memory, this
// machine's fp32 GEMM rate, seeded random inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/tensor.hpp"
#include "layers/profiler.hpp"

namespace unet::tools {

// The process's peak resident set size (VmHWM) in MB; 0 where /proc is not available.
double peak_rss_mb();

// Best of a few runs of a single-precision GEMM (2048^3 on the CPU, 8192^3 on a GPU, in TF32 when
// the GPU's convolutions use it: gpu_allow_tf32()), in GFLOP/s.
double gemm_gflops(Device d);

// A seeded random tensor of `shape` with values in [-1, 1), on `d`.
Tensor random_input(const Shape& shape, uint64_t seed, Device d);

// The median of some durations (seconds).
double median_seconds(std::vector<double> v);

// Op by op (matched by name, in the first run's order), the median over runs of each time; the
// work (FLOPs, bytes) is the first run's.
std::vector<OpTiming> median_op_timings(const std::vector<std::vector<OpTiming>>& runs);

// The per-op table of warm training steps: one `step` to refill the caches (the allocator's,
// the primitives'), then the median of k unprofiled steps and, op by op, the median of k
// profiled ones. A table from one step after a change of shapes shows first-call costs.
struct WarmLayerTimes {
  std::vector<OpTiming> ops;
  double step_seconds = 0.0;  // median unprofiled step
};
WarmLayerTimes warm_layer_times(Device d, const std::function<void()>& step, int k);

// Prints the per-op table of a training step (forward and backward ms per op, its share of the
// sum, achieved GFLOP/s for convolutions or GB/s for memory-bound ops), the sum beside the
// unprofiled step time `step_seconds` (0: not measured), and returns it as JSON rows.
nlohmann::json print_layer_table(const std::vector<OpTiming>& layer_times, double step_seconds = 0.0);

// "PASS" or "FAIL" on a verdict line, in the user's language (read once, after the language is chosen).
const char* pass_fail(bool ok);

}  // namespace unet::tools
