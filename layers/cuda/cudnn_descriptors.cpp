#include "layers/cuda/cudnn_descriptors.hpp"

#include "base/error.hpp"
#include "base/gpu_math.hpp"
#include "engine/tensor.hpp"

namespace unet::cuda {

void set_nchw(cudnnTensorDescriptor_t d, int64_t n, int64_t c, int64_t h, int64_t w) {
  UNET_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, static_cast<int>(n),
                                              static_cast<int>(c), static_cast<int>(h), static_cast<int>(w)));
}

cudnnMathType_t initial_conv_math_type() { return gpu_allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

ConvDescriptors::ConvDescriptors(const ConvSpec& s) {
  const int k = static_cast<int>(s.kernel), p = static_cast<int>(s.pad), st = static_cast<int>(s.stride);
  if (s.transposed) {
    // Conv from the layer's output [n, c_out, oh, ow] to its input [n, c_in, h, w]; the
    // filter [c_in, c_out, k, k] is PyTorch's ConvTranspose2d weight as it is.
    set_nchw(x, s.n, s.c_out, s.out_h(), s.out_w());
    set_nchw(y, s.n, s.c_in, s.h, s.w);
    UNET_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, static_cast<int>(s.c_in),
                                                static_cast<int>(s.c_out), k, k));
  } else {
    set_nchw(x, s.n, s.c_in, s.h, s.w);
    set_nchw(y, s.n, s.c_out, s.out_h(), s.out_w());
    UNET_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, static_cast<int>(s.c_out),
                                                static_cast<int>(s.c_in), k, k));
  }
  set_nchw(bias, 1, s.c_out, 1, 1);
  for (cudnnConvolutionDescriptor_t conv : {cudnnConvolutionDescriptor_t(conv_fwd), cudnnConvolutionDescriptor_t(conv_bwd_data),
                                             cudnnConvolutionDescriptor_t(conv_bwd_filter)}) {
    UNET_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, p, p, st, st, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    UNET_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, initial_conv_math_type()));
  }
  const auto dims = forward_output_dims();
  const int64_t want_c = s.transposed ? s.c_in : s.c_out;
  const int64_t want_h = s.transposed ? s.h : s.out_h();
  const int64_t want_w = s.transposed ? s.w : s.out_w();
  UNET_CHECK(dims[0] == s.n && dims[1] == want_c && dims[2] == want_h && dims[3] == want_w,
             "cudnnGetConvolution2dForwardOutputDim",
             "cuDNN disagrees on the output shape of " + s.str() + ": " +
                 shape_str({dims[0], dims[1], dims[2], dims[3]}));
}

std::array<int, 4> ConvDescriptors::forward_output_dims() const {
  std::array<int, 4> d{};
  UNET_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv_fwd, x, w, &d[0], &d[1], &d[2], &d[3]));
  return d;
}

PoolDescriptors::PoolDescriptors(const PoolSpec& s) {
  set_nchw(x, s.n, s.c, s.h, s.w);
  set_nchw(y, s.n, s.c, s.out_h(), s.out_w());
  const int k = static_cast<int>(s.kernel);
  UNET_CUDNN_CHECK(cudnnSetPooling2dDescriptor(pool, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, k, k, 0, 0, k, k));
  const auto d = output_dims();
  UNET_CHECK(d[2] == s.out_h() && d[3] == s.out_w(), "cudnnGetPooling2dForwardOutputDim",
             "cuDNN disagrees on the pooled shape: " + shape_str({d[0], d[1], d[2], d[3]}));
}

std::array<int, 4> PoolDescriptors::output_dims() const {
  std::array<int, 4> d{};
  UNET_CUDNN_CHECK(cudnnGetPooling2dForwardOutputDim(pool, x, &d[0], &d[1], &d[2], &d[3]));
  return d;
}

}  // namespace unet::cuda
