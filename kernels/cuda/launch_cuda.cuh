// Grid-stride launcher and warp/block reduction for kernel functors.
#pragma once

#include <algorithm>

#include "base/allocator.hpp"
#include "base/cuda_context.hpp"
#include "kernels/cuda/launch_cuda.hpp"

namespace unet::kernels::cuda {

inline constexpr int kThreads = 256;
inline constexpr int64_t kMaxBlocks = 4096;  // enough to fill any current GPU; the loop strides

template <class F>
__global__ void parallel_for_kernel(int64_t n, F f) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) f(i);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Sum over the block; the result is valid in thread 0.
__device__ __forceinline__ float block_sum(float v) {
  __shared__ float warp_totals[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  if (lane == 0) warp_totals[warp] = v;
  __syncthreads();
  const int warps = (blockDim.x + 31) >> 5;
  v = threadIdx.x < warps ? warp_totals[threadIdx.x] : 0.0f;
  if (warp == 0) v = warp_sum(v);
  return v;
}

template <class F>
__global__ void reduce_partial_kernel(int64_t n, F f, float* partial) {
  float acc = 0.0f;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) acc += f(i);
  acc = block_sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

__global__ void reduce_final_kernel(int count, const float* partial, float* out);

inline int64_t blocks_for(int64_t n) {
  return std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, kMaxBlocks));
}

template <class F>
void parallel_for(int64_t n, const F& f) {
  if (n <= 0) return;
  parallel_for_kernel<<<static_cast<unsigned>(blocks_for(n)), kThreads, 0, CudaContext::get().stream()>>>(n, f);
  UNET_CUDA_CHECK_LAUNCH("parallel_for_kernel");
}

template <class F>
void reduce_sum(int64_t n, const F& f, float* out) {
  const int64_t blocks = blocks_for(n);
  auto& alloc = allocator_for(Device::CUDA);
  float* partial = static_cast<float*>(alloc.allocate(static_cast<size_t>(blocks) * sizeof(float)));
  cudaStream_t s = CudaContext::get().stream();
  reduce_partial_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, s>>>(n, f, partial);
  UNET_CUDA_CHECK_LAUNCH("reduce_partial_kernel");
  reduce_final_kernel<<<1, 1024, 0, s>>>(static_cast<int>(blocks), partial, out);
  UNET_CUDA_CHECK_LAUNCH("reduce_final_kernel");
  alloc.release(partial);  // stream-ordered reuse on our single stream
}

}  // namespace unet::kernels::cuda
