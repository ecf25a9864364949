// Adam over a model's flat parameter buffer: one fused kernel per step for all parameters.
#pragma once

#include <cstdint>

#include "kernels/adam_step.hpp"
#include "layers/modules.hpp"

namespace unet {

using kernels::AdamConfig;  // lr, betas, eps, weight decay: one definition, beside the kernel

class Adam {
 public:
  // `params` must stay materialized on the same device for the optimizer's lifetime.
  Adam(FlatTensorSet& params, const AdamConfig& config);
  void step();  // uses the gradients in params.flat_grad()
  void set_lr(double lr) { config_.lr = lr; }
  const AdamConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }

  // State for checkpoints: first and second moments [numel] and the step count.
  Tensor& exp_avg() { return m_; }
  Tensor& exp_avg_sq() { return v_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  FlatTensorSet& params_;
  AdamConfig config_;
  Tensor m_, v_;
  int64_t steps_ = 0;
};

}  // namespace unet
