// Instantiates the CUDA launcher for every kernel functor. Adding a kernel = adding its
// functor header and one line here.
#include "kernels/adam.hpp"
#include "kernels/batchnorm_stats.hpp"
#include "kernels/bce.hpp"
#include "kernels/concat.hpp"
#include "kernels/cuda/launch_cuda.cuh"
#include "kernels/dice.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/init.hpp"

namespace unet::kernels::cuda {

__global__ void reduce_final_kernel(int count, const float* partial, float* out) {
  float acc = 0.0f;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
  acc = block_sum(acc);
  if (threadIdx.x == 0) out[0] = acc;
}

#define UNET_CUDA_FOR(Op) template void parallel_for<Op>(int64_t, const Op&);
#define UNET_CUDA_REDUCE(Op) template void reduce_sum<Op>(int64_t, const Op&, float*);

UNET_CUDA_FOR(FillOp)
UNET_CUDA_FOR(BroadcastScalarOp)
UNET_CUDA_FOR(AddOp)
UNET_CUDA_FOR(AxpyOp)
UNET_CUDA_FOR(ScaleOp)
UNET_CUDA_FOR(ReluForwardOp)
UNET_CUDA_FOR(ReluBackwardOp)
UNET_CUDA_FOR(SigmoidForwardOp)
UNET_CUDA_FOR(SigmoidBackwardOp)
UNET_CUDA_FOR(ConcatChannelsOp)
UNET_CUDA_FOR(ConcatChannelsBackwardOp)
UNET_CUDA_FOR(BceBackwardOp)
UNET_CUDA_FOR(DiceLossOp)
UNET_CUDA_FOR(DiceBackwardOp)
UNET_CUDA_FOR(AdamStepOp)
UNET_CUDA_FOR(UniformInitOp)
UNET_CUDA_FOR(RunningStatsOp)
UNET_CUDA_REDUCE(IdentityValue)
UNET_CUDA_REDUCE(BceValue)
UNET_CUDA_REDUCE(DiceIntersectionValue)
UNET_CUDA_REDUCE(SigmoidValue)

}  // namespace unet::kernels::cuda
