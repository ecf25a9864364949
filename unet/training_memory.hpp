// How much memory one training step of a U-Net needs, counted from its shape: what the
// autograd graph keeps for the backward pass, the weights with their gradients and Adam's two
// moments, and the gradients alive at once during the backward pass. It answers "does this
// configuration fit on that GPU?" before anything is allocated (e.g. the 3D U-Net, base 32,
// 128^3, batch 1, on a 24 GB RTX 3090). Device-specific extras are not counted: the CUDA
// context, cuDNN's workspace, oneDNN's scratchpad (oneDNN's layout reorders are in
// backward_floats).
#pragma once

#include <cstdint>
#include <vector>

#include "unet/unet_model.hpp"

namespace unet {

struct TrainingMemoryEstimate {
  int64_t activation_floats = 0;  // kept from the forward pass for the backward pass
  int64_t parameter_floats = 0;   // weights, their gradients and Adam's two moments (4 per weight)
  int64_t backward_floats = 0;    // gradients of activations alive at once at the backward peak
  int64_t total_floats() const { return activation_floats + parameter_floats + backward_floats; }
  double total_bytes() const { return 4.0 * static_cast<double>(total_floats()); }
};

// For the model of `config` trained on inputs of spatial `size` ({h, w} or {d, h, w}, each a
// multiple of 2^depth) in batches of `batch`, with the multi-class softmax Dice loss (out_channels
// > 1: softmax probabilities and a class map kept) or a binary loss (out_channels == 1), on
// `device` (the backends keep slightly different tensors), without --sync-bn (with it the CPU
// runs the ReLU apart and keeps what a GPU keeps: count it as Device::CUDA). The CPU figures
// are measured in tests/test_training_memory.cpp; the GPU's are counted the same way, not
// measured.
TrainingMemoryEstimate estimate_training_memory(const UNetConfig& config, const std::vector<int64_t>& size, int64_t batch,
                                                Device device);

}  // namespace unet
