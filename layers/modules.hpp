// Layers with state: parameters and buffers registered under PyTorch's state_dict names.
// All parameters of a model live in one flat buffer (and their gradients in another), so
// zeroing gradients and the Adam step are each a single kernel over the whole model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.hpp"
#include "layers/ops.hpp"

namespace unet {

// One entry of a state dict, in PyTorch's order. num_batches_tracked is an int64 counter
// kept on the host; every other entry is a float tensor.
struct StateEntry {
  std::string name;
  Tensor tensor;                 // undefined for the counter
  int64_t* counter = nullptr;    // set for num_batches_tracked
  bool is_parameter = false;
};

// Tensors declared by shape first, then placed into one flat buffer by materialize().
class FlatTensorSet {
 public:
  Tensor declare(const Shape& shape);  // a tensor whose storage arrives with materialize()
  // Allocates the flat buffer on `d` (copying current values when there are any) and,
  // when with_grad, a flat gradient buffer whose views become each tensor's .grad.
  void materialize(Device d, bool with_grad);
  int64_t numel() const { return numel_; }
  const Tensor& flat() const { return flat_; }
  const Tensor& flat_grad() const { return flat_grad_; }
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
  std::vector<int64_t> offsets_;
  int64_t numel_ = 0;
  Tensor flat_, flat_grad_;
};

struct ModuleRegistry {
  FlatTensorSet parameters;
  FlatTensorSet buffers;
  std::vector<StateEntry> state;  // PyTorch state_dict order

  Tensor parameter(const std::string& name, const Shape& shape);
  Tensor buffer(const std::string& name, const Shape& shape);
  void counter(const std::string& name, int64_t* value);
};

// Conv2d / Conv3d or ConvTranspose2d / ConvTranspose3d (rank 2 or 3) with PyTorch's default
// initialisation.
class Conv {
 public:
  Conv(ModuleRegistry& reg, const std::string& name, int64_t rank, int64_t c_in, int64_t c_out, int64_t kernel,
       int64_t stride, int64_t pad, bool bias, bool transposed = false);
  Tensor forward(const Tensor& x) const;
  // kaiming_uniform_(a = sqrt(5)) for the weight and U(+-1/sqrt(fan_in)) for the bias, drawn
  // from `seed`'s Philox stream at the parameter's own offset.
  void reset_parameters(uint64_t seed, int64_t weight_offset, int64_t bias_offset);
  int64_t fan_in() const;

  Tensor weight, bias;  // weight [Cout, Cin, k, ...] (transposed: [Cin, Cout, k, ...]); bias [Cout]

 private:
  int64_t rank_, c_in_, c_out_, kernel_, stride_, pad_;
  bool transposed_;
};

// BatchNorm2d / BatchNorm3d: statistics per channel over the batch and every position.
class BatchNorm {
 public:
  BatchNorm(ModuleRegistry& reg, const std::string& name, int64_t channels);
  Tensor forward(const Tensor& x);
  Tensor forward_relu(const Tensor& x);  // relu(forward(x)), fused where the backend can (ops.hpp)
  void reset_parameters();

  bool training = true;
  const ops::BatchNormSync* sync = nullptr;  // set: statistics over every rank's batch (--sync-bn)
  float momentum = 0.1f;
  float eps = 1e-5f;
  Tensor weight, bias, running_mean, running_var;  // each [C]
  int64_t num_batches_tracked = 0;
};

}  // namespace unet
