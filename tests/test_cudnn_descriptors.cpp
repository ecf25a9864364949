// cuDNN descriptor set-up for every layer shape of the spec's U-Nets (base 32 and 64 at
// 256x256, batch 16). Descriptors need no GPU and no handle, so this runs in CI: a wrong
// dimension, stride or filter layout fails here rather than on a user's GPU.
#include <doctest/doctest.h>

#include <array>

#include "base/gpu_math.hpp"
#include "layers/cuda/cudnn_algorithm_choice.hpp"
#include "layers/cuda/cudnn_descriptors.hpp"

using namespace unet;

TEST_CASE("cuDNN accepts and agrees on every U-Net conv, transposed conv and pool shape") {
  for (int64_t base : {32, 64}) {
    const bool bias = base == 64;
    const int64_t n = 16, size = 256;
    int checked = 0;
    for (int64_t level = 0; level <= 4; ++level) {
      const int64_t s = size >> level, c = base << level;
      const int64_t c_in = level == 0 ? 3 : c / 2;
      CAPTURE(base);
      CAPTURE(level);
      // encoder / bottleneck DoubleConv
      cuda::ConvDescriptors a(ConvSpec{n, c_in, c, {s, s}, 3, 1, 1, bias, false});
      cuda::ConvDescriptors b(ConvSpec{n, c, c, {s, s}, 3, 1, 1, bias, false});
      CHECK(a.forward_output_dims() == Shape{n, c, s, s});
      CHECK(b.forward_output_dims() == Shape{n, c, s, s});
      checked += 2;
      if (level < 4) {
        cuda::PoolDescriptors p(PoolSpec{n, c, {s, s}, 2});
        CHECK(p.output_dims() == Shape{n, c, s / 2, s / 2});
        // decoder: transposed conv from level+1, then DoubleConv on the concatenation
        cuda::ConvDescriptors up(ConvSpec{n, 2 * c, c, {s / 2, s / 2}, 2, 2, 0, true, true});
        // for a transposed conv cuDNN's forward maps the layer's output back to its input
        CHECK(up.forward_output_dims() == Shape{n, 2 * c, s / 2, s / 2});
        cuda::ConvDescriptors d1(ConvSpec{n, 2 * c, c, {s, s}, 3, 1, 1, bias, false});
        CHECK(d1.forward_output_dims()[1] == c);
        checked += 3;
      }
    }
    cuda::ConvDescriptors out(ConvSpec{n, base, 1, {size, size}, 1, 1, 0, true, false});
    CHECK(out.forward_output_dims() == Shape{16, 1, 256, 256});
    CHECK(checked == 2 * 5 + 3 * 4);
  }
}

TEST_CASE("cuDNN accepts and agrees on every layer shape of the BraTS 3D U-Net (128^3, batch 1)") {
  const int64_t n = 1, size = 128, base = 32;
  for (int64_t level = 0; level <= 2; ++level) {
    CAPTURE(level);
    const int64_t s = size >> level, c = base << level, c_in = level == 0 ? 4 : c / 2;
    cuda::ConvDescriptors a(ConvSpec{n, c_in, c, {s, s, s}, 3, 1, 1, true, false});
    CHECK(a.nb_dims == 5);
    CHECK(a.forward_output_dims() == Shape{n, c, s, s, s});
    if (level < 2) {
      cuda::PoolDescriptors p(PoolSpec{n, c, {s, s, s}, 2});
      CHECK(p.output_dims() == Shape{n, c, s / 2, s / 2, s / 2});
      cuda::ConvDescriptors up(ConvSpec{n, 2 * c, c, {s / 2, s / 2, s / 2}, 2, 2, 0, true, true});
      CHECK(up.forward_output_dims() == Shape{n, 2 * c, s / 2, s / 2, s / 2});
    }
  }
  cuda::ConvDescriptors out(ConvSpec{n, base, 4, {size, size, size}, 1, 1, 0, true, false});
  CHECK(out.forward_output_dims() == Shape{1, 4, 128, 128, 128});
  // An odd volume (BraTS's 155 slices) pools with floor, as PyTorch.
  cuda::PoolDescriptors odd(PoolSpec{1, 4, {155, 240, 240}, 2});
  CHECK(odd.output_dims() == Shape{1, 4, 77, 120, 120});
}

TEST_CASE("the documented no-GPU behaviour of this machine holds: handles fail cleanly") {
  // cudnnCreate needs a driver; without one it must surface as unet::Error, not a crash.
  if (cuda_available()) return;
  cudnnHandle_t h = nullptr;
  CHECK(cudnnCreate(&h) != CUDNN_STATUS_SUCCESS);
}

namespace {
cudnnMathType_t math_type_of(cudnnConvolutionDescriptor_t d) {
  cudnnMathType_t m{};
  REQUIRE(cudnnGetConvolutionMathType(d, &m) == CUDNN_STATUS_SUCCESS);
  return m;
}

std::array<int, 6> geometry_of(cudnnConvolutionDescriptor_t d) {
  std::array<int, 6> g{};
  cudnnConvolutionMode_t mode{};
  cudnnDataType_t type{};
  int rank = 0;
  std::array<int, 2> pad{}, stride{}, dilation{};
  REQUIRE(cudnnGetConvolutionNdDescriptor(d, 2, &rank, pad.data(), stride.data(), dilation.data(), &mode, &type) == CUDNN_STATUS_SUCCESS);
  CHECK(rank == 2);
  g = {pad[0], pad[1], stride[0], stride[1], dilation[0], dilation[1]};
  CHECK(mode == CUDNN_CROSS_CORRELATION);
  CHECK(type == CUDNN_DATA_FLOAT);
  return g;
}

cudnnConvolutionBwdFilterAlgoPerf_t result(cudnnConvolutionBwdFilterAlgo_t algo, cudnnDeterminism_t det, cudnnMathType_t math,
                                           cudnnStatus_t status = CUDNN_STATUS_SUCCESS) {
  cudnnConvolutionBwdFilterAlgoPerf_t p{};
  p.algo = algo;
  p.status = status;
  p.determinism = det;
  p.mathType = math;
  return p;
}
}  // namespace

TEST_CASE("each direction has its own convolution descriptor, alike, with the math type of the TF32 setting") {
  const ConvSpec spec{16, 64, 64, {128, 128}, 3, 1, 1, false, false};
  for (bool tf32 : {true, false}) {
    CAPTURE(tf32);
    set_gpu_allow_tf32(tf32);
    cuda::ConvDescriptors d(spec);
    const cudnnMathType_t want = tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    CHECK(math_type_of(d.conv_fwd) == want);
    CHECK(math_type_of(d.conv_bwd_data) == want);
    CHECK(math_type_of(d.conv_bwd_filter) == want);
    CHECK(geometry_of(d.conv_fwd) == std::array<int, 6>{1, 1, 1, 1, 1, 1});
    CHECK(geometry_of(d.conv_bwd_data) == geometry_of(d.conv_fwd));
    CHECK(geometry_of(d.conv_bwd_filter) == geometry_of(d.conv_fwd));
    // Setting one direction's math type (as the algorithm choice does) leaves the others alone.
    REQUIRE(cudnnSetConvolutionMathType(d.conv_bwd_filter, CUDNN_TENSOR_OP_MATH) == CUDNN_STATUS_SUCCESS);
    CHECK(math_type_of(d.conv_bwd_filter) == CUDNN_TENSOR_OP_MATH);
    CHECK(math_type_of(d.conv_fwd) == want);
  }
  set_gpu_allow_tf32(true);
}

TEST_CASE("deterministic results are preferred when determinism is on, cuDNN's order kept otherwise") {
  // cuDNN's order, fastest first: the non-deterministic algorithms 0 and 3 use atomics.
  const std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs{
      result(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, CUDNN_NON_DETERMINISTIC, CUDNN_DEFAULT_MATH),
      result(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_DETERMINISTIC, CUDNN_TENSOR_OP_MATH),
      result(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, CUDNN_NON_DETERMINISTIC, CUDNN_DEFAULT_MATH),
      result(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, CUDNN_DETERMINISTIC, CUDNN_DEFAULT_MATH, CUDNN_STATUS_NOT_SUPPORTED),
      result(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_DETERMINISTIC, CUDNN_DEFAULT_MATH),
  };
  const int n = static_cast<int>(perfs.size());
  CHECK(cuda::algorithm_candidates(perfs.data(), n, {true, true}) == std::vector<int>{1, 4, 0, 2});
  CHECK(cuda::algorithm_candidates(perfs.data(), n, {false, true}) == std::vector<int>{0, 1, 2, 4});
  // Without TF32 a tensor-op result is not a candidate, and the others run under FMA math.
  CHECK(cuda::algorithm_candidates(perfs.data(), n, {true, false}) == std::vector<int>{4, 0, 2});
  CHECK(cuda::descriptor_math_type(CUDNN_DEFAULT_MATH, false) == CUDNN_FMA_MATH);
  CHECK(cuda::descriptor_math_type(CUDNN_TENSOR_OP_MATH, true) == CUDNN_TENSOR_OP_MATH);
}

TEST_CASE("fp32 is never converted to fp16, and cuBLAS follows the same TF32 setting") {
  const std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perfs{
      result(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, CUDNN_DETERMINISTIC, CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)};
  CHECK(cuda::algorithm_candidates(perfs.data(), 1, {false, true}).empty());
  CHECK(cuda::cublas_math_mode(true) == CUBLAS_TF32_TENSOR_OP_MATH);
  CHECK(cuda::cublas_math_mode(false) == CUBLAS_DEFAULT_MATH);
}

TEST_CASE("the GPU numerics defaults: deterministic and TF32, as the README and PyTorch's cuDNN default") {
  CHECK(gpu_deterministic());
  CHECK(gpu_allow_tf32());
}
