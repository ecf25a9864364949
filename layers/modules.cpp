#include "layers/modules.hpp"

#include <cmath>

#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"
#include "layers/ops.hpp"

namespace unet {

Tensor FlatTensorSet::declare(const Shape& shape) {
  UNET_CHECK(!flat_.defined(), "FlatTensorSet::declare", tr("cannot declare after materialize()"));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  tensors_.emplace_back(impl);
  offsets_.push_back(numel_);
  numel_ += shape_numel(shape);
  return tensors_.back();
}

void FlatTensorSet::materialize(Device d, bool with_grad) {
  Tensor flat = Tensor::empty({numel_}, d);
  if (flat_.defined()) {
    flat.copy_from(flat_);
  } else {
    flat.fill_(0.0f);
  }
  Tensor grad;
  if (with_grad) grad = Tensor::zeros({numel_}, d);
  for (size_t i = 0; i < tensors_.size(); ++i) {
    TensorImpl* impl = tensors_[i].impl();
    impl->storage = flat.impl()->storage;
    impl->offset = offsets_[i];
    impl->device = d;
    AutogradMeta& autograd = impl->ensure_autograd();
    autograd.requires_grad = with_grad;
    autograd.grad = with_grad ? grad.view_range(offsets_[i], impl->shape).impl_ptr() : nullptr;
  }
  flat_ = flat;
  flat_grad_ = grad;
}

Tensor ModuleRegistry::parameter(const std::string& name, const Shape& shape) {
  Tensor t = parameters.declare(shape);
  state.push_back({name, t, nullptr, true});
  return t;
}

Tensor ModuleRegistry::buffer(const std::string& name, const Shape& shape) {
  Tensor t = buffers.declare(shape);
  state.push_back({name, t, nullptr, false});
  return t;
}

void ModuleRegistry::counter(const std::string& name, int64_t* value) {
  state.push_back({name, Tensor(), value, false});
}

Conv::Conv(ModuleRegistry& reg, const std::string& name, int64_t rank, int64_t c_in, int64_t c_out, int64_t kernel,
           int64_t stride, int64_t pad, bool bias, bool transposed)
    : rank_(rank), c_in_(c_in), c_out_(c_out), kernel_(kernel), stride_(stride), pad_(pad), transposed_(transposed) {
  UNET_CHECK(rank == 2 || rank == 3, name, trf("a convolution is 2D or 3D, got rank {}", std::to_string(rank)));
  Shape shape = transposed ? Shape{c_in, c_out} : Shape{c_out, c_in};
  shape.insert(shape.end(), static_cast<std::size_t>(rank), kernel);
  weight = reg.parameter(name + ".weight", shape);
  if (bias) this->bias = reg.parameter(name + ".bias", {c_out});
}

int64_t Conv::fan_in() const {
  // torch computes fan_in from weight.size(1) times the kernel's volume: Cin for ConvNd,
  // Cout for ConvTransposeNd.
  int64_t receptive = 1;
  for (int64_t i = 0; i < rank_; ++i) receptive *= kernel_;
  return (transposed_ ? c_out_ : c_in_) * receptive;
}

void Conv::reset_parameters(uint64_t seed, int64_t weight_offset, int64_t bias_offset) {
  // kaiming_uniform_(a=sqrt(5)): gain = sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / fan_in)
  // = 1 / sqrt(fan_in); the bias uses the same bound.
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in()));
  kernels::uniform_init(weight.device(), weight.numel(), -bound, bound, seed,
                        static_cast<uint64_t>(weight_offset), weight.data());
  if (bias.defined())
    kernels::uniform_init(bias.device(), bias.numel(), -bound, bound, seed, static_cast<uint64_t>(bias_offset),
                          bias.data());
}

Tensor Conv::forward(const Tensor& x) const {
  UNET_CHECK(x.ndim() == rank_ + 2, transposed_ ? "conv_transpose" : "conv",
             trf("a {}D layer needs an input of {} dims, got {}", std::to_string(rank_), std::to_string(rank_ + 2),
                 shape_str(x.shape())));
  return transposed_ ? ops::conv_transpose(x, weight, bias, stride_, pad_) : ops::conv(x, weight, bias, stride_, pad_);
}

BatchNorm::BatchNorm(ModuleRegistry& reg, const std::string& name, int64_t channels) {
  weight = reg.parameter(name + ".weight", {channels});
  bias = reg.parameter(name + ".bias", {channels});
  running_mean = reg.buffer(name + ".running_mean", {channels});
  running_var = reg.buffer(name + ".running_var", {channels});
  reg.counter(name + ".num_batches_tracked", &num_batches_tracked);
}

void BatchNorm::reset_parameters() {
  weight.fill_(1.0f);
  bias.fill_(0.0f);
  running_mean.fill_(0.0f);
  running_var.fill_(1.0f);
  num_batches_tracked = 0;
}

Tensor BatchNorm::forward(const Tensor& x) {
  if (!training) return ops::batch_norm_eval(x, weight, bias, running_mean, running_var, eps);
  ++num_batches_tracked;
  return ops::batch_norm_train(x, weight, bias, running_mean, running_var, momentum, eps, sync);
}

Tensor BatchNorm::forward_relu(const Tensor& x) {
  if (!training) return ops::batch_norm_relu_eval(x, weight, bias, running_mean, running_var, eps);
  ++num_batches_tracked;
  return ops::batch_norm_relu_train(x, weight, bias, running_mean, running_var, momentum, eps, sync);
}

}  // namespace unet
