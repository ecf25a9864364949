// FNV-1a, 64 bit: a stable hash (the same on every machine and run) for names and cache keys,
// not for security.
#pragma once

#include <cstdint>
#include <string_view>

namespace unet {

class Fnv1a64 {
 public:
  Fnv1a64& add(std::string_view bytes) {
    for (unsigned char c : bytes) {
      h_ ^= c;
      h_ *= 1099511628211ull;  // the FNV prime
    }
    return *this;
  }
  // A field of a composite key: its length first, so ("ab", "c") and ("a", "bc") differ.
  Fnv1a64& field(std::string_view bytes) {
    const uint64_t n = bytes.size();
    add(std::string_view(reinterpret_cast<const char*>(&n), sizeof n));
    return add(bytes);
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 14695981039346656037ull;  // the FNV offset basis
};

}  // namespace unet
