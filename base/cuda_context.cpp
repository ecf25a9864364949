#include "base/cuda_context.hpp"

#include <cstdio>

#include "base/allocator.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace detail {
const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "unknown cuBLAS status";
}
}  // namespace detail

CudaContext& CudaContext::get() {
  static CudaContext ctx;
  return ctx;
}

cudaStream_t CudaContext::stream() {
  if (stream_ == nullptr) UNET_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  return stream_;
}

cudnnHandle_t CudaContext::cudnn() {
  if (cudnn_ == nullptr) {
    UNET_CUDNN_CHECK(cudnnCreate(&cudnn_));
    UNET_CUDNN_CHECK(cudnnSetStream(cudnn_, stream()));
  }
  return cudnn_;
}

cublasHandle_t CudaContext::cublas() {
  if (cublas_ == nullptr) {
    UNET_CUBLAS_CHECK(cublasCreate(&cublas_));
    UNET_CUBLAS_CHECK(cublasSetStream(cublas_, stream()));
  }
  return cublas_;
}

void* CudaContext::workspace(std::size_t bytes) {
  if (bytes <= workspace_bytes_) return workspace_;
  // Work queued with the old buffer may still run; the allocator is stream-ordered on our
  // single stream, so handing the block back is safe.
  if (workspace_ != nullptr) allocator_for(Device::CUDA).release(workspace_);
  workspace_ = allocator_for(Device::CUDA).allocate(bytes);
  workspace_bytes_ = bytes;
  return workspace_;
}

void CudaContext::synchronize() {
  ++synchronizations_;
  UNET_CUDA_CHECK(cudaStreamSynchronize(stream()));
}

CudaContext::~CudaContext() {
  // Destructors report instead of throwing; at process exit the driver may be gone already.
  if (cublas_ != nullptr && cublasDestroy(cublas_) != CUBLAS_STATUS_SUCCESS)
    std::fputs(tr("unet: cublasDestroy failed\n").c_str(), stderr);
  if (cudnn_ != nullptr && cudnnDestroy(cudnn_) != CUDNN_STATUS_SUCCESS)
    std::fputs(tr("unet: cudnnDestroy failed\n").c_str(), stderr);
  if (stream_ != nullptr && cudaStreamDestroy(stream_) != cudaSuccess)
    std::fputs(tr("unet: cudaStreamDestroy failed\n").c_str(), stderr);
}

}  // namespace unet
