// TIFFs written by tifffile, Pillow and tiffcp (tests/tiff_tools/make_tiffs.py, run by ctest
// into UNET_TIFF_DIR) decode to exactly the pixels those tools were given.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data/tiff_io.hpp"

using namespace unet::data;

TEST_CASE("every TIFF from tifffile, Pillow and tiffcp decodes to the expected pixels") {
  const char* dir = std::getenv("UNET_TIFF_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "UNET_TIFF_DIR is not set; ctest sets it after running make_tiffs.py");
  std::ifstream mf(std::string(dir) + "/manifest.json");
  REQUIRE(mf.good());
  const auto manifest = nlohmann::json::parse(mf);
  REQUIRE(manifest.size() >= 40);
  for (const auto& e : manifest) {
    const std::string file = e.at("file").get<std::string>();
    CAPTURE(file);
    const Image im = read_tiff(std::string(dir) + "/" + file);
    CHECK(im.height == e.at("height").get<int64_t>());
    CHECK(im.width == e.at("width").get<int64_t>());
    CHECK(im.channels == e.at("channels").get<int64_t>());
    CHECK(im.bits == e.at("bits").get<int>());
    std::ifstream raw(std::string(dir) + "/" + e.at("expect").get<std::string>(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
    std::vector<uint16_t> expected(im.pixels.size());
    REQUIRE(bytes.size() == expected.size() * static_cast<size_t>(im.bits / 8));
    for (size_t i = 0; i < expected.size(); ++i) {
      if (im.bits == 8) {
        expected[i] = static_cast<unsigned char>(bytes[i]);
      } else {
        expected[i] = static_cast<uint16_t>(static_cast<unsigned char>(bytes[2 * i]) |
                                            (static_cast<unsigned char>(bytes[2 * i + 1]) << 8));
      }
    }
    CHECK(im.pixels == expected);
  }
}
