// The animated GIF of `unet predict --gif` (tools/mask_gif.hpp), decoded back with giflib frame
// by frame: tumour palette indices exactly where the mask is 1, the grey level elsewhere, one
// frame per slice, the loop extension and the frame delay.
#include <doctest/doctest.h>

#include <gif_lib.h>

#include <cstring>
#include <filesystem>
#include <random>

#include "base/error.hpp"
#include "tools/mask_gif.hpp"

using namespace unet;
using namespace unet::tools;
namespace fs = std::filesystem;

TEST_CASE("a predicted volume as a GIF: every frame decodes to its slice and mask") {
  const int h = 23, w = 31, slices = 5;
  std::mt19937 rng(3);
  std::vector<std::vector<uint8_t>> grey(slices), mask(slices);
  for (int k = 0; k < slices; ++k) {
    grey[k].resize(h * w), mask[k].resize(h * w);
    for (int i = 0; i < h * w; ++i) grey[k][i] = static_cast<uint8_t>(rng() % 256), mask[k][i] = rng() % 5 == 0;
  }
  const fs::path path = fs::temp_directory_path() / "unet_mask_gif_test.gif";
  write_mask_gif(path.string(), h, w, grey, mask, 20);
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.string().c_str(), &error);
  REQUIRE_MESSAGE(gif != nullptr, GifErrorString(error));
  REQUIRE(DGifSlurp(gif) == GIF_OK);
  CHECK(gif->SWidth == w);
  CHECK(gif->SHeight == h);
  REQUIRE(gif->ImageCount == slices);
  bool loops = false;
  for (int e = 0; e < gif->SavedImages[0].ExtensionBlockCount; ++e) {
    const ExtensionBlock& b = gif->SavedImages[0].ExtensionBlocks[e];
    loops = loops || (b.ByteCount == 11 && std::memcmp(b.Bytes, "NETSCAPE2.0", 11) == 0);
  }
  CHECK(loops);
  for (int k = 0; k < slices; ++k) {
    GraphicsControlBlock gcb{};
    REQUIRE(DGifSavedExtensionToGCB(gif, k, &gcb) == GIF_OK);
    CHECK(gcb.DelayTime == 20);
    const SavedImage& im = gif->SavedImages[k];
    REQUIRE(im.ImageDesc.Width == w);
    REQUIRE(im.ImageDesc.Height == h);
    int wrong = 0;
    for (int i = 0; i < h * w; ++i) {
      const int index = im.RasterBits[i];
      wrong += (index >= kGifTumourIndex) != (mask[k][i] == 1);
      wrong += (index % kGifTumourIndex) != grey[k][i] / 2;
    }
    CHECK_MESSAGE(wrong == 0, "frame ", k + 1, ": ", wrong, " pixels differ");
  }
  DGifCloseFile(gif, &error);
  fs::remove(path);
  CHECK_THROWS_AS(write_mask_gif(path.string(), h, w, grey, {}, 10), Error);  // masks missing: refused
}
