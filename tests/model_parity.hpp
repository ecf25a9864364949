// Whole-model parity: the U-Net trained for 3 Adam steps on one device, everything a training
// run and an inference depend on recorded, so that a GPU run can be held against the CPU's.
// Tolerances are derived at run time, as the PyTorch golden test derives its own: a second CPU
// run with every input moved by one float32 step (one ulp) shows how far this model and
// data carry a rounding-sized difference; a GPU, which orders every sum differently, may differ
// by a fixed factor of that, never more (the factor and its reason: model_parity.cpp).
#pragma once

#include <string>
#include <vector>

#include "base/device.hpp"
#include "unet/unet_model.hpp"

namespace unet::test {

struct ModelTrace {
  std::vector<float> logits;       // first forward, training mode  [N, 1, S, S]
  std::vector<float> losses;       // BCE+Dice of the 3 steps, before each update
  std::vector<float> gradients;    // the flat gradient of step 1
  std::vector<float> weights;      // the flat parameters after 3 Adam steps
  std::vector<float> buffers;      // BatchNorm running mean / var after 3 steps
  std::vector<float> eval_logits;  // eval-mode forward after the 3 steps
};

// The model of `config` initialised from `seed` on `device`, a seeded batch of `batch` x 3 x
// size x size with disc masks; with `one_ulp_up` every input value moved to the next float up.
ModelTrace trace_model(const UNetConfig& config, Device device, int64_t batch, int64_t size, uint64_t seed,
                       bool one_ulp_up = false);

// One compared quantity: its name, the error (nmse) and the bound.
struct TraceComparison {
  std::string name;
  double error = 0.0, bound = 0.0;
  bool ok() const { return error <= bound; }
};

// Compares `got` with `want`; each bound is kFactor x the nmse between `want` and `sensitivity`
// (the perturbed run), and never below kFloor.
std::vector<TraceComparison> compare_traces(const ModelTrace& got, const ModelTrace& want,
                                            const ModelTrace& sensitivity);

// nmse of float vectors (0 when both are zero).
double trace_nmse(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace unet::test
