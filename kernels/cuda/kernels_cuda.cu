// Instantiates the CUDA launcher for every functor in kernels/kernel_list.hpp. Nothing to
// edit here when a kernel is added: the list drives it.
#include "kernels/cuda/launch_cuda.cuh"
#include "kernels/kernel_list.hpp"

namespace unet::kernels::cuda {

__global__ void reduce_final_kernel(int count, const float* partial, float* out) {
  float acc = 0.0f;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[0] = acc;
}

#define UNET_CUDA_FOR(name, ...) template void parallel_for<__VA_ARGS__>(int64_t, const __VA_ARGS__&);
#define UNET_CUDA_REDUCE(name, ...) template void reduce_sum<__VA_ARGS__>(int64_t, const __VA_ARGS__&, float*);
UNET_FOR_KERNELS(UNET_CUDA_FOR)
UNET_REDUCE_KERNELS(UNET_CUDA_REDUCE)

}  // namespace unet::kernels::cuda
