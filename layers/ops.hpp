// The differentiable ops the U-Net is made of. Each checks its inputs (an error names the
// op and the shapes), runs on the inputs' device, and records its backward when a gradient
// is needed. Tensors are NCHW float32.
#pragma once

#include "engine/tensor.hpp"

namespace unet::ops {

// x [N, Cin, H, W], w [Cout, Cin, k, k], b [Cout] or undefined -> [N, Cout, H', W']
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad);
// x [N, Cin, H, W], w [Cin, Cout, k, k], b [Cout] or undefined -> [N, Cout, (H-1)s - 2p + k, ...]
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad);

// Training mode: normalises with the batch's statistics and updates the running ones.
// x [N, C, H, W]; gamma, beta, running_mean, running_var [C].
Tensor batch_norm_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                        const Tensor& running_mean, const Tensor& running_var, float momentum, float eps);
// Evaluation mode: normalises with the running statistics.
Tensor batch_norm_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                       const Tensor& running_mean, const Tensor& running_var, float eps);

// k x k window, stride k: x [N, C, H, W] -> [N, C, H/k, W/k] (floor).
Tensor max_pool2d(const Tensor& x, int64_t kernel);

// In place: overwrites x with relu(x) and returns it. Only for a tensor that no recorded op
// still reads, such as a batch norm's output (its backward reads the input, not the output):
// it saves one activation per layer, as PyTorch's ReLU(inplace=True).
Tensor relu_(const Tensor& x);
// cat((a, b), dim=1): a [N, Ca, H, W], b [N, Cb, H, W] -> [N, Ca+Cb, H, W]
Tensor concat_channels(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float alpha);

// Test-only: the model uses relu_ and the fused losses (unet/losses.hpp); the gradient
// checks, parity and golden tests compose these to reach the same kernels through autograd.
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor sum(const Tensor& x);   // -> [1]
Tensor mean(const Tensor& x);  // -> [1]

}  // namespace unet::ops
