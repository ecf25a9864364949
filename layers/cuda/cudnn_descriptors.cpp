#include "layers/cuda/cudnn_descriptors.hpp"

#include "base/error.hpp"
#include "base/gpu_math.hpp"
#include "base/i18n.hpp"
#include "engine/tensor.hpp"

namespace unet::cuda {

namespace {
std::vector<int> to_int(const Shape& s) {
  std::vector<int> v;
  for (int64_t x : s) {
    UNET_CHECK(x > 0 && x <= 0x7fffffff, "cuDNN descriptor",
               trf("dimension {} of {} does not fit cuDNN's int", std::to_string(x), shape_str(s)));
    v.push_back(static_cast<int>(x));
  }
  return v;
}
}  // namespace

void set_packed(cudnnTensorDescriptor_t d, const Shape& shape) {
  const std::vector<int> dims = to_int(shape);
  std::vector<int> strides(dims.size(), 1);
  for (std::size_t i = dims.size() - 1; i > 0; --i) strides[i - 1] = strides[i] * dims[i];
  UNET_CUDNN_CHECK(cudnnSetTensorNdDescriptor(d, CUDNN_DATA_FLOAT, static_cast<int>(dims.size()), dims.data(), strides.data()));
}

void set_channel_vector(cudnnTensorDescriptor_t d, int64_t c, std::size_t rank) {
  Shape s(rank, 1);
  s[1] = c;
  set_packed(d, s);
}

cudnnMathType_t initial_conv_math_type() { return gpu_allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

ConvDescriptors::ConvDescriptors(const ConvSpec& s) {
  const int rank = static_cast<int>(s.rank());
  nb_dims = rank + 2;
  // Conv: x is the input, y the output. Transposed: a conv from the layer's output
  // [n, c_out, *out] to its input [n, c_in, *in]; the filter [c_in, c_out, k, ...] is
  // PyTorch's ConvTranspose weight as it is.
  set_packed(x, s.transposed ? s.output_shape() : s.input_shape());
  set_packed(y, s.transposed ? s.input_shape() : s.output_shape());
  const std::vector<int> filter = to_int(s.weight_shape());
  UNET_CUDNN_CHECK(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, rank + 2, filter.data()));
  set_channel_vector(bias, s.c_out, static_cast<std::size_t>(rank) + 2);
  const std::vector<int> pad(rank, static_cast<int>(s.pad)), stride(rank, static_cast<int>(s.stride)), dilation(rank, 1);
  for (cudnnConvolutionDescriptor_t conv : {cudnnConvolutionDescriptor_t(conv_fwd), cudnnConvolutionDescriptor_t(conv_bwd_data),
                                             cudnnConvolutionDescriptor_t(conv_bwd_filter)}) {
    UNET_CUDNN_CHECK(cudnnSetConvolutionNdDescriptor(conv, rank, pad.data(), stride.data(), dilation.data(),
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    UNET_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, initial_conv_math_type()));
  }
  const Shape want = s.transposed ? s.input_shape() : s.output_shape();
  UNET_CHECK(forward_output_dims() == want, "cudnnGetConvolutionNdForwardOutputDim",
             trf("cuDNN disagrees on the output shape of {}: {}", s.str(), shape_str(forward_output_dims())));
}

Shape ConvDescriptors::forward_output_dims() const {
  std::vector<int> d(static_cast<std::size_t>(nb_dims));
  UNET_CUDNN_CHECK(cudnnGetConvolutionNdForwardOutputDim(conv_fwd, x, w, nb_dims, d.data()));
  return Shape(d.begin(), d.end());
}

PoolDescriptors::PoolDescriptors(const PoolSpec& s) {
  set_packed(x, s.input_shape());
  set_packed(y, s.output_shape());
  const int rank = static_cast<int>(s.in.size());
  nb_dims = rank + 2;
  const std::vector<int> window(rank, static_cast<int>(s.kernel)), zero(rank, 0);
  UNET_CUDNN_CHECK(cudnnSetPoolingNdDescriptor(pool, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, rank, window.data(),
                                               zero.data(), window.data()));
  UNET_CHECK(output_dims() == s.output_shape(), "cudnnGetPoolingNdForwardOutputDim",
             trf("cuDNN disagrees on the pooled shape: {}, expected {}", shape_str(output_dims()),
                 shape_str(s.output_shape())));
}

Shape PoolDescriptors::output_dims() const {
  std::vector<int> d(static_cast<std::size_t>(nb_dims));
  UNET_CUDNN_CHECK(cudnnGetPoolingNdForwardOutputDim(pool, x, nb_dims, d.data()));
  return Shape(d.begin(), d.end());
}

}  // namespace unet::cuda
