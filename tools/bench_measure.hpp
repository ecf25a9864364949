// Measurements shared by the 2D and 3D modes of `unet bench`: peak host memory, this
// machine's fp32 GEMM rate, seeded random inputs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/tensor.hpp"
#include "layers/profiler.hpp"

namespace unet::tools {

// The process's peak resident set size (VmHWM) in MB; 0 where /proc is not available.
double peak_rss_mb();

// Best of a few runs of a single-precision GEMM (2048^3 on the CPU, 8192^3 on a GPU), in GFLOP/s.
double gemm_gflops(Device d);

// A seeded random tensor of `shape` with values in [-1, 1), on `d`.
Tensor random_input(const Shape& shape, uint64_t seed, Device d);

// Prints the per-op table of one profiled training step (forward and backward ms per op, and
// the totals) and returns it as JSON rows {op, forward_ms, backward_ms}.
nlohmann::json print_layer_table(const std::vector<OpTiming>& layer_times);

}  // namespace unet::tools
