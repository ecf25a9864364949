// Which of cuDNN's heuristic results a convolution direction may use, and in what order, as a
// pure function of the results: the selection is tested without a GPU (test_cudnn_descriptors).
#pragma once
#ifdef UNET_HAS_CUDA

#include <cublas_v2.h>
#include <cudnn.h>

#include <vector>

namespace unet::cuda {

struct AlgorithmPreference {
  bool deterministic = true;  // prefer CUDNN_DETERMINISTIC results
  bool allow_tf32 = true;     // allow tensor-core (TF32) math for fp32
};

// The math type to set on the direction's descriptor for a result: the result's own when TF32 is
// allowed; CUDNN_FMA_MATH (plain fp32, no tensor cores) when it is not.
inline cudnnMathType_t descriptor_math_type(cudnnMathType_t result_math, bool allow_tf32) {
  return allow_tf32 ? result_math : CUDNN_FMA_MATH;
}

// The cuBLAS math mode of the same TF32 choice, so the 1x1 GEMM path computes as the cuDNN
// convolutions do (cuBLAS's default math for fp32 uses no tensor cores).
inline cublasMath_t cublas_math_mode(bool allow_tf32) {
  return allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
}

// Indices into perfs[0..returned) in the order to try them. Kept: results with status success
// whose math type fits (never ALLOW_CONVERSION, which computes fp32 in fp16; no tensor-op math
// without TF32). With determinism on, deterministic results come first and the others follow
// only as a fallback; cuDNN's order (fastest first) is kept within each group.
template <class Perf>
std::vector<int> algorithm_candidates(const Perf* perfs, int returned, AlgorithmPreference pref) {
  std::vector<int> first, fallback;
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perfs[i];
    if (p.status != CUDNN_STATUS_SUCCESS || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) continue;
    if (!pref.allow_tf32 && p.mathType == CUDNN_TENSOR_OP_MATH) continue;
    const bool preferred = !pref.deterministic || p.determinism == CUDNN_DETERMINISTIC;
    (preferred ? first : fallback).push_back(i);
  }
  first.insert(first.end(), fallback.begin(), fallback.end());
  return first;
}

}  // namespace unet::cuda

#endif  // UNET_HAS_CUDA
