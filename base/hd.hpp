// UNET_HD marks code compiled for both the host and the device. Kernel arithmetic is
// written once with it: the CPU backend runs it in an OpenMP loop, the CUDA backend in a
// grid-stride kernel, so CI (no GPU) executes the same arithmetic a GPU would.
#pragma once

#include <math.h>  // expf, log1pf, sqrtf: the same names on the host and in CUDA device code

#if defined(__CUDACC__)
#define UNET_HD __host__ __device__ __forceinline__
#else
#define UNET_HD inline
#endif
