// The differentiable ops the U-Net is made of. Each checks its inputs (an error names the
// op and the shapes), runs on the inputs' device, and records its backward when a gradient
// is needed. Tensors are float32 [N, C, H, W] images or [N, C, D, H, W] volumes: each layer
// op is one N-d op, and the 2D U-Net is its N = 2 case.
//
// Layout: every op takes tensors in any layout (plain, or oneDNN's blocked one on the CPU) and
// returns its input's layout; a convolution's output is plain unless a BlockedLayoutScope is
// open (layers/layout.hpp). Gradients have their tensors' layouts.
#pragma once

#include "dist/communicator.hpp"
#include "engine/tensor.hpp"

namespace unet::ops {

// BatchNorm whose batch statistics are those of the whole global batch of a data-parallel run
// (--sync-bn): the per-channel sums go through `comm` in forward, and the sums the input's
// gradient needs in backward, so N ranks of batch B/N compute what one process of batch B does.
struct BatchNormSync {
  dist::Communicator* comm = nullptr;
  int64_t global_batch = 0;  // N summed over the ranks
};

// x [N, Cin, *S], w [Cout, Cin, k, ...], b [Cout] or undefined -> [N, Cout, (S + 2p - k)/s + 1]
Tensor conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad);
// x [N, Cin, *S], w [Cin, Cout, k, ...], b [Cout] or undefined -> [N, Cout, (S-1)s - 2p + k]
Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad);

// Training mode: normalises with the batch's statistics and updates the running ones.
// x [N, C, *S]; gamma, beta, running_mean, running_var [C].
// With `sync`, the statistics are the global batch's (above).
Tensor batch_norm_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                        const Tensor& running_mean, const Tensor& running_var, float momentum, float eps,
                        const BatchNormSync* sync = nullptr);
// Evaluation mode: normalises with the running statistics.
Tensor batch_norm_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       const Tensor& running_mean, const Tensor& running_var, float eps);

// relu(batch_norm(...)) as one op: on the CPU one oneDNN pass with the ReLU fused (its backward
// applies the ReLU's mask inside batch norm's, so the ReLU costs no pass over memory of its own);
// elsewhere, and with --sync-bn, batch norm followed by relu_.
Tensor batch_norm_relu_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                             const Tensor& running_mean, const Tensor& running_var, float momentum, float eps,
                             const BatchNormSync* sync = nullptr);
Tensor batch_norm_relu_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                            const Tensor& running_mean, const Tensor& running_var, float eps);

// k^N window, stride k: x [N, C, *S] -> [N, C, S/k] (floor).
Tensor max_pool(const Tensor& x, int64_t kernel);

// In place: overwrites x with relu(x) and returns it. Only for a tensor that no recorded op
// still reads, such as a batch norm's output (its backward reads the input, not the output):
// it saves one activation per layer, as PyTorch's ReLU(inplace=True).
Tensor relu_(const Tensor& x);
// cat((a, b), dim=1): a [N, Ca, *S], b [N, Cb, *S] -> [N, Ca+Cb, *S]
Tensor concat_channels(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float alpha);
// x in row-major order whatever its layout; x itself when it is plain already.
Tensor to_plain(const Tensor& x);

// Test-only: the model uses relu_ and the fused losses (unet/losses.hpp); the gradient
// checks, parity and golden tests compose these to reach the same kernels through autograd.
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor sum(const Tensor& x);   // -> [1]
Tensor mean(const Tensor& x);  // -> [1]

}  // namespace unet::ops
