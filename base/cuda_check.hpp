// Checked calls into the CUDA runtime, cuDNN and cuBLAS. Every call in the project goes
// through one of these; the error names the call as written, the file and the line.
#pragma once
#ifdef UNET_HAS_CUDA

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "base/error.hpp"

namespace unet::detail {
const char* cublas_status_name(cublasStatus_t s);
}

#define UNET_CUDA_CHECK(call)                                                         \
  do {                                                                                \
    const cudaError_t unet_err_ = (call);                                             \
    if (unet_err_ != cudaSuccess)                                                     \
      UNET_THROW(#call, std::string(cudaGetErrorName(unet_err_)) + ": " +             \
                            cudaGetErrorString(unet_err_));                           \
  } while (0)

#define UNET_CUDNN_CHECK(call)                                                        \
  do {                                                                                \
    const cudnnStatus_t unet_st_ = (call);                                            \
    if (unet_st_ != CUDNN_STATUS_SUCCESS) {                                           \
      char unet_msg_[256] = {0};                                                      \
      cudnnGetLastErrorString(unet_msg_, sizeof unet_msg_);                           \
      UNET_THROW(#call, std::string(cudnnGetErrorString(unet_st_)) +                  \
                            (unet_msg_[0] ? std::string(": ") + unet_msg_ : ""));     \
    }                                                                                 \
  } while (0)

#define UNET_CUBLAS_CHECK(call)                                                       \
  do {                                                                                \
    const cublasStatus_t unet_st_ = (call);                                           \
    if (unet_st_ != CUBLAS_STATUS_SUCCESS)                                            \
      UNET_THROW(#call, ::unet::detail::cublas_status_name(unet_st_));                \
  } while (0)

// After a kernel launch: launch-configuration errors surface here, naming the kernel,
// rather than at the next synchronisation.
#define UNET_CUDA_CHECK_LAUNCH(name)                                                  \
  do {                                                                                \
    const cudaError_t unet_err_ = cudaGetLastError();                                 \
    if (unet_err_ != cudaSuccess)                                                     \
      UNET_THROW(std::string("launch of ") + (name), std::string(cudaGetErrorName(unet_err_)) + ": " + \
                                                     cudaGetErrorString(unet_err_));  \
  } while (0)

#endif  // UNET_HAS_CUDA
