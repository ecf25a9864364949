// Mutated TIFF bytes through the reader (built with AddressSanitizer and UBSan): every
// input must either decode or raise unet::Error; nothing may crash, leak or read out of
// bounds. Seeds (tests/tiff_tools/make_tiffs.py, with their expected pixels) cover strips,
// tiles, planar RGB, 16-bit and each compression. Beyond "no crash", each case below states
// a property a correct reader has and names the broken reader it would expose.
#include <doctest/doctest.h>
#include <tiffio.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/tiff_io.hpp"
#include "base/error.hpp"
#include "base/rng.hpp"
#include "tests/file_bytes.hpp"

using namespace unet;
using namespace unet::data;
namespace fs = std::filesystem;
using unet::test::read_bytes;

namespace {

// Asked of libtiff directly, not of the reader under test.
bool uncompressed(const fs::path& p) {
  TIFF* t = TIFFOpen(p.c_str(), "r");
  REQUIRE_MESSAGE(t != nullptr, "libtiff cannot open " << p);
  uint16_t compression = 0;
  TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &compression);
  TIFFClose(t);
  return compression == COMPRESSION_NONE;
}

// Samples from raw bytes as make_tiffs.py writes them: 8-bit, or 16-bit little-endian.
std::vector<uint16_t> samples_from_raw(const std::string& raw, int bits) {
  std::vector<uint16_t> v(raw.size() / static_cast<size_t>(bits / 8));
  const auto byte = [&](size_t k) {
    return static_cast<unsigned>(static_cast<unsigned char>(raw[k]));
  };
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = static_cast<uint16_t>(bits == 8 ? byte(i) : byte(2 * i) | (byte(2 * i + 1) << 8));
  return v;
}

struct Seed {
  std::string file;                      // name in UNET_TIFF_DIR
  std::string bytes;                     // the TIFF file
  std::string raw;                       // the expected samples, as bytes (see samples_from_raw)
  Image expected;                        // what the file must decode to
  size_t pixels_at = std::string::npos;  // where `raw` sits verbatim in `bytes` (uncompressed seeds), else npos
};

std::vector<Seed> load_seeds() {
  const char* dir = std::getenv("UNET_TIFF_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "UNET_TIFF_DIR is not set; ctest sets it after running make_tiffs.py");
  std::ifstream mf(std::string(dir) + "/manifest.json");
  REQUIRE_MESSAGE(mf.good(), "no manifest.json in " << dir);
  std::vector<Seed> seeds;
  for (const auto& e : nlohmann::json::parse(mf)) {
    Seed s;
    s.file = e.at("file").get<std::string>();
    s.bytes = read_bytes(fs::path(dir) / s.file);
    s.raw = read_bytes(fs::path(dir) / e.at("expect").get<std::string>());
    s.expected.height = e.at("height").get<int64_t>();
    s.expected.width = e.at("width").get<int64_t>();
    s.expected.channels = e.at("channels").get<int64_t>();
    s.expected.bits = e.at("bits").get<int>();
    s.expected.pixels = samples_from_raw(s.raw, s.expected.bits);
    // Uncompressed, contiguous, little-endian (or 8-bit) strips store the samples verbatim;
    // use the position only when it is unambiguous. (Deflate may store random bytes verbatim
    // too, under a checksum: compressed seeds are left out.)
    const size_t at = s.bytes.find(s.raw);
    if (at != std::string::npos && s.bytes.find(s.raw, at + 1) == std::string::npos &&
        uncompressed(fs::path(dir) / s.file))
      s.pixels_at = at;
    seeds.push_back(std::move(s));
  }
  REQUIRE(seeds.size() >= 20);
  return seeds;
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

// What a rejection must carry: the file's name (as the error's subject and at the start of
// the text) and, in our own words, what is wrong: not only the file name, not only libtiff's
// message (which can be empty). Three words or more.
void check_rejection(const Error& e, const std::string& name) {
  const std::string text = e.what();
  CAPTURE(text);
  CHECK(e.call() == name);
  CHECK(std::string(e.what()).rfind(name + ": ", 0) == 0);
  const std::string ours = e.message().substr(0, e.message().find("(libtiff:"));
  std::istringstream words(ours);
  int n = 0;
  for (std::string w; words >> w;) ++n;
  CHECK_MESSAGE(n >= 3, "the error does not say what is wrong: '" << e.message() << "'");
}

// Decoding either gives an image or an error, and the same one every time.
struct Outcome {
  bool decoded = false;
  Image image;
  std::string error;
};
Outcome decode(const std::string& bytes, const std::string& name) {
  Outcome o;
  try {
    o.image = read_tiff_memory(bytes, name);
    o.decoded = true;
  } catch (const Error& e) {
    check_rejection(e, name);
    o.error = e.what();
  }
  return o;
}

void check_same(const Image& a, const Image& b) {
  CHECK(a.height == b.height);
  CHECK(a.width == b.width);
  CHECK(a.channels == b.channels);
  CHECK(a.bits == b.bits);
  CHECK(a.pixels == b.pixels);
}

}  // namespace

// Catches a reader whose in-memory path (TIFFClientOpen with our read/seek callbacks) differs
// from the file path: a wrong seek origin, short reads taken as whole, byte order ignored.
TEST_CASE("every unmutated seed decodes from memory to exactly the pixels its tool was given") {
  for (const auto& s : load_seeds()) {
    CAPTURE(s.file);
    check_same(read_tiff_memory(s.bytes, s.file), s.expected);
  }
}

// Catches a reader that returns an empty image (instead of an error) when libtiff cannot
// even open the file, and one that zero-fills what a truncated file lacks.
TEST_CASE("a file cut short is rejected: below 8 bytes, and inside the pixel data") {
  int cut_in_pixels = 0;
  for (const auto& s : load_seeds()) {
    CAPTURE(s.file);
    for (size_t len = 0; len < 8; ++len) {
      CAPTURE(len);
      const std::string name = "cut" + std::to_string(len) + "_" + s.file;
      CHECK_THROWS_AS(read_tiff_memory(s.bytes.substr(0, len), name), Error);
      CHECK_FALSE(decode(s.bytes.substr(0, len), name).decoded);
    }
    if (s.pixels_at == std::string::npos) continue;
    for (size_t keep : {size_t{0}, size_t{1}, s.raw.size() / 2, s.raw.size() - 1}) {
      CAPTURE(keep);
      CHECK_FALSE(decode(s.bytes.substr(0, s.pixels_at + keep), "cut_" + s.file).decoded);
      ++cut_in_pixels;
    }
  }
  CHECK(cut_in_pixels >= 24);
}

// Catches a reader that "repairs" or caches pixels (keyed on the name or the size), or reads
// samples from a wrong offset, stride or byte order: edits confined to the stored samples of
// an uncompressed seed must come out exactly where they went in, and nowhere else.
TEST_CASE("byte edits inside the pixel data of an uncompressed seed change exactly those samples") {
  Rng rng(99);
  int seeds_used = 0;
  for (const auto& s : load_seeds()) {
    if (s.pixels_at == std::string::npos) continue;
    CAPTURE(s.file);
    ++seeds_used;
    for (int i = 0; i < 50; ++i) {
      std::string bytes = s.bytes, raw = s.raw;
      const uint32_t edits = 1 + rng.below(8);
      for (uint32_t e = 0; e < edits; ++e) {
        const size_t at = rng.below(static_cast<uint32_t>(raw.size()));
        raw[at] = bytes[s.pixels_at + at] = static_cast<char>(rng.below(256));
      }
      Image expected = s.expected;
      expected.pixels = samples_from_raw(raw, s.expected.bits);
      check_same(read_tiff_memory(bytes, s.file), expected);
    }
    // Bytes appended after the end of the file belong to no image: the pixels stay the seed's.
    check_same(read_tiff_memory(s.bytes + std::string(1 + rng.below(100), '\x5a'), s.file), s.expected);
  }
  MESSAGE(seeds_used << " uncompressed seeds edited");
  CHECK(seeds_used >= 10);  // tifffile and Pillow uncompressed, tiffcp -r 7, 8-bit big-endian
}

// The random mutations: a decoded image respects the reader's stated limits (1..16384 per
// side, 1 or 3 channels, 8 or 16 bits, samples within the bit depth); decoding the same bytes
// again gives the same image or the same error (catches state carried between calls, e.g. a
// shared error message that grows, or a reused buffer); every rejection names the file and
// says what is wrong (catches a bare "fuzz.tif" or an empty libtiff message passed through).
TEST_CASE("mutated TIFFs never crash the reader; what decodes is sane, what fails says why") {
  const auto seeds = load_seeds();
  Rng rng(1234);
  int decoded = 0, rejected = 0;
  const int per_seed = 400;
  for (const auto& seed : seeds)
    for (int i = 0; i < per_seed; ++i) {
      const std::string name = "fuzz_" + std::to_string(i) + "_" + seed.file;  // a fresh name each time
      const std::string bytes = mutate(seed.bytes, rng);
      const Outcome first = decode(bytes, name), again = decode(bytes, name);
      REQUIRE(first.decoded == again.decoded);
      if (!first.decoded) {
        CHECK(first.error == again.error);
        ++rejected;
        continue;
      }
      ++decoded;
      const Image& im = first.image;
      CAPTURE(name);
      CHECK(im.height >= 1);
      CHECK(im.height <= 16384);
      CHECK(im.width >= 1);
      CHECK(im.width <= 16384);
      CHECK((im.channels == 1 || im.channels == 3));
      CHECK((im.bits == 8 || im.bits == 16));
      REQUIRE(im.pixels.size() == static_cast<size_t>(im.height * im.width * im.channels));
      if (im.bits == 8) CHECK(std::all_of(im.pixels.begin(), im.pixels.end(), [](uint16_t v) { return v <= 255; }));
      check_same(again.image, im);
    }
  MESSAGE("decoded " << decoded << ", rejected " << rejected);
  // Both outcomes must occur: a reader that rejects everything, or accepts everything, is broken.
  CHECK(decoded > 0);
  CHECK(rejected > 0);
}
