#include "engine/safetensors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/file_io.hpp"

namespace unet {

namespace {

std::size_t dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string sys_error() { return std::strerror(errno); }

}  // namespace

RawTensor RawTensor::f32(const std::vector<int64_t>& shape, const std::vector<float>& values) {
  RawTensor t{"F32", shape, {}};
  t.bytes.resize(values.size() * sizeof(float));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());  // x86 and ARM hosts are little-endian
  return t;
}

RawTensor RawTensor::i64(const std::vector<int64_t>& shape, const std::vector<int64_t>& values) {
  RawTensor t{"I64", shape, {}};
  t.bytes.resize(values.size() * sizeof(int64_t));
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

std::vector<float> RawTensor::as_f32(const std::string& what) const {
  UNET_CHECK(dtype == "F32", what, "dtype is " + dtype + ", expected F32");
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

std::vector<int64_t> RawTensor::as_i64(const std::string& what) const {
  UNET_CHECK(dtype == "I64", what, "dtype is " + dtype + ", expected I64");
  std::vector<int64_t> out(bytes.size() / sizeof(int64_t));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(int64_t));
  return out;
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  UNET_CHECK(in.good(), path, "cannot open for reading: " + sys_error());
  in.seekg(0, std::ios::end);
  const auto file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  UNET_CHECK(file_size >= 8, path, "not a safetensors file: " + std::to_string(file_size) + " bytes, shorter than the 8-byte header length");
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  UNET_CHECK(header_len <= file_size - 8, path,
             "truncated or not a safetensors file: header length " + std::to_string(header_len) +
                 " exceeds the file size " + std::to_string(file_size));
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  const uint64_t data_size = file_size - 8 - header_len;

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const nlohmann::json::exception& e) {
    UNET_THROW(path, std::string("bad safetensors header (not JSON): ") + e.what());
  }
  UNET_CHECK(j.is_object(), path, "bad safetensors header: not a JSON object");

  SafetensorsFile out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      UNET_CHECK(v.is_object(), path, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        UNET_CHECK(m.value().is_string(), path, "__metadata__." + m.key() + " is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + " tensor '" + name + "'";
    try {
      RawTensor t;
      t.dtype = v.at("dtype").get<std::string>();
      t.shape = v.at("shape").get<std::vector<int64_t>>();
      const auto offsets = v.at("data_offsets").get<std::vector<uint64_t>>();
      UNET_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1], where, "data_offsets must be [begin, end]");
      UNET_CHECK(offsets[1] <= data_size, where,
                 "data ends at byte " + std::to_string(offsets[1]) + " but the file holds " +
                     std::to_string(data_size) + " data bytes (truncated file?)");
      const std::size_t elem = dtype_size(t.dtype);
      UNET_CHECK(elem != 0, where, "unknown dtype " + t.dtype);
      for (int64_t d : t.shape) UNET_CHECK(d >= 0, where, "negative dimension");
      UNET_CHECK(static_cast<uint64_t>(numel_of(t.shape)) * elem == offsets[1] - offsets[0], where,
                 "shape and data size disagree");
      t.bytes.resize(offsets[1] - offsets[0]);
      in.seekg(static_cast<std::streamoff>(8 + header_len + offsets[0]));
      in.read(reinterpret_cast<char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
      UNET_CHECK(in.good(), where, "read failed");
      out.tensors.emplace(name, std::move(t));
    } catch (const nlohmann::json::exception& e) {
      UNET_THROW(where, std::string("bad header entry: ") + e.what());
    }
  }
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    UNET_CHECK(name != "__metadata__", path, "a tensor may not be named __metadata__");
    UNET_CHECK(static_cast<uint64_t>(numel_of(t.shape)) * dtype_size(t.dtype) == t.bytes.size(), path,
               "tensor '" + name + "': shape and data size disagree");
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // the format pads the header to 8 bytes
  std::string bytes;
  bytes.reserve(8 + h.size() + offset);
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((h.size() >> (8 * i)) & 0xff));
  bytes += h;
  for (const auto& [name, t] : file.tensors) bytes.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  write_file_atomic(path, bytes);
}

}  // namespace unet
