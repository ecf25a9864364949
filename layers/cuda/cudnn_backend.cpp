// GPU primitives: cuDNN (legacy API) for convolutions, transposed convolutions, batch norm
// and max pooling; cuBLAS for the 1x1 output convolution, which is a plain GEMM.
// Descriptors and algorithm choices are made once per shape (the primitive is cached).
#include <cstdio>
#include <vector>

#include "base/cuda_context.hpp"
#include "base/error.hpp"
#include "base/gpu_math.hpp"
#include "base/i18n.hpp"
#include "layers/backend.hpp"
#include "layers/cuda/cudnn_algorithm_choice.hpp"
#include "layers/cuda/cudnn_descriptors.hpp"

namespace unet::cuda {

namespace {

constexpr float kOne = 1.0f, kZero = 0.0f;

// The first of cuDNN's heuristic results, in the order algorithm_candidates() gives, that runs
// under its math type with a workspace within the limit. The math type is set on the
// direction's own descriptor, and the workspace is asked of cuDNN for exactly that algorithm and
// math type (a result's `memory` field describes the heuristic's math type, not necessarily ours).
template <class Perf, class Algo, class WorkspaceQuery>
void choose(const char* what, const std::vector<Perf>& perfs, int returned, cudnnConvolutionDescriptor_t conv,
            WorkspaceQuery workspace_of, Algo& algo, std::size_t& workspace) {
  const std::size_t limit = CudaContext::get().workspace_limit();
  const AlgorithmPreference pref{gpu_deterministic(), gpu_allow_tf32()};
  for (int i : algorithm_candidates(perfs.data(), returned, pref)) {
    const Perf& p = perfs[static_cast<std::size_t>(i)];
    UNET_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, descriptor_math_type(p.mathType, pref.allow_tf32)));
    std::size_t bytes = 0;
    if (workspace_of(p.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > limit) continue;
    if (pref.deterministic && p.determinism != CUDNN_DETERMINISTIC) {
      static bool warned = false;  // once per process: the choice is made per layer shape
      if (!warned)
        std::fprintf(stderr,
                     tr("unet: %s offers no deterministic algorithm within the %zu MiB workspace limit; results may "
                        "vary slightly from run to run.\n")
                         .c_str(),
                     what, limit >> 20);
      warned = true;
    }
    algo = p.algo;
    workspace = bytes;
    return;
  }
  UNET_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, initial_conv_math_type()));
  UNET_THROW(what, pref.allow_tf32
                       ? trf("no algorithm runs within the workspace limit of {} MiB", std::to_string(limit >> 20))
                       : trf("no algorithm runs within the workspace limit of {} MiB without TF32",
                             std::to_string(limit >> 20)));
}

class CudnnConv final : public ConvPrimitive {
 public:
  explicit CudnnConv(const ConvSpec& s) : spec_(s), d_(s) {
    cudnnHandle_t h = CudaContext::get().cudnn();
    int n = 0;
    std::vector<cudnnConvolutionFwdAlgoPerf_t> fwd(CUDNN_CONVOLUTION_FWD_ALGO_COUNT);
    UNET_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d_.x, d_.w, d_.conv_fwd, d_.y, static_cast<int>(fwd.size()), &n, fwd.data()));
    choose("cudnnGetConvolutionForwardAlgorithm_v7", fwd, n, d_.conv_fwd,
           [&](cudnnConvolutionFwdAlgo_t a, std::size_t* bytes) {
             return cudnnGetConvolutionForwardWorkspaceSize(h, d_.x, d_.w, d_.conv_fwd, d_.y, a, bytes);
           },
           fwd_algo_, fwd_ws_);
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> bd(CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT);
    UNET_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d_.w, d_.y, d_.conv_bwd_data, d_.x, static_cast<int>(bd.size()), &n, bd.data()));
    choose("cudnnGetConvolutionBackwardDataAlgorithm_v7", bd, n, d_.conv_bwd_data,
           [&](cudnnConvolutionBwdDataAlgo_t a, std::size_t* bytes) {
             return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d_.w, d_.y, d_.conv_bwd_data, d_.x, a, bytes);
           },
           bwd_data_algo_, bwd_data_ws_);
    std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> bf(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT);
    UNET_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d_.x, d_.y, d_.conv_bwd_filter, d_.w, static_cast<int>(bf.size()), &n, bf.data()));
    choose("cudnnGetConvolutionBackwardFilterAlgorithm_v7", bf, n, d_.conv_bwd_filter,
           [&](cudnnConvolutionBwdFilterAlgo_t a, std::size_t* bytes) {
             return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d_.x, d_.y, d_.conv_bwd_filter, d_.w, a, bytes);
           },
           bwd_filter_algo_, bwd_filter_ws_);
  }

  void forward(const float* x, const float* w, const float* b, float* y) override {
    cudnnHandle_t h = CudaContext::get().cudnn();
    if (!spec_.transposed) {
      conv_forward(h, x, w, y);
      if (spec_.bias) UNET_CUDNN_CHECK(cudnnAddTensor(h, &kOne, d_.bias, b, &kOne, d_.y, y));
    } else {
      conv_backward_data(h, w, x, y);  // the transposed conv's forward is a conv's data gradient
      if (spec_.bias) UNET_CUDNN_CHECK(cudnnAddTensor(h, &kOne, d_.bias, b, &kOne, d_.x, y));
    }
  }

  void backward_data(const float* dy, const float* w, float* dx) override {
    cudnnHandle_t h = CudaContext::get().cudnn();
    if (!spec_.transposed) {
      conv_backward_data(h, w, dy, dx);
    } else {
      conv_forward(h, dy, w, dx);
    }
  }

  void backward_weights(const float* x, const float* dy, float* dw, float* db) override {
    auto& ctx = CudaContext::get();
    cudnnHandle_t h = ctx.cudnn();
    // For the transposed conv the roles of "input" and "output gradient" swap.
    const float* src = spec_.transposed ? dy : x;
    const float* grad = spec_.transposed ? x : dy;
    UNET_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &kOne, d_.x, src, d_.y, grad, d_.conv_bwd_filter, bwd_filter_algo_,
                                                    ctx.workspace(bwd_filter_ws_), bwd_filter_ws_, &kZero, d_.w, dw));
    if (spec_.bias)
      UNET_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, &kOne, spec_.transposed ? d_.x : d_.y, dy, &kZero, d_.bias, db));
  }

 private:
  void conv_forward(cudnnHandle_t h, const float* in, const float* w, float* out) {
    auto& ctx = CudaContext::get();
    UNET_CUDNN_CHECK(cudnnConvolutionForward(h, &kOne, d_.x, in, d_.w, w, d_.conv_fwd, fwd_algo_, ctx.workspace(fwd_ws_),
                                             fwd_ws_, &kZero, d_.y, out));
  }
  void conv_backward_data(cudnnHandle_t h, const float* w, const float* dy, float* dx) {
    auto& ctx = CudaContext::get();
    UNET_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &kOne, d_.w, w, d_.y, dy, d_.conv_bwd_data, bwd_data_algo_,
                                                  ctx.workspace(bwd_data_ws_), bwd_data_ws_, &kZero, d_.x, dx));
  }

  ConvSpec spec_;
  ConvDescriptors d_;
  cudnnConvolutionFwdAlgo_t fwd_algo_{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo_{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo_{};
  std::size_t fwd_ws_ = 0, bwd_data_ws_ = 0, bwd_filter_ws_ = 0;
};

// A 1x1 stride-1 convolution is a GEMM per image: Y[n] (Cout x HW) = W (Cout x Cin) X[n] (Cin x HW),
// HW being every spatial position (H*W in 2D, D*H*W in 3D).
// cuBLAS is column-major, so each row-major product is issued as its transpose.
class GemmConv1x1 final : public ConvPrimitive {
 public:
  explicit GemmConv1x1(const ConvSpec& s) : spec_(s) {
    set_packed(y_desc_, s.output_shape());
    set_channel_vector(bias_desc_, s.c_out, s.output_shape().size());
    const int64_t hw = shape_numel(s.in);
    UNET_CHECK(hw <= 0x7fffffff, "1x1 convolution", trf("more spatial positions than cuBLAS's int holds: {}", s.str()));
  }

  void forward(const float* x, const float* w, const float* b, float* y) override {
    auto& ctx = CudaContext::get();
    set_math_mode(ctx);
    const int hw = static_cast<int>(shape_numel(spec_.in)), ci = static_cast<int>(spec_.c_in), co = static_cast<int>(spec_.c_out);
    // column-major: Y^T (HW x Cout) = X^T (HW x Cin) * W^T (Cin x Cout)
    UNET_CUBLAS_CHECK(cublasSgemmStridedBatched(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, hw, co, ci, &kOne, x, hw,
                                                static_cast<long long>(ci) * hw, w, ci, 0, &kZero, y, hw,
                                                static_cast<long long>(co) * hw, static_cast<int>(spec_.n)));
    if (spec_.bias) UNET_CUDNN_CHECK(cudnnAddTensor(ctx.cudnn(), &kOne, bias_desc_, b, &kOne, y_desc_, y));
  }

  void backward_data(const float* dy, const float* w, float* dx) override {
    auto& ctx = CudaContext::get();
    set_math_mode(ctx);
    const int hw = static_cast<int>(shape_numel(spec_.in)), ci = static_cast<int>(spec_.c_in), co = static_cast<int>(spec_.c_out);
    // dX[n] (Cin x HW) = W^T dY[n]; column-major: dX^T (HW x Cin) = dY^T (HW x Cout) * W (Cout x Cin)
    UNET_CUBLAS_CHECK(cublasSgemmStridedBatched(ctx.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, hw, ci, co, &kOne, dy, hw,
                                                static_cast<long long>(co) * hw, w, ci, 0, &kZero, dx, hw,
                                                static_cast<long long>(ci) * hw, static_cast<int>(spec_.n)));
  }

  void backward_weights(const float* x, const float* dy, float* dw, float* db) override {
    auto& ctx = CudaContext::get();
    set_math_mode(ctx);
    const int hw = static_cast<int>(shape_numel(spec_.in)), ci = static_cast<int>(spec_.c_in), co = static_cast<int>(spec_.c_out);
    // dW (Cout x Cin) = sum_n dY[n] X[n]^T; column-major: dW^T (Cin x Cout) += X[n] (Cin x HW) * dY[n]^T (HW x Cout)
    for (int64_t n = 0; n < spec_.n; ++n) {
      const float beta = n == 0 ? 0.0f : 1.0f;
      UNET_CUBLAS_CHECK(cublasSgemm(ctx.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, ci, co, hw, &kOne, x + n * ci * hw, hw,
                                    dy + n * co * hw, hw, &beta, dw, ci));
    }
    if (spec_.bias)
      UNET_CUDNN_CHECK(cudnnConvolutionBackwardBias(ctx.cudnn(), &kOne, y_desc_, dy, &kZero, bias_desc_, db));
  }

 private:
  // The handle is shared, so the mode is set before each use: one TF32 setting for cuDNN and cuBLAS.
  static void set_math_mode(CudaContext& ctx) {
    UNET_CUBLAS_CHECK(cublasSetMathMode(ctx.cublas(), cublas_math_mode(gpu_allow_tf32())));
  }

  ConvSpec spec_;
  TensorDesc y_desc_, bias_desc_;
};

class CudnnBatchNorm final : public BatchNormPrimitive {
 public:
  explicit CudnnBatchNorm(const BatchNormSpec& s) : spec_(s) {
    // The ReLU is fused on the CPU only; ops.cpp runs it as its own op on a GPU.
    UNET_CHECK(!s.relu && s.block == 0, "cuDNN batch norm", tr("a fused ReLU or a blocked layout is CPU-only"));
    set_packed(x_, s.shape());
    UNET_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(bn_, x_, CUDNN_BATCHNORM_SPATIAL));
  }

  void forward_train(const float* x, const float* gamma, const float* beta, float* y, float* saved,
                     float* running_mean, float* running_var, float momentum, void*) override {
    // cuDNN updates the running statistics itself, with the unbiased variance, as torch.
    UNET_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
        CudaContext::get().cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero, x_, x, x_, y, bn_, gamma, beta,
        static_cast<double>(momentum), running_mean, running_var, static_cast<double>(spec_.eps), saved, saved + spec_.c));
  }

  void forward_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                    const float* running_var, float* y) override {
    UNET_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(CudaContext::get().cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne,
                                                             &kZero, x_, x, x_, y, bn_, gamma, beta, running_mean,
                                                             running_var, static_cast<double>(spec_.eps)));
  }

  void backward(const float* x, const float* dy, const float* gamma, const float*, const float* saved, const void*,
                float* dx, float* dgamma, float* dbeta) override {
    UNET_CUDNN_CHECK(cudnnBatchNormalizationBackward(CudaContext::get().cudnn(), CUDNN_BATCHNORM_SPATIAL, &kOne, &kZero,
                                                     &kOne, &kZero, x_, x, x_, dy, x_, dx, bn_, gamma, dgamma, dbeta,
                                                     static_cast<double>(spec_.eps), saved, saved + spec_.c));
  }

 private:
  BatchNormSpec spec_;
  TensorDesc x_, bn_;
};

class CudnnPool final : public PoolPrimitive {
 public:
  explicit CudnnPool(const PoolSpec& s) : d_(s) {}
  std::size_t workspace_bytes() const override { return 0; }
  bool backward_reads_values() const override { return true; }
  void forward(const float* x, float* y, void*) override {
    UNET_CUDNN_CHECK(cudnnPoolingForward(CudaContext::get().cudnn(), d_.pool, &kOne, d_.x, x, &kZero, d_.y, y));
  }
  void backward(const float* x, const float* y, const float* dy, const void*, float* dx) override {
    UNET_CUDNN_CHECK(cudnnPoolingBackward(CudaContext::get().cudnn(), d_.pool, &kOne, d_.y, y, d_.y, dy, d_.x, x, &kZero,
                                          d_.x, dx));
  }

 private:
  PoolDescriptors d_;
};

}  // namespace

std::unique_ptr<ConvPrimitive> make_conv(const ConvSpec& spec) {
  if (!spec.transposed && spec.kernel == 1 && spec.stride == 1 && spec.pad == 0) return std::make_unique<GemmConv1x1>(spec);
  return std::make_unique<CudnnConv>(spec);
}

std::unique_ptr<BatchNormPrimitive> make_batchnorm(const BatchNormSpec& spec) {
  return std::make_unique<CudnnBatchNorm>(spec);
}

std::unique_ptr<PoolPrimitive> make_pool(const PoolSpec& spec) { return std::make_unique<CudnnPool>(spec); }

}  // namespace unet::cuda
