// Image noise for the synthetic data sets: millions of draws per patient, so a cheap
// generator (SplitMix64) seeded from the patient's Philox stream, and an Irwin-Hall
// approximation of a unit normal (sum of four uniforms, variance matched): plenty for noise.
#pragma once

#include <cstdint>

namespace unet::data {

class ImageNoise {
 public:
  explicit ImageNoise(uint64_t seed) : state_(seed) {}
  float gaussian() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    float sum = 0.0f;
    for (int k = 0; k < 4; ++k) sum += static_cast<float>((z >> (16 * k)) & 0xFFFF) * (1.0f / 65536.0f);
    return (sum - 2.0f) * 1.7320508f;  // the sum of 4 U(0,1) has variance 1/3
  }

 private:
  uint64_t state_;
};

}  // namespace unet::data
