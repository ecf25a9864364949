// Mutated TIFF bytes through the reader (built with AddressSanitizer and UBSan): every
// input must either decode or raise unet::Error; nothing may crash, leak or read out of
// bounds. Seeds cover strips, tiles, planar RGB, 16-bit and each compression.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "data/tiff_io.hpp"
#include "base/error.hpp"
#include "base/rng.hpp"

using namespace unet;
using namespace unet::data;
namespace fs = std::filesystem;

namespace {
std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string mutate(const std::string& seed, Rng& rng) {
  std::string s = seed;
  const uint32_t kind = rng.below(4);
  const uint32_t edits = 1 + rng.below(8);
  for (uint32_t e = 0; e < edits && !s.empty(); ++e) {
    const size_t at = rng.below(static_cast<uint32_t>(s.size()));
    switch (kind) {
      case 0: s[at] = static_cast<char>(rng.below(256)); break;                            // byte flip
      case 1: s[at] = static_cast<char>(s[at] ^ (1 << rng.below(8))); break;               // bit flip
      case 2: s.resize(at); break;                                                          // truncation
      default: s.insert(at, std::string(1 + rng.below(16), static_cast<char>(rng.below(256))));  // insertion
    }
  }
  // Header and IFD bytes matter most: hit the first 256 bytes more often.
  if (rng.below(2) && s.size() > 8) s[8 + rng.below(static_cast<uint32_t>(std::min<size_t>(248, s.size() - 8)))] ^= static_cast<char>(1 + rng.below(255));
  return s;
}
}  // namespace

TEST_CASE("mutated TIFFs never crash the reader") {
  const char* dir = std::getenv("UNET_TIFF_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "UNET_TIFF_DIR is not set");
  std::vector<std::string> seeds;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".tif") seeds.push_back(read_bytes(e.path()));
  REQUIRE(seeds.size() >= 20);
  Rng rng(1234);
  int decoded = 0, rejected = 0;
  const int per_seed = 400;
  for (const auto& seed : seeds)
    for (int i = 0; i < per_seed; ++i) {
      try {
        const Image im = read_tiff_memory(mutate(seed, rng), "fuzz.tif");
        CHECK(im.pixels.size() == static_cast<size_t>(im.height * im.width * im.channels));
        ++decoded;
      } catch (const Error& e) {
        CHECK(std::string(e.what()).find("fuzz.tif") != std::string::npos);
        ++rejected;
      }
    }
  MESSAGE("decoded " << decoded << ", rejected " << rejected);
  CHECK(decoded + rejected == static_cast<int>(seeds.size()) * per_seed);
  CHECK(rejected > 0);
}
