// RAII cuDNN descriptors and their set-up for each layer shape. Creating and setting
// descriptors needs no GPU (no handle), so CI checks every U-Net layer's set-up here.
#pragma once
#ifdef UNET_HAS_CUDA

#include <cudnn.h>

#include <cstdio>
#include <vector>

#include "base/cuda_check.hpp"
#include "base/i18n.hpp"
#include "layers/backend.hpp"

namespace unet::cuda {

template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class CudnnDescriptor {
 public:
  CudnnDescriptor() { UNET_CUDNN_CHECK(Create(&desc_)); }
  ~CudnnDescriptor() {
    // Destructors report instead of throwing.
    if (desc_ != nullptr && Destroy(desc_) != CUDNN_STATUS_SUCCESS)
      std::fputs(tr("unet: destroying a cuDNN descriptor failed\n").c_str(), stderr);
  }
  CudnnDescriptor(const CudnnDescriptor&) = delete;
  CudnnDescriptor& operator=(const CudnnDescriptor&) = delete;
  operator T() const { return desc_; }

 private:
  T desc_ = nullptr;
};

using TensorDesc = CudnnDescriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = CudnnDescriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc = CudnnDescriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                                 cudnnDestroyConvolutionDescriptor>;
using PoolDesc = CudnnDescriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor, cudnnDestroyPoolingDescriptor>;

// A packed row-major float tensor [N, C, *spatial] of 4 or 5 dims (cuDNN's Nd descriptors;
// a 4-dim one is what cudnnSetTensor4dDescriptor would make).
void set_packed(cudnnTensorDescriptor_t d, const Shape& shape);
// A per-channel vector [1, C, 1, ...] broadcast over a tensor of `rank` dims (bias).
void set_channel_vector(cudnnTensorDescriptor_t d, int64_t c, std::size_t rank);

// The descriptors of one convolution as cuDNN sees it. A transposed convolution is run as
// the data-gradient of the convolution that maps its output back to its input, so for it
// "x" below is the layer's output and "y" its input.
struct ConvDescriptors {
  explicit ConvDescriptors(const ConvSpec& spec);
  TensorDesc x, y, bias;
  FilterDesc w;
  // One convolution descriptor per direction: each carries the math type of the algorithm
  // chosen for that direction (cudnn_backend.cpp). Set alike; the math type starts as
  // initial_conv_math_type().
  ConvDesc conv_fwd, conv_bwd_data, conv_bwd_filter;
  int nb_dims = 0;  // 4 for 2D, 5 for 3D
  // What cuDNN computes for the output of the forward convolution: {n, c, *spatial}.
  Shape forward_output_dims() const;
};

// The math type the convolution descriptors start with (and that heuristics are asked under):
// CUDNN_DEFAULT_MATH (TF32 allowed on sm_80+) or CUDNN_FMA_MATH when gpu_allow_tf32() is off.
cudnnMathType_t initial_conv_math_type();

struct PoolDescriptors {
  explicit PoolDescriptors(const PoolSpec& spec);
  TensorDesc x, y;
  PoolDesc pool;
  int nb_dims = 0;
  Shape output_dims() const;
};

}  // namespace unet::cuda

#endif  // UNET_HAS_CUDA
