// safetensors: an 8-byte little-endian header length, a JSON header mapping each tensor
// name to {dtype, shape, data_offsets} plus a "__metadata__" map of strings, then the raw
// little-endian data. Readable by Python's safetensors and by a few lines of numpy.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace unet {

// The largest JSON header read_safetensors accepts: 16 MiB. Our U-Net checkpoints have
// headers of about 12 KB (plus ~150 bytes of history per epoch), and the largest real
// headers known (language-model shards of thousands of tensors) are a few MB. The reference
// implementation accepts up to 100 MB; this cap is smaller because what the header parses
// into takes up to ~10 times its size in memory (measured: 150 MB for 16 MiB of one-letter
// metadata), so a hostile header stays under ~200 MB while every real file has room to spare.
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = uint64_t{16} << 20;

struct RawTensor {
  std::string dtype;  // "F32" or "I64" (the ones this project writes); others are read as bytes
  std::vector<int64_t> shape;
  std::vector<unsigned char> bytes;

  static RawTensor f32(const std::vector<int64_t>& shape, const std::vector<float>& values);
  static RawTensor i64(const std::vector<int64_t>& shape, const std::vector<int64_t>& values);
  // Errors name `what` (say, the file and the tensor): another dtype, or bytes that do not
  // hold exactly the shape's elements.
  std::vector<float> as_f32(const std::string& what) const;
  std::vector<int64_t> as_i64(const std::string& what) const;
};

struct SafetensorsFile {
  std::map<std::string, RawTensor> tensors;
  std::map<std::string, std::string> metadata;

  // The metadata value of `key`; a missing key is an error naming `path` and the key.
  const std::string& metadata_value(const std::string& key, const std::string& path) const;
};

// Reads a whole file, trusting nothing in it. Errors name the file and what is wrong: a
// folder or other non-file, a read error, truncation, a header too long or not JSON, a tensor
// entry with a bad or unknown field, dtype, shape or offsets, tensors whose bytes overlap,
// duplicate names or keys, non-string metadata. Memory stays bounded: the tensors' bytes by
// the file's size (ranges may not overlap), the parsed header by kSafetensorsMaxHeaderBytes.
SafetensorsFile read_safetensors(const std::string& path);

// Atomic (base/file_io.hpp): a crash or a full disk leaves the old file or the new one.
void write_safetensors(const std::string& path, const SafetensorsFile& file);

}  // namespace unet
