#include "kernels/kernels.hpp"

#include <cmath>
#include <numeric>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/cpu/launch_cpu.hpp"
#include "kernels/kernel_list.hpp"
#ifdef UNET_HAS_CUDA
#include "kernels/cuda/launch_cuda.hpp"
#endif

namespace unet::kernels {

namespace {

template <class F>
void run(Device d, int64_t n, const F& f) {
  static_assert(is_listed<F>::value, "add this functor to UNET_FOR_KERNELS in kernels/kernel_list.hpp");
  if (d == Device::CPU) return cpu::parallel_for(n, f);
#ifdef UNET_HAS_CUDA
  cuda::parallel_for(n, f);
#else
  UNET_THROW("kernel launch", tr("CUDA tensor in a binary built without CUDA"));
#endif
}

template <class F>
void reduce(Device d, int64_t n, const F& f, float* out) {
  static_assert(is_listed<F>::value, "add this functor to UNET_REDUCE_KERNELS in kernels/kernel_list.hpp");
  if (d == Device::CPU) return cpu::reduce_sum(n, f, out);
#ifdef UNET_HAS_CUDA
  cuda::reduce_sum(n, f, out);
#else
  UNET_THROW("kernel launch", tr("CUDA tensor in a binary built without CUDA"));
#endif
}

}  // namespace

void fill(Device d, int64_t n, float value, float* y) { run(d, n, FillOp{value, y}); }
void broadcast_scalar(Device d, int64_t n, const float* x, float* y) { run(d, n, BroadcastScalarOp{x, y}); }
void add(Device d, int64_t n, const float* a, const float* b, float* y) { run(d, n, AddOp{a, b, y}); }
void axpy(Device d, int64_t n, float alpha, const float* x, float* y) { run(d, n, AxpyOp{alpha, x, y}); }
void scale(Device d, int64_t n, float alpha, const float* x, float* y) { run(d, n, ScaleOp{alpha, x, y}); }

void relu_forward(Device d, int64_t n, const float* x, float* y) { run(d, n, ReluForwardOp{x, y}); }
void relu_backward(Device d, int64_t n, const float* y, const float* dy, float* dx) {
  run(d, n, ReluBackwardOp{y, dy, dx});
}
void sigmoid_forward(Device d, int64_t n, const float* x, float* y) { run(d, n, SigmoidForwardOp{x, y}); }
void sigmoid_backward(Device d, int64_t n, const float* y, const float* dy, float* dx) {
  run(d, n, SigmoidBackwardOp{y, dy, dx});
}

namespace {
// Runs of up to 64 floats on the CPU (one division per run, a loop the compiler vectorises); one
// float per thread on the GPU, where neighbouring threads make the accesses contiguous.
ConcatRuns concat_runs(Device d, int64_t ca, int64_t cb, int64_t hw) {
  return ConcatRuns{ca * hw, cb * hw, d == Device::CPU ? std::gcd(hw, int64_t{64}) : 1};
}
}  // namespace

void concat_channels(Device d, int64_t n, int64_t ca, int64_t cb, int64_t hw, const float* a,
                     const float* b, float* y) {
  const ConcatRuns runs = concat_runs(d, ca, cb, hw);
  run(d, n * (ca + cb) * hw / runs.run, ConcatChannelsOp{runs, a, b, y});
}
void concat_channels_backward(Device d, int64_t n, int64_t ca, int64_t cb, int64_t hw,
                              const float* dy, float* da, float* db) {
  const ConcatRuns runs = concat_runs(d, ca, cb, hw);
  run(d, n * (ca + cb) * hw / runs.run, ConcatChannelsBackwardOp{runs, dy, da, db});
}

void sum(Device d, int64_t n, const float* x, float* out) { reduce(d, n, IdentityValue{x}, out); }

void bce_with_logits_sum(Device d, int64_t n, const float* z, const float* t, float* out) {
  reduce(d, n, BceValue{z, t}, out);
}
void bce_with_logits_backward(Device d, int64_t n, const float* z, const float* t,
                              const float* grad_out, float scale, float* dz) {
  run(d, n, BceBackwardOp{z, t, grad_out, scale, dz});
}

void dice_sums(Device d, int64_t n, const float* z, const float* t, float* sums) {
  reduce(d, n, DiceIntersectionValue{z, t}, sums);
  reduce(d, n, SigmoidValue{z}, sums + 1);
  reduce(d, n, IdentityValue{t}, sums + 2);
}
void dice_loss(Device d, const float* sums, float smooth, float* out) {
  run(d, 1, DiceLossOp{sums, smooth, out});
}
void dice_backward(Device d, int64_t n, const float* z, const float* t, const float* sums,
                   float smooth, const float* grad_out, float* dz) {
  run(d, n, DiceBackwardOp{z, t, sums, smooth, grad_out, dz});
}

void softmax_channels(Device d, int64_t n, int64_t c, int64_t s, const float* z, float* p) {
  run(d, n * s, SoftmaxChannelsOp{z, c, s, p});
}
void argmax_channels(Device d, int64_t n, int64_t c, int64_t s, const float* x, float* y) {
  run(d, n * s, ArgmaxChannelsOp{x, c, s, y});
}
void one_hot(Device d, int64_t n, int64_t c, int64_t s, const float* t, float* y) {
  run(d, n * s, OneHotOp{t, c, s, y});
}

void softmax_dice_sums(Device d, int64_t n, int64_t c, int64_t s, const float* p, const float* t, float* sums) {
  // One deterministic reduce per class and kind: 3C passes over the N S voxels (C is small).
  for (int64_t k = 0; k < c; ++k) {
    reduce(d, n * s, ClassIntersectionValue{p, t, c, s, k}, sums + k);
    reduce(d, n * s, ClassProbabilityValue{p, c, s, k}, sums + c + k);
    reduce(d, n * s, ClassCountValue{t, k}, sums + 2 * c + k);
  }
}
void softmax_dice_loss(Device d, int64_t c, const float* sums, float smooth, float* out) {
  run(d, 1, SoftmaxDiceLossOp{sums, c, smooth, out});
}
void softmax_dice_backward(Device d, int64_t n, int64_t c, int64_t s, const float* p, const float* t,
                           const float* sums, float smooth, const float* grad_out, float* dz) {
  run(d, n * s, SoftmaxDiceBackwardOp{p, t, sums, c, s, smooth, grad_out, dz});
}

void cross_entropy_sum(Device d, int64_t n, int64_t c, int64_t s, const float* z, const float* t, float* out) {
  reduce(d, n * s, CrossEntropyValue{z, t, c, s}, out);
}
void cross_entropy_backward(Device d, int64_t n, int64_t c, int64_t s, const float* z, const float* t,
                            const float* grad_out, float scale, float* dz) {
  run(d, n * s, CrossEntropyBackwardOp{z, t, c, s, grad_out, scale, dz});
}

void adam_step(Device d, int64_t n, const AdamConfig& config, int64_t step, float* p, const float* g, float* m,
               float* v) {
  const double t = static_cast<double>(step);
  const auto f = [](double x) { return static_cast<float>(x); };
  run(d, n,
      AdamStepOp{f(config.beta1), f(config.beta2), f(1.0 - config.beta1), f(1.0 - config.beta2), f(config.eps),
                 f(config.weight_decay), f(config.lr / (1.0 - std::pow(config.beta1, t))),
                 f(std::sqrt(1.0 - std::pow(config.beta2, t))), p, g, m, v});
}

void uniform_init(Device d, int64_t n, float lo, float hi, uint64_t seed, uint64_t offset,
                  float* y) {
  run(d, n, UniformInitOp{lo, hi, seed, offset, y});
}

void channel_sums(Device d, int64_t n, int64_t c, int64_t p, const float* a, const float* a_shift, const float* b,
                  const float* b_shift, float* scratch, float* out) {
  const int64_t chunks = channel_sum_chunks(n * p);
  run(d, c * chunks, ChannelPartialSumOp{n, c, p, chunks, a, a_shift, b, b_shift, scratch});
  run(d, c, ChannelSumFinishOp{chunks, scratch, out});
}

void sync_batchnorm_backward(Device d, int64_t n, int64_t c, int64_t p, int64_t count, float eps, const float* x,
                             const float* dy, const float* mean, const float* var, const float* gamma, const float* sums,
                             const float* local_sums, float* dx, float* dgamma, float* dbeta) {
  run(d, n * c * p,
      SyncBatchNormBackwardOp{c, p, static_cast<float>(1.0 / static_cast<double>(count)), eps, x, dy, mean, var, gamma,
                              sums, dx});
  run(d, c, SyncBatchNormParamGradOp{c, eps, var, local_sums, dgamma, dbeta});
}

void batchnorm_running_stats(Device d, int64_t channels, const float* batch_mean,
                             const float* batch_var, float momentum, int64_t count,
                             float* running_mean, float* running_var) {
  const float unbias = count > 1 ? static_cast<float>(count) / static_cast<float>(count - 1) : 1.0f;
  run(d, channels, RunningStatsOp{batch_mean, batch_var, momentum, unbias, running_mean, running_var});
}

void resize_bilinear(Device d, int64_t ih, int64_t iw, int64_t oh, int64_t ow, const float* x, float* y) {
  run(d, oh * ow, ResizeBilinearOp<float>{x, ih, iw, oh, ow, y});
}
void resize_nearest(Device d, int64_t ih, int64_t iw, int64_t oh, int64_t ow, const uint8_t* x, uint8_t* y) {
  run(d, oh * ow, ResizeNearestOp<uint8_t>{x, ih, iw, oh, ow, y});
}

}  // namespace unet::kernels
