// The CPU half of whole-model GPU/CPU parity (tests/model_parity.hpp), on a model small enough
// for CI: the derived bounds are tight enough to catch the defects a GPU port makes (a gradient
// off by 0.1%, one weight wrong, running statistics not updated) and loose enough for a run that
// differs only in rounding (the perturbed run itself passes).
#include <doctest/doctest.h>

#include "tests/model_parity.hpp"

using namespace unet;
using namespace unet::test;

namespace {
bool all_ok(const std::vector<TraceComparison>& c) {
  for (const auto& x : c)
    if (!x.ok()) return false;
  return true;
}
bool only_fails(const std::vector<TraceComparison>& c, const std::string& name) {
  for (const auto& x : c)
    if (x.ok() == (x.name == name)) return false;
  return true;
}
}  // namespace

TEST_CASE("whole-model parity bounds: a rounding-sized difference passes, real defects fail") {
  UNetConfig cfg = UNetConfig::for_base(32);
  cfg.base = 4;  // the reference layout, small: 4 levels at 32 x 32, batch 3 (an odd batch)
  const ModelTrace want = trace_model(cfg, Device::CPU, 3, 32, 7);
  const ModelTrace sensitivity = trace_model(cfg, Device::CPU, 3, 32, 7, true);
  // The perturbed run differs, but only at float32's scale.
  for (const auto& c : compare_traces(sensitivity, want, sensitivity)) {
    INFO(c.name, ": nmse ", c.error, ", bound ", c.bound);
    CHECK(c.error < 1e-10);  // one ulp in, about one ulp out: far below any defect
    CHECK(c.ok());
  }
  CHECK(trace_nmse(sensitivity.logits, want.logits) > 0.0);  // the perturbation reached the model
  {  // gradients 0.1% too large: what a wrong scale in a backward kernel gives
    ModelTrace bad = want;
    for (auto& g : bad.gradients) g *= 1.001f;
    CHECK(only_fails(compare_traces(bad, want, sensitivity), "gradients of step 1"));
  }
  {  // one weight in a thousand off by 1%
    ModelTrace bad = want;
    for (size_t i = 0; i < bad.weights.size(); i += 1000) bad.weights[i] *= 1.01f;
    CHECK(only_fails(compare_traces(bad, want, sensitivity), "weights after 3 Adam steps"));
  }
  {  // running statistics left at their initial values (BN inference never updated)
    ModelTrace bad = want;
    UNet fresh(cfg, Device::CPU, 7);
    bad.buffers = fresh.buffers().flat().to_vector();
    CHECK(only_fails(compare_traces(bad, want, sensitivity), "BatchNorm running statistics"));
  }
  CHECK(all_ok(compare_traces(want, want, sensitivity)));
}
