// The process-wide numerics choices of the GPU backend, one setting each for cuDNN and cuBLAS so
// the two never disagree: deterministic algorithms (default on, as the README promises) and TF32
// tensor-core math for fp32 (default on, as PyTorch's default for cuDNN convolutions). Set them
// before the first GPU layer is built: layers choose their algorithms once, when made.
#pragma once

namespace unet {

bool gpu_deterministic();
void set_gpu_deterministic(bool on);

bool gpu_allow_tf32();
void set_gpu_allow_tf32(bool on);

}  // namespace unet
