// The CUDA launcher, declared for host code. Definitions live in launch_cuda.cuh and are
// instantiated for every kernel functor in kernels_cuda.cu, so host-compiled code can
// launch the same functors the CPU runs.
#pragma once

#include <cstdint>

namespace unet::kernels::cuda {

// Runs f(i) for i in [0, n) on the context's stream (grid-stride loop).
template <class F>
void parallel_for(int64_t n, const F& f);

// out[0] = sum of f(i) over [0, n), two passes (per-block partial sums, then one block),
// so the result does not depend on scheduling.
template <class F>
void reduce_sum(int64_t n, const F& f, float* out);

}  // namespace unet::kernels::cuda
