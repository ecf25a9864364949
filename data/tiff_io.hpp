// TIFF through libtiff. Reads what the Kaggle LGG set and common tools produce: 8-bit RGB
// (contiguous or planar), 8- and 16-bit grayscale (min-is-black or min-is-white),
// uncompressed / LZW / Deflate / PackBits (any codec libtiff has), strips or tiles.
// Anything else is an unet::Error naming the file and what is not supported.
#pragma once

#include <string>

#include "data/image.hpp"

namespace unet::data {

Image read_tiff(const std::string& path);
// The same from bytes in memory; `name` is used in error messages.
Image read_tiff_memory(const std::string& bytes, const std::string& name);

enum class TiffCompression { None, Lzw, Deflate, PackBits };
TiffCompression parse_tiff_compression(const std::string& name);  // none, lzw, deflate, packbits

// Writes an 8-bit gray or RGB image (contiguous, strips). Atomic: temp file, then rename.
void write_tiff(const std::string& path, const Image8& image, TiffCompression compression = TiffCompression::None);

// A mask image to {0, 1} [height * width]: one channel (or several identical ones), with
// values all in {0, 255} or all in {0, 1}. Anything else is an error naming the file.
std::vector<uint8_t> mask_to_binary(const Image& mask, const std::string& path);

}  // namespace unet::data
