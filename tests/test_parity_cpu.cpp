// Backend parity, CPU half: every hand-written kernel on the CPU against an independent
// double-precision reference, with guard regions and NaN/Inf checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "engine/tensor.hpp"
#include "kernels/kernels.hpp"
#include "tests/parity_cases.hpp"
#include "tests/test_util.hpp"

using namespace unet;
using namespace unet::test;

TEST_CASE("CPU kernels match the double-precision reference, guards intact") {
  const auto cases = kernel_cases();
  REQUIRE(cases.size() > 20);
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const ParityResult r = c.run(Device::CPU);
    CHECK(r.guards_intact);
    const auto ref = c.reference();
    REQUIRE(r.outputs.size() == ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      CAPTURE(i);
      const double err = nmse(r.outputs[i], ref[i]);
      CAPTURE(err);
      CHECK(err <= c.tolerance);
    }
  }
}

// The suite's own sanity: the checks above must be able to fail.

TEST_CASE("the guard check catches a kernel that writes one element outside its output") {
  for (int64_t n : {int64_t{100003}, int64_t{7}}) {  // the OpenMP path and the serial one
    CAPTURE(n);
    bool untouched = true, overrun = true, underrun = true;
    Guarded exact(n, Device::CPU), past_end(n, Device::CPU), before_start(n, Device::CPU);
    // A correct launch leaves both guards alone...
    kernels::fill(Device::CPU, n, 0.25f, exact.ptr());
    exact.take(untouched);
    CHECK(untouched);
    // ...one element too many, through the same kernel and pointer, is seen...
    kernels::fill(Device::CPU, n + 1, 0.25f, past_end.ptr());
    const auto payload = past_end.take(overrun);
    CHECK_FALSE(overrun);
    CHECK(payload == std::vector<float>(static_cast<size_t>(n), 0.25f));  // the payload itself looks right
    // ...and so is a write one element before the start (an off-by-one offset).
    Tensor x = Tensor::full({n + 1}, 2.0f);
    kernels::scale(Device::CPU, n + 1, 3.0f, x.data(), before_start.ptr() - 1);
    before_start.take(underrun);
    CHECK_FALSE(underrun);
  }
}

TEST_CASE("the comparison catches a NaN, an infinity and one slightly wrong element") {
  const auto cases = kernel_cases();
  const auto it =
      std::find_if(cases.begin(), cases.end(), [](const ParityCase& c) { return c.name == "add n=100003"; });
  REQUIRE(it != cases.end());
  const ParityResult r = it->run(Device::CPU);
  const auto ref = it->reference();
  REQUIRE(r.guards_intact);
  CHECK(nmse(r.outputs[0], ref[0]) <= it->tolerance);  // the real output passes
  for (float bad : {NAN, INFINITY}) {
    auto out = r.outputs[0];
    out[12345] = bad;
    CAPTURE(bad);
    CHECK(nmse(out, ref[0]) > it->tolerance);
  }
  // One element of 100003 off by 1e-3: nmse = 1e-6 / sum(y^2) (~6.7e4) = 1.5e-11, above the
  // 1e-12 tolerance, so even a single small slip is seen.
  auto out = r.outputs[0];
  out[12345] += 1e-3f;
  CHECK(nmse(out, ref[0]) > it->tolerance);
  // A length mismatch (an output one element short) fails too.
  out = r.outputs[0];
  out.pop_back();
  CHECK(nmse(out, ref[0]) > it->tolerance);
}

TEST_CASE("every layer case runs on the CPU: finite outputs, guards intact, the same twice") {
  // The CUDA half compares these against the GPU; here the CPU half itself must be sound, so a
  // GPU owner's first run cannot fail on a case that never ran anywhere.
  const auto cases = layer_cases();
  REQUIRE(cases.size() >= 10);
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const ParityResult a = c.run(Device::CPU), b = c.run(Device::CPU);
    CHECK(a.guards_intact);
    REQUIRE(!a.outputs.empty());
    for (const auto& out : a.outputs) {
      CHECK(!out.empty());
      CHECK(std::all_of(out.begin(), out.end(), [](float v) { return std::isfinite(v); }));
    }
    CHECK(a.outputs == b.outputs);  // same seeds, same CPU code: bit-identical
  }
  // The running statistics really move: after the update they differ from their start values.
  const auto it = std::find_if(cases.begin(), cases.end(),
                               [](const ParityCase& c) { return c.name.rfind("batch_norm train: running", 0) == 0; });
  REQUIRE(it != cases.end());
  const ParityResult r = it->run(Device::CPU);
  REQUIRE(r.outputs.size() == 3);
  CHECK(r.outputs[1] != random_tensor({32}, 36, -0.5f, 0.5f, Device::CPU).to_vector());
}
