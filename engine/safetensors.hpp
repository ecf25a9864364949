// safetensors: an 8-byte little-endian header length, a JSON header mapping each tensor
// name to {dtype, shape, data_offsets} plus a "__metadata__" map of strings, then the raw
// little-endian data. Readable by Python's safetensors and by a few lines of numpy.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace unet {

struct RawTensor {
  std::string dtype;  // "F32" or "I64" (the ones this project writes); others are read as bytes
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  static RawTensor f32(const std::vector<int64_t>& shape, const std::vector<float>& values);
  static RawTensor i64(const std::vector<int64_t>& shape, const std::vector<int64_t>& values);
  std::vector<float> as_f32(const std::string& what) const;    // errors name `what`
  std::vector<int64_t> as_i64(const std::string& what) const;
};

struct SafetensorsFile {
  std::map<std::string, RawTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Errors name the file and what is wrong (truncated, bad header, offsets out of range...).
SafetensorsFile read_safetensors(const std::string& path);

// Atomic (base/file_io.hpp): a crash or a full disk leaves the old file or the new one.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

}  // namespace unet
