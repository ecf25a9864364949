// An animated GIF of a predicted volume through giflib (libgif-dev): one frame per slice, the
// image in grey and the predicted tumour tinted red, looping, as the reference program shows
// its predictions. A fixed 256-colour palette: indices 0..127 grey, 128..255 the same greys
// tinted, so a frame's tumour pixels are exactly those with an index >= 128.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unet::tools {

constexpr int kGifTumourIndex = 128;  // palette indices from here on are tumour

// grey[k], mask[k]: slice k, h x w (grey 0..255, mask 0/1). Written atomically; errors name
// the file and carry giflib's message. delay in 1/100 s per frame.
void write_mask_gif(const std::string& path, int h, int w, const std::vector<std::vector<uint8_t>>& grey,
                    const std::vector<std::vector<uint8_t>>& mask, int delay_centiseconds = 12);

// Grey of an 8-bit RGB image (the mean of the three channels), for write_mask_gif.
std::vector<uint8_t> grey_of_rgb(const std::vector<uint8_t>& rgb);

}  // namespace unet::tools
