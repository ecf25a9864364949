#include "unet/adam.hpp"

#include <cmath>

#include "engine/error.hpp"
#include "kernels/kernels.hpp"

namespace unet {

Adam::Adam(FlatTensorSet& params, const AdamConfig& config) : params_(params), config_(config) {
  UNET_CHECK(params.flat().defined() && params.flat_grad().defined(), "Adam",
             "parameters must be materialized with gradients first");
  UNET_CHECK(config.lr > 0.0f && config.beta1 >= 0.0f && config.beta1 < 1.0f && config.beta2 >= 0.0f &&
                 config.beta2 < 1.0f && config.eps > 0.0f && config.weight_decay >= 0.0f,
             "Adam", "invalid hyper-parameters (need lr > 0, 0 <= betas < 1, eps > 0, weight_decay >= 0)");
  const Device d = params.flat().device();
  m_ = Tensor::zeros({params.numel()}, d);
  v_ = Tensor::zeros({params.numel()}, d);
}

void Adam::step() {
  const Tensor& p = params_.flat();
  UNET_CHECK(p.device() == m_.device(), "Adam::step", "parameters moved to another device after the optimizer was made");
  ++steps_;
  kernels::AdamHyper h;
  h.beta1 = config_.beta1;
  h.beta2 = config_.beta2;
  h.eps = config_.eps;
  h.weight_decay = config_.weight_decay;
  const double t = static_cast<double>(steps_);
  h.step_size = static_cast<float>(config_.lr / (1.0 - std::pow(static_cast<double>(config_.beta1), t)));
  h.bias_correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(config_.beta2), t)));
  kernels::adam_step(p.device(), p.numel(), h, p.data(), params_.flat_grad().data(), m_.data(), v_.data());
}

}  // namespace unet
