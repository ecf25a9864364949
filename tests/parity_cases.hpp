// The backend parity suite, in the style of ggml's test-backend-ops: every op runs on a
// backend with the same seeded inputs; outputs are written between guard regions filled
// with a sentinel, which must come back untouched, and NaN/Inf is rejected.
// Kernel cases also carry an independent double-precision reference (plain loops).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/device.hpp"
#include "engine/tensor.hpp"

namespace unet::test {

// An output buffer of n floats on device d with kGuard sentinel floats on each side. Kernels
// write through ptr(); take() returns the payload and clears `ok` when a guard was written.
class Guarded {
 public:
  static constexpr int64_t kGuard = 64;
  static constexpr float kSentinel = -7.77e30f;  // a value no kernel here produces

  Guarded(int64_t n, Device d);
  Guarded(const std::vector<float>& init, Device d);
  float* ptr() const;
  std::vector<float> take(bool& ok) const;

 private:
  int64_t n_;
  Tensor t_;
};

struct ParityResult {
  std::vector<std::vector<float>> outputs;
  bool guards_intact = true;
};

struct ParityCase {
  std::string name;
  std::function<ParityResult(Device)> run;
  std::function<std::vector<std::vector<double>>()> reference;  // empty for library-backed layers
  double tolerance;  // normalised squared error (ggml's nmse) allowed against the reference / CPU
};

std::vector<ParityCase> kernel_cases();
std::vector<ParityCase> layer_cases();
// The multi-class segmentation kernels and losses (tests/parity_cases_multiclass.cpp), added
// to the two lists above.
void add_multiclass_kernel_cases(std::vector<ParityCase>& cases);
void add_multiclass_layer_cases(std::vector<ParityCase>& cases);

// sum (a - b)^2 / sum b^2
double nmse(const std::vector<float>& a, const std::vector<double>& b);

}  // namespace unet::test
