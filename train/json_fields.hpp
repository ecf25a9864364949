// Reading a struct bound with nlohmann's NLOHMANN_DEFINE_TYPE_* macros from stored JSON,
// strictly and with errors that name the field: nlohmann alone says "type must be number,
// but is string" without saying where, turns 2.5 into 2 and 4294967296 into an int's 0.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace detail {
// Why `stored` cannot stand where `expected` (a default value) stands; empty when it can.
inline std::string json_mismatch(const nlohmann::json& stored, const nlohmann::json& expected) {
  using nlohmann::json;
  if (expected.is_number_integer() || expected.is_number_unsigned())
    return stored.is_number_integer() || stored.is_number_unsigned() ? std::string() : tr(", not a whole number");
  if (expected.is_number_float()) return stored.is_number() ? std::string() : tr(", not a number");
  if (expected.is_boolean()) return stored.is_boolean() ? std::string() : tr(", not true or false");
  if (expected.is_string()) return stored.is_string() ? std::string() : tr(", not a string");
  if (expected.is_array()) return stored.is_array() ? std::string() : tr(" is not a list");
  return "";
}
}  // namespace detail

// Parses stored JSON text; errors name `where` and `what`.
inline nlohmann::json parse_stored_json(const std::string& text, const std::string& where, const std::string& what) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    UNET_THROW(where, trf("{} is not JSON: {}", what, e.what()));
  }
}

// Reads `j` as a T, checking each field against the type of T{}'s field and that every
// value survives the round trip; with `strict`, a field missing from `j` is an error too
// (otherwise it keeps its default). Errors: "<where>: <what>.<field> is <value>, not a number".
template <class T>
T read_fields(const nlohmann::json& j, const std::string& where, const std::string& what, bool strict) {
  UNET_CHECK(j.is_object(), where, trf("{} is not a JSON object", what));
  const nlohmann::json defaults = T{};
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    const std::string field = what + "." + it.key();
    if (!j.contains(it.key())) {
      UNET_CHECK(!strict, where, trf("{} is missing", field));
      continue;
    }
    const std::string why = detail::json_mismatch(j.at(it.key()), it.value());
    UNET_CHECK(why.empty(), where, why[0] == ',' ? trf("{} is {}{}", field, j.at(it.key()).dump(), why) : field + why);
  }
  T out;
  try {
    out = j.get<T>();
  } catch (const nlohmann::json::exception& e) {
    UNET_THROW(where, trf("bad {}: {}", what, e.what()));
  }
  const nlohmann::json back = out;
  for (auto it = back.begin(); it != back.end(); ++it)
    if (j.contains(it.key()) && j.at(it.key()).is_number() && j.at(it.key()) != it.value())
      UNET_THROW(where, trf("{}.{} is {}, out of range", what, it.key(), j.at(it.key()).dump()));
  return out;
}

template <class T>
T read_fields(const std::string& text, const std::string& where, const std::string& what, bool strict) {
  return read_fields<T>(parse_stored_json(text, where, what), where, what, strict);
}

}  // namespace unet
