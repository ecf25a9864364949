// Range checks for command-line options, with messages a person can read. CLI11's own
// PositiveNumber prints "Value 0 not in range 0.000000 to 1797693134862315708145...";
// these print "--epochs: must be at least 1, got 0". A failed check is a usage error
// (exit status 2), raised while parsing, before any data is loaded.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "base/i18n.hpp"

namespace unet::tools::checks {

namespace detail {
// The number in `text`, or NaN when it is not one (CLI11 then reports the conversion).
inline double number(const std::string& text) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    return used == text.size() ? v : std::nan("");
  } catch (const std::exception&) {
    return std::nan("");
  }
}
inline std::string show(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}
inline CLI::Validator bounded(const char* name, double lo, bool lo_open, double hi, bool hi_open, std::string rule) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const double v = number(text);
        if (std::isnan(v)) return trf("'{}' is not a number", text);
        const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
        return ok ? std::string() : trf("must be {}, got {}", rule, text);
      },
      "", name);
}
}  // namespace detail

// Integers and reals >= lo.
inline CLI::Validator at_least(double lo) {
  return detail::bounded("at_least", lo, false, INFINITY, false, trf("at least {}", detail::show(lo)));
}
// Reals > 0.
inline CLI::Validator positive() {
  return detail::bounded("positive", 0, true, INFINITY, false, tr("greater than 0"));
}
// Reals >= 0.
inline CLI::Validator non_negative() {
  return detail::bounded("non_negative", 0, false, INFINITY, false, tr("0 or more"));
}
// lo <= v <= hi, or lo <= v < hi with `hi_open`.
inline CLI::Validator between(double lo, double hi, bool hi_open = false) {
  return detail::bounded("between", lo, false, hi, hi_open,
                         hi_open
                             ? trf("from {} to {} ({} excluded)", detail::show(lo), detail::show(hi), detail::show(hi))
                             : trf("from {} to {}", detail::show(lo), detail::show(hi)));
}
// lo < v < hi.
inline CLI::Validator strictly_between(double lo, double hi) {
  return detail::bounded("strictly_between", lo, true, hi, true,
                         trf("between {} and {}, both excluded", detail::show(lo), detail::show(hi)));
}
// One of a fixed list of words.
inline CLI::Validator one_of(std::vector<std::string> words) {
  std::string list;
  for (const auto& w : words) list += (list.empty() ? "" : ", ") + w;
  return CLI::Validator(
      [words, list](std::string& text) -> std::string {
        for (const auto& w : words)
          if (text == w) return {};
        return trf("'{}' is not one of: {}", text, list);
      },
      "", "one_of");
}
// A multiple of 16 from 16 up: the U-Net halves the image four times.
inline CLI::Validator image_size() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const double v = detail::number(text);
        if (std::isnan(v)) return trf("'{}' is not a number", text);
        if (v < 16 || std::fmod(v, 16.0) != 0.0)
          return trf("must be a multiple of 16 (the U-Net halves the image 4 times), got {}", text);
        return {};
      },
      "", "image_size");
}

}  // namespace unet::tools::checks
