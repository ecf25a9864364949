// Runs a callable that must throw unet::Error, and checks that the message contains every
// given part (the file, the field, the defect). A miss is reported and the test goes on.
#pragma once

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "base/error.hpp"

namespace unet::test {

template <class F>
void check_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    FAIL_CHECK("expected an error");  // not fatal: the other cases of the test still run
  } catch (const Error& e) {
    const std::string what = e.what();
    for (const auto& p : parts) {
      CAPTURE(what);
      CAPTURE(p);
      CHECK(what.find(p) != std::string::npos);
    }
  }
}

}  // namespace unet::test
