// The CPU launcher: runs a kernel functor over [0, n) with OpenMP.
#pragma once

#include <cstdint>
#include <vector>

namespace unet::kernels::cpu {

// Below this many elements a parallel region costs more than it saves.
inline constexpr int64_t kParallelThreshold = 16384;

// Each thread runs a copy of the functor: its scalars then cannot alias the arrays it writes,
// so the compiler keeps them in registers and vectorises the loop.
template <class F>
void parallel_for(int64_t n, const F& f) {
  if (n < kParallelThreshold) {
    const F local = f;
    for (int64_t i = 0; i < n; ++i) local(i);
    return;
  }
#pragma omp parallel
  {
    const F local = f;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) local(i);
  }
}

// out[0] = sum of f(i) over [0, n). Deterministic for any thread count: the range is cut
// into fixed chunks, each summed in double, and the chunk sums are added in order.
template <class F>
void reduce_sum(int64_t n, const F& f, float* out) {
  constexpr int64_t kChunk = 8192;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
#pragma omp parallel for schedule(static) if (n >= kParallelThreshold)
  for (int64_t c = 0; c < chunks; ++c) {
    double acc = 0.0;
    const int64_t end = (c + 1) * kChunk < n ? (c + 1) * kChunk : n;
    for (int64_t i = c * kChunk; i < end; ++i) acc += f(i);
    partial[static_cast<size_t>(c)] = acc;
  }
  double total = 0.0;
  for (double p : partial) total += p;
  out[0] = static_cast<float>(total);
}

}  // namespace unet::kernels::cpu
