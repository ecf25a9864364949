// The per-process CUDA state: one stream on which all work is queued, the cuDNN and cuBLAS
// handles bound to it, and the one convolution workspace shared by every layer (sized to
// the largest request, as Darknet does). Handles are created on first use, so a
// CUDA-built binary that never touches the GPU never opens the driver.
#pragma once

#include <cstdint>
#ifdef UNET_HAS_CUDA

#include <cstddef>

#include "base/cuda_check.hpp"

namespace unet {

class CudaContext {
 public:
  static CudaContext& get();

  cudaStream_t stream();
  cudnnHandle_t cudnn();
  cublasHandle_t cublas();
  // Scratch memory for cuDNN algorithms; valid until the next call with a larger size.
  void* workspace(std::size_t bytes);
  std::size_t workspace_limit() const { return workspace_limit_; }
  void synchronize();
  // How often the host has waited for the stream: the trainer's budget is one wait per step.
  uint64_t synchronizations() const { return synchronizations_; }

  ~CudaContext();

 private:
  CudaContext() = default;
  cudaStream_t stream_ = nullptr;
  uint64_t synchronizations_ = 0;
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  std::size_t workspace_limit_ = std::size_t{512} << 20;  // algorithms needing more are skipped
};

}  // namespace unet

#endif  // UNET_HAS_CUDA
