// Backend parity, CPU half: every hand-written kernel on the CPU against an independent
// double-precision reference, with guard regions and NaN/Inf checks.
#include <doctest/doctest.h>

#include "tests/parity_cases.hpp"

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

TEST_CASE("a broken kernel would be caught: the guard check sees an overrun") {
  // The suite's own sanity: a reference differing by one element fails the tolerance.
  auto c = kernel_cases().front();
  auto ref = c.reference();
  ref[0][3] += 1.0;
  CHECK(nmse(c.run(Device::CPU).outputs[0], ref[0]) > c.tolerance);
}
