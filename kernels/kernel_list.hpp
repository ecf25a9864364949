// The one list of hand-written kernels. Each row names the entry point in kernels.hpp and
// the functor it launches; an entry point that launches several functors has a row each.
// The list drives the CUDA instantiations (kernels/cuda/kernels_cuda.cu), the launchers'
// check that nothing unlisted is launched (kernels.cpp), the parity suite's check that
// every kernel has a case (tests/test_parity_cpu.cpp) and bench_kernels' check that every
// kernel is timed. The recipe for a new kernel is at the top of kernels/kernels.hpp.
#pragma once

#include <cstdint>
#include <type_traits>

#include "kernels/adam_step.hpp"
#include "kernels/batchnorm_stats.hpp"
#include "kernels/bce.hpp"
#include "kernels/channel_sums.hpp"
#include "kernels/class_index.hpp"
#include "kernels/concat.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/dice.hpp"
#include "kernels/elementwise.hpp"
#include "kernels/init.hpp"
#include "kernels/resize.hpp"
#include "kernels/softmax.hpp"
#include "kernels/softmax_dice.hpp"

// Elementwise and indexed kernels: launched with parallel_for.
#define UNET_FOR_KERNELS(X)                          \
  X(fill, FillOp)                                    \
  X(broadcast_scalar, BroadcastScalarOp)             \
  X(add, AddOp)                                      \
  X(axpy, AxpyOp)                                    \
  X(scale, ScaleOp)                                  \
  X(relu_forward, ReluForwardOp)                     \
  X(relu_backward, ReluBackwardOp)                   \
  X(sigmoid_forward, SigmoidForwardOp)               \
  X(sigmoid_backward, SigmoidBackwardOp)             \
  X(concat_channels, ConcatChannelsOp)               \
  X(concat_channels_backward, ConcatChannelsBackwardOp) \
  X(bce_with_logits_backward, BceBackwardOp)         \
  X(dice_loss, DiceLossOp)                           \
  X(dice_backward, DiceBackwardOp)                   \
  X(softmax_channels, SoftmaxChannelsOp)             \
  X(argmax_channels, ArgmaxChannelsOp)               \
  X(one_hot, OneHotOp)                               \
  X(softmax_dice_loss, SoftmaxDiceLossOp)            \
  X(softmax_dice_backward, SoftmaxDiceBackwardOp)    \
  X(cross_entropy_backward, CrossEntropyBackwardOp)  \
  X(adam_step, AdamStepOp)                           \
  X(uniform_init, UniformInitOp)                     \
  X(batchnorm_running_stats, RunningStatsOp)         \
  X(channel_sums, ChannelPartialSumOp)               \
  X(channel_sums, ChannelSumFinishOp)                \
  X(sync_batchnorm_backward, SyncBatchNormBackwardOp) \
  X(sync_batchnorm_backward, SyncBatchNormParamGradOp) \
  X(resize_bilinear, ResizeBilinearOp<float>)        \
  X(resize_nearest, ResizeNearestOp<uint8_t>)

// Sums: launched with reduce_sum (deterministic two-pass on the GPU, fixed chunks on the CPU).
// dice_sums also sums t with IdentityValue, listed once under sum. softmax_dice_sums runs three
// functors, a row each.
#define UNET_REDUCE_KERNELS(X)              \
  X(sum, IdentityValue)                     \
  X(bce_with_logits_sum, BceValue)          \
  X(dice_sums, DiceIntersectionValue)       \
  X(softmax_dice_sums, ClassIntersectionValue) \
  X(softmax_dice_sums, ClassProbabilityValue) \
  X(softmax_dice_sums, ClassCountValue)     \
  X(cross_entropy_sum, CrossEntropyValue)   \
  X(dice_sums, SigmoidValue)

namespace unet::kernels {

// Is F a listed functor? The launchers refuse (at compile time) to run one that is not.
template <class F>
struct is_listed : std::false_type {};
#define UNET_KERNEL_LISTED(name, ...) \
  template <>                         \
  struct is_listed<__VA_ARGS__> : std::true_type {};
UNET_FOR_KERNELS(UNET_KERNEL_LISTED)
UNET_REDUCE_KERNELS(UNET_KERNEL_LISTED)
#undef UNET_KERNEL_LISTED

// The entry points' names, one per row (dice_sums twice): for the tests and the benchmark.
#define UNET_KERNEL_NAME(name, ...) #name,
inline constexpr const char* kKernelNames[] = {UNET_FOR_KERNELS(UNET_KERNEL_NAME) UNET_REDUCE_KERNELS(UNET_KERNEL_NAME)};
#undef UNET_KERNEL_NAME

}  // namespace unet::kernels
