// The interface between the autograd ops in layers/ops.cpp and the libraries that do the
// heavy lifting: oneDNN on the CPU (layers/cpu), cuDNN and cuBLAS on the GPU (layers/cuda).
// A primitive is built once per shape (descriptors, algorithm choice) and cached.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/device.hpp"
#include "engine/tensor.hpp"

namespace unet {

// The spatial dimensions of an [N, C, ...] tensor: {H, W} in 2D, {D, H, W} in 3D. Every
// primitive below is one N-d primitive; a 2D layer is the N = 2 case of it.
using SpatialDims = std::vector<int64_t>;

// A convolution or transposed convolution whose kernel, stride and padding are the same
// along every spatial axis.
// Conv:       x [n, c_in, *in], weight [c_out, c_in, k, ...] -> y [n, c_out, *out()]
// Transposed: x [n, c_in, *in], weight [c_in, c_out, k, ...] -> y [n, c_out, *out()]
//             (PyTorch's ConvTranspose2d / ConvTranspose3d layout)
struct ConvSpec {
  int64_t n, c_in, c_out;
  SpatialDims in;
  int64_t kernel, stride, pad;
  bool bias;
  bool transposed;
  // Memory layouts (CPU only; TensorImpl::channel_block): the input's, and whether the output
  // may come in the blocked layout the primitive prefers (ConvPrimitive::output_block()).
  int64_t src_block = 0;
  bool blocked_out = false;

  int64_t rank() const { return static_cast<int64_t>(in.size()); }  // 2 or 3
  SpatialDims out() const;
  Shape input_shape() const;   // [n, c_in, *in]
  Shape output_shape() const;  // [n, c_out, *out()]
  Shape weight_shape() const;  // PyTorch's layout, as above
  std::string str() const;
  // Floating-point operations of the forward pass (2 per multiply-add); each of the two
  // backward passes (data, weights) costs the same.
  double flops() const;
  auto operator<=>(const ConvSpec&) const = default;
};

class ConvPrimitive {
 public:
  virtual ~ConvPrimitive() = default;
  // The channel block of y (and so of dy); dx comes in spec.src_block. 0 unless
  // spec.blocked_out and the backend runs faster so.
  virtual int64_t output_block() const { return 0; }
  // y = conv(x, w) + b; b is null when !spec.bias.
  virtual void forward(const float* x, const float* w, const float* b, float* y) = 0;
  virtual void backward_data(const float* dy, const float* w, float* dx) = 0;
  // dw (and db when spec.bias) are overwritten, not accumulated.
  virtual void backward_weights(const float* x, const float* dy, float* dw, float* db) = 0;
};

// x [n, c, *spatial]; statistics per channel over n and every spatial position.
struct BatchNormSpec {
  int64_t n, c;
  SpatialDims spatial;
  float eps;
  int64_t block = 0;  // the layout of x, y, dy and dx (TensorImpl::channel_block)
  // y = max(bn(x), 0) in the same pass, and dy is the gradient of that y (CPU only: oneDNN's
  // fused flag; ops.cpp runs a separate ReLU on a GPU).
  bool relu = false;
  int64_t values_per_channel() const;  // n * prod(spatial)
  Shape shape() const;                 // [n, c, *spatial]
  auto operator<=>(const BatchNormSpec&) const = default;
};

// `saved` is backend-defined per-channel state of a training forward ([2, C] floats) that the
// backward needs: oneDNN keeps mean and variance, cuDNN mean and inverse std.
class BatchNormPrimitive {
 public:
  virtual ~BatchNormPrimitive() = default;
  // Bytes of state a training forward keeps for backward besides `saved` (the fused ReLU's mask).
  virtual std::size_t workspace_bytes() const { return 0; }
  // Batch statistics; updates running_mean / running_var with `momentum` (unbiased var).
  virtual void forward_train(const float* x, const float* gamma, const float* beta, float* y,
                             float* saved, float* running_mean, float* running_var,
                             float momentum, void* workspace) = 0;
  virtual void forward_eval(const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float* y) = 0;
  // beta is read by oneDNN's backward (it asks for the shift even though the math does not).
  virtual void backward(const float* x, const float* dy, const float* gamma, const float* beta,
                        const float* saved, const void* workspace, float* dx, float* dgamma,
                        float* dbeta) = 0;
};

// Max pooling with a k^rank window and stride k, no padding (floor on odd sizes, as PyTorch).
struct PoolSpec {
  int64_t n, c;
  SpatialDims in;
  int64_t kernel;
  int64_t block = 0;  // the layout of x, y and their gradients (TensorImpl::channel_block)
  SpatialDims out() const;
  Shape input_shape() const;   // [n, c, *in]
  Shape output_shape() const;  // [n, c, *out()]
  auto operator<=>(const PoolSpec&) const = default;
};

class PoolPrimitive {
 public:
  virtual ~PoolPrimitive() = default;
  // Bytes of backend state the backward needs from the forward (oneDNN's argmax
  // workspace; 0 for cuDNN, which recomputes from x and y).
  virtual std::size_t workspace_bytes() const = 0;
  // Whether backward reads x and y (cuDNN finds each window's maximum again; oneDNN reads only
  // its workspace). When not, they are null there, and the forward need not keep them.
  virtual bool backward_reads_values() const = 0;
  virtual void forward(const float* x, float* y, void* workspace) = 0;
  virtual void backward(const float* x, const float* y, const float* dy, const void* workspace,
                        float* dx) = 0;
};

// Cached per device and spec; the returned primitive lives as long as the process.
ConvPrimitive& conv_primitive(Device d, const ConvSpec& spec);
BatchNormPrimitive& batchnorm_primitive(Device d, const BatchNormSpec& spec);
PoolPrimitive& pool_primitive(Device d, const PoolSpec& spec);

namespace cpu {
// dst = src in another channel blocking (0: plain) of the same [N, C, *spatial] shape.
void reorder_channels(const Shape& shape, const float* src, int64_t src_block, float* dst, int64_t dst_block);
std::unique_ptr<ConvPrimitive> make_conv(const ConvSpec& spec);
std::unique_ptr<BatchNormPrimitive> make_batchnorm(const BatchNormSpec& spec);
std::unique_ptr<PoolPrimitive> make_pool(const PoolSpec& spec);
}  // namespace cpu

#ifdef UNET_HAS_CUDA
namespace cuda {
std::unique_ptr<ConvPrimitive> make_conv(const ConvSpec& spec);
std::unique_ptr<BatchNormPrimitive> make_batchnorm(const BatchNormSpec& spec);
std::unique_ptr<PoolPrimitive> make_pool(const PoolSpec& spec);
}  // namespace cuda
#endif

}  // namespace unet
