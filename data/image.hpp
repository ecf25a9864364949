// A decoded image on the host: height x width x channels, interleaved (HWC), 8- or 16-bit
// samples held as uint16 so one type carries both.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unet::data {

struct Image {
  int64_t height = 0, width = 0, channels = 0;
  int bits = 8;                 // 8 or 16: the range of the samples
  std::vector<uint16_t> pixels; // [height, width, channels]

  uint16_t at(int64_t y, int64_t x, int64_t c) const {
    return pixels[static_cast<size_t>((y * width + x) * channels + c)];
  }
};

// 8-bit image for writing: [height, width, channels], channels 1 or 3.
struct Image8 {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

}  // namespace unet::data
