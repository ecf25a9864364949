#include "unet/training_memory.hpp"

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

TrainingMemoryEstimate estimate_training_memory(const UNetConfig& config, const std::vector<int64_t>& size, int64_t batch,
                                                Device device) {
  config.validate("estimate_training_memory");
  UNET_CHECK(static_cast<int64_t>(size.size()) == config.rank(), "estimate_training_memory",
             trf("the input size needs {} dims, got {}", std::to_string(config.rank()), std::to_string(size.size())));
  UNET_CHECK(batch >= 1, "estimate_training_memory",
             trf("the batch must be at least 1, got {}", std::to_string(batch)));
  const int64_t multiple = int64_t{1} << config.depth;
  for (int64_t s : size)
    UNET_CHECK(
        s >= multiple && s % multiple == 0, "estimate_training_memory",
        trf("every input size must be a positive multiple of {}, got {}", std::to_string(multiple), std::to_string(s)));
  auto voxels = [&](int64_t level) {  // per sample, at `level` poolings
    int64_t v = 1;
    for (int64_t s : size) v *= s >> level;
    return v;
  };
  auto width = [&](int64_t level) { return config.base << level; };

  // Per sample, as unet/unet_model.cpp and layers/ops.cpp keep tensors for the backward pass
  // (a node keeps what its backward reads; its edges hold no values): a DoubleConv keeps 3
  // tensors of its output width (each conv's output, read by batch norm's backward, and the first
  // batch norm + ReLU's output, read by the second conv's) and its output where the next op
  // reads it (the transposed conv and the 1x1 conv do; max pooling does on a GPU, where cuDNN
  // finds each window's maximum again, not on the CPU, where oneDNN keeps the argmax); max
  // pooling keeps its output; a decoder level keeps the concatenation (twice its width), not the
  // transposed conv's output (the concatenation's backward reads no values). Left out, a fraction
  // of a percent: oneDNN's pooling workspace (a byte per pooled voxel), batch norm's statistics.
  const int64_t encoder_output = device == Device::CPU ? 0 : 1;
  int64_t kept = config.in_channels * voxels(0);  // the input, read by the first conv's backward
  for (int64_t level = 0; level < config.depth; ++level)
    kept += (3 + encoder_output) * width(level) * voxels(level) + width(level) * voxels(level + 1);
  kept += 4 * width(config.depth) * voxels(config.depth);  // the bottleneck
  for (int64_t level = 0; level < config.depth; ++level) kept += (2 + 4) * width(level) * voxels(level);
  // The CPU's fused batch norm + ReLU keeps the ReLU's mask, a bit per value of each batch norm
  // (cuDNN runs the ReLU apart, which reads the output kept anyway).
  if (device == Device::CPU) {
    int64_t normalised = 2 * width(config.depth) * voxels(config.depth);  // the bottleneck's two
    for (int64_t level = 0; level < config.depth; ++level) normalised += 2 * 2 * width(level) * voxels(level);
    kept += (normalised + 31) / 32;
  }
  // The logits; the multi-class loss also keeps the softmax probabilities and the class map,
  // the binary one the target.
  kept += config.out_channels > 1 ? 2 * config.out_channels * voxels(0) + voxels(0) : 2 * voxels(0);

  TrainingMemoryEstimate e;
  e.activation_floats = batch * kept;
  e.parameter_floats = 4 * config.parameter_count();
  // The backward peak comes at the full-resolution decoder level's second conv, with the saved
  // tensors of the levels below still alive: the gradients flowing in and out of that conv take
  // the place of the two tensors already freed (the decoder's output and the conv's own
  // output), and on the CPU oneDNN's backward-weights GEMM copies the conv's input and its
  // gradient into its plain layout (base each). cuDNN makes no copies; the same room is left
  // for its workspace, which is not counted.
  e.backward_floats = batch * 2 * width(0) * voxels(0);
  return e;
}

}  // namespace unet
