// Random initialisation from the counter-based generator: element i of a tensor takes draw
// (offset + i) of the seed's stream, so CPU and GPU produce identical weights.
#pragma once

#include <cstdint>

#include "base/hd.hpp"
#include "base/rng.hpp"

namespace unet::kernels {

// y[i] ~ U[lo, hi). PyTorch's default Conv2d / ConvTranspose2d init (kaiming_uniform_ with
// a = sqrt(5)) is U[-1/sqrt(fan_in), 1/sqrt(fan_in)] for weights and for biases.
struct UniformInitOp {
  float lo, hi;
  uint64_t seed, offset;
  float* y;
  UNET_HD void operator()(int64_t i) const {
    y[i] = lo + (hi - lo) * bits_to_unit_float(philox_bits(seed, offset + static_cast<uint64_t>(i)));
  }
};

}  // namespace unet::kernels
