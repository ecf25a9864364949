#include "unet/adam.hpp"

#include "layers/profiler.hpp"

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"

namespace unet {

Adam::Adam(FlatTensorSet& params, const AdamConfig& config) : params_(params), config_(config) {
  UNET_CHECK(params.flat().defined() && params.flat_grad().defined(), "Adam",
             tr("parameters must be materialized with gradients first"));
  UNET_CHECK(config.lr > 0.0 && config.beta1 >= 0.0 && config.beta1 < 1.0 && config.beta2 >= 0.0 &&
                 config.beta2 < 1.0 && config.eps > 0.0 && config.weight_decay >= 0.0,
             "Adam", tr("invalid hyper-parameters (need lr > 0, 0 <= betas < 1, eps > 0, weight_decay >= 0)"));
  const Device d = params.flat().device();
  m_ = Tensor::zeros({params.numel()}, d);
  v_ = Tensor::zeros({params.numel()}, d);
}

void Adam::step() {
  const Tensor& p = params_.flat();
  UNET_CHECK(p.device() == m_.device(), "Adam::step",
             tr("parameters moved to another device after the optimizer was made"));
  ++steps_;
  // Bytes: parameters, gradients and both moments read, parameters and moments written.
  ScopedOpTimer timer(p.device(), [&] { return "adam (" + std::to_string(p.numel()) + " parameters)"; }, false, 0.0,
                      28.0 * static_cast<double>(p.numel()));
  kernels::adam_step(p.device(), p.numel(), config_, steps_, p.data(), params_.flat_grad().data(), m_.data(), v_.data());
}

}  // namespace unet
