// The hand-written kernels, on raw pointers. `d` says where the pointers live; on CUDA the
// work is queued on the context's stream and these calls return before it finishes.
// Scalars that come from earlier device work (a loss gradient, the Dice sums) are passed as
// device pointers so nothing waits on the GPU.
//
// Adding a kernel, the whole recipe (the build and the tests tell you if a step is missing):
//  1. Its arithmetic, once, as a functor with a UNET_HD operator() in kernels/<name>.hpp: the
//     formula (and for a loss, its gradient) in one comment line, as in kernels/dice.hpp.
//  2. Its entry point below, and its body in kernels.cpp: run(d, n, YourOp{...}) for an
//     elementwise or indexed kernel, reduce(d, n, YourValue{...}, out) for a sum.
//  3. A row in kernels/kernel_list.hpp. Forgetting it fails to compile (run() and reduce()
//     assert that the functor is listed), and the row makes the CUDA launcher for it.
//  4. A parity case in tests/parity_cases.cpp with a plain double-precision reference;
//     test_parity_cpu fails while a listed kernel has none, and test_parity_cuda runs the
//     same case on a GPU.
//  5. A line in bench/bench_kernels.cpp with the bytes it moves; the test
//     bench_kernels_covers_every_kernel fails while a listed kernel is not timed.
#pragma once

#include <cstdint>

#include "base/device.hpp"
#include "kernels/adam_step.hpp"
#include "kernels/channel_sums.hpp"  // channel_sum_chunks(), the scratch size of channel_sums()

namespace unet::kernels {

void fill(Device d, int64_t n, float value, float* y);
void broadcast_scalar(Device d, int64_t n, const float* x, float* y);    // y[i] = x[0]
void add(Device d, int64_t n, const float* a, const float* b, float* y);  // y = a + b
void axpy(Device d, int64_t n, float alpha, const float* x, float* y);    // y += alpha x
void scale(Device d, int64_t n, float alpha, const float* x, float* y);   // y = alpha x

void relu_forward(Device d, int64_t n, const float* x, float* y);
void relu_backward(Device d, int64_t n, const float* y, const float* dy, float* dx);
void sigmoid_forward(Device d, int64_t n, const float* x, float* y);
void sigmoid_backward(Device d, int64_t n, const float* y, const float* dy, float* dx);

// y [N, Ca+Cb, *S] = cat(a [N, Ca, *S], b [N, Cb, *S]) along channels, hw = prod(S); any
// layout in which image n of y is image n of a, then of b (plain, or whole channel blocks).
void concat_channels(Device d, int64_t n, int64_t ca, int64_t cb, int64_t hw, const float* a,
                     const float* b, float* y);
// da, db may be null.
void concat_channels_backward(Device d, int64_t n, int64_t ca, int64_t cb, int64_t hw,
                              const float* dy, float* da, float* db);

void sum(Device d, int64_t n, const float* x, float* out);  // out[0] = sum(x)

// out[0] = sum over i of BCE-with-logits(z_i, t_i).
void bce_with_logits_sum(Device d, int64_t n, const float* z, const float* t, float* out);
// dz = grad_out[0] * scale * (sigmoid(z) - t).
void bce_with_logits_backward(Device d, int64_t n, const float* z, const float* t,
                              const float* grad_out, float scale, float* dz);

// sums[0..2] = (sum sigmoid(z) t, sum sigmoid(z), sum t).
void dice_sums(Device d, int64_t n, const float* z, const float* t, float* sums);
void dice_loss(Device d, const float* sums, float smooth, float* out);
void dice_backward(Device d, int64_t n, const float* z, const float* t, const float* sums,
                   float smooth, const float* grad_out, float* dz);

// Multi-class segmentation on logits z [N, C, S] (S = the product of the spatial dims, so 2D
// and 3D alike) and class indices t [N, S] (floats holding 0..C-1); see kernels/softmax.hpp.
// p = softmax of z over the C channels of each voxel.
void softmax_channels(Device d, int64_t n, int64_t c, int64_t s, const float* z, float* p);
// y [N, S] = the channel of the largest x (ties to the lowest, as torch.argmax), as a float.
void argmax_channels(Device d, int64_t n, int64_t c, int64_t s, const float* x, float* y);
// y [N, C, S] = one-hot(t); an index outside 0..C-1 gives an all-zero row.
void one_hot(Device d, int64_t n, int64_t c, int64_t s, const float* t, float* y);
// Soft Dice over the C classes on p = softmax(z): sums [3C] = (I_k, P_k, T_k for each k),
// then the loss 1 - mean_k dice_k, and dz from p, t and the sums (kernels/softmax_dice.hpp).
void softmax_dice_sums(Device d, int64_t n, int64_t c, int64_t s, const float* p, const float* t, float* sums);
void softmax_dice_loss(Device d, int64_t c, const float* sums, float smooth, float* out);
void softmax_dice_backward(Device d, int64_t n, int64_t c, int64_t s, const float* p, const float* t,
                           const float* sums, float smooth, const float* grad_out, float* dz);
// out[0] = sum over the N S voxels of -log softmax(z)[t].
void cross_entropy_sum(Device d, int64_t n, int64_t c, int64_t s, const float* z, const float* t, float* out);
// dz = grad_out[0] * scale * (softmax(z) - one-hot(t)).
void cross_entropy_backward(Device d, int64_t n, int64_t c, int64_t s, const float* z, const float* t,
                            const float* grad_out, float scale, float* dz);

// Step number `step` (1 for the first) of Adam over n parameters, in place.
void adam_step(Device d, int64_t n, const AdamConfig& config, int64_t step, float* p, const float* g, float* m,
               float* v);

// y[i] ~ U[lo, hi) from draw (offset + i) of `seed`'s Philox stream.
void uniform_init(Device d, int64_t n, float lo, float hi, uint64_t seed, uint64_t offset,
                  float* y);

void batchnorm_running_stats(Device d, int64_t channels, const float* batch_mean,
                             const float* batch_var, float momentum, int64_t count,
                             float* running_mean, float* running_var);

// BatchNorm across ranks (kernels/channel_sums.hpp), x [N, C, P] with P the spatial size.
// out[ch] = sum over n, p of (a - a_shift[ch]) (b - b_shift[ch]); b null: of (a - a_shift[ch]); a
// null shift is 0. `scratch` holds channel_sum_chunks(n * p) * c floats.
void channel_sums(Device d, int64_t n, int64_t c, int64_t p, const float* a, const float* a_shift, const float* b,
                  const float* b_shift, float* scratch, float* out);
// dx from the statistics' sums over every rank (sums [2, C], count M values per channel), and
// dgamma, dbeta from this rank's own sums local_sums [2, C].
void sync_batchnorm_backward(Device d, int64_t n, int64_t c, int64_t p, int64_t count, float eps, const float* x,
                             const float* dy, const float* mean, const float* var, const float* gamma, const float* sums,
                             const float* local_sums, float* dx, float* dgamma, float* dbeta);

// y [oh, ow] from x [ih, iw]: bilinear for intensities, nearest for label masks (pixel
// centres aligned as PyTorch's align_corners=False; see kernels/resize.hpp).
void resize_bilinear(Device d, int64_t ih, int64_t iw, int64_t oh, int64_t ow, const float* x, float* y);
void resize_nearest(Device d, int64_t ih, int64_t iw, int64_t oh, int64_t ow, const uint8_t* x, uint8_t* y);

}  // namespace unet::kernels
