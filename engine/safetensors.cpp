#include "engine/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/file_io.hpp"
#include "base/i18n.hpp"

namespace unet {

namespace {

std::size_t dtype_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E5M2" || dtype == "F8_E4M3") return 1;
  return 0;
}

// The byte size of `shape` elements of `elem` bytes; false when it does not fit in 64 bits
// (a hostile shape such as [2^40, 2^40] must not wrap around to a small, plausible size).
bool checked_byte_size(const std::vector<int64_t>& shape, std::size_t elem, uint64_t& bytes) {
  uint64_t n = elem;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  bytes = n;
  return true;
}

std::string sys_error() { return std::strerror(errno); }

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// A name from the file, for a message: at most 80 characters, control characters as '?'
// (a hostile header may hold megabytes of anything).
std::string printable(const std::string& name) {
  std::string out;
  for (char c : name.substr(0, 80)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  return name.size() > 80 ? out + "..." : out;
}

// A JSON value, for a message, at most 60 characters.
std::string excerpt(const nlohmann::json& v) {
  const std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads exactly `n` bytes at `offset`, or throws naming the file and `what` was being read.
void read_exactly(int fd, void* dst, uint64_t n, uint64_t offset, const std::string& path, const std::string& what) {
  auto* p = static_cast<unsigned char*>(dst);
  uint64_t done = 0;
  while (done < n) {
    const std::size_t chunk = static_cast<std::size_t>(std::min<uint64_t>(n - done, std::size_t{1} << 30));
    const ssize_t got = ::pread(fd, p + done, chunk, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    UNET_CHECK(got >= 0, path,
               trf("read error in {} at byte {}: {}", what, std::to_string(offset + done), sys_error()));
    UNET_CHECK(got > 0, path,
               trf("the file ended at byte {} while reading {} (did it change while being read?)",
                   std::to_string(offset + done), what));
    done += static_cast<uint64_t>(got);
  }
}

// One tensor entry of the header, as the parser fills it in.
struct HeaderEntry {
  RawTensor tensor;               // dtype and shape; the bytes are read once every entry is sound
  std::vector<uint64_t> offsets;  // data_offsets: [begin, end] of the data, checked to be two
  unsigned fields = 0;            // one bit per field seen: dtype, shape, data_offsets
};

// Reads the JSON header event by event (nlohmann's SAX interface) straight into tensor
// entries and metadata, stopping at the first defect. No JSON tree is built: the tree of a
// hostile 16 MiB header took 280 to 390 MB, and the parser's filtering callback (the other
// way to see duplicate keys) is quadratic in a list's length (12 minutes for a list of
// 5.6 million {}). Here memory stays under ~10 times the header's size.
class HeaderReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::map<std::string, HeaderEntry> entries;
  std::map<std::string, std::string> metadata;
  std::string defect;  // the first thing found wrong; empty when none

  bool complete() const { return place_ == Place::Done; }

  bool null() override { return value(nlohmann::json(nullptr)); }
  bool boolean(bool v) override { return value(nlohmann::json(v)); }
  bool number_integer(number_integer_t v) override { return value(nlohmann::json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return value(nlohmann::json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return value(nlohmann::json(v)); }
  bool string(string_t& v) override { return value(nlohmann::json(v)); }
  bool binary(binary_t&) override { return misplaced(tr("binary data")); }

  bool start_object(std::size_t) override {
    if (place_ == Place::Before) {
      place_ = Place::Top;
      return true;
    }
    if (place_ != Place::Top) return misplaced(tr("an object"));
    if (key_ == "__metadata__") {
      place_ = Place::Metadata;
      return true;
    }
    // JSON readers keep the last of two equal keys and drop the first silently; which
    // tensor is meant is ambiguous, so a duplicate name is refused.
    const auto [it, fresh] = entries.try_emplace(key_);
    if (!fresh) return fail(trf("the header lists '{}' twice (which one is meant?)", printable(key_)));
    entry_ = &it->second;
    entry_name_ = key_;
    place_ = Place::Entry;
    return true;
  }

  bool key(string_t& k) override {
    if (place_ == Place::Top && k == "__metadata__" && metadata_seen_)
      return fail(tr("the header lists '__metadata__' twice (which one is meant?)"));
    metadata_seen_ = metadata_seen_ || (place_ == Place::Top && k == "__metadata__");
    key_ = k;
    if (place_ != Place::Entry) return true;
    // No writer adds other fields to an entry; an unknown one is more likely damage.
    const unsigned bit = k == "dtype" ? 1u : k == "shape" ? 2u : k == "data_offsets" ? 4u : 0u;
    if (bit == 0)
      return fail(trf("{}: unknown field '{}'; an entry holds dtype, shape and data_offsets", tensor(), printable(k)));
    if (entry_->fields & bit) return fail(trf("{}: the key '{}' appears twice", tensor(), k));
    entry_->fields |= bit;
    return true;
  }

  bool end_object() override {
    if (place_ == Place::Entry) {
      for (const auto& [bit, name] : {std::pair{1u, "dtype"}, {2u, "shape"}, {4u, "data_offsets"}})
        if (!(entry_->fields & bit)) return fail(trf("{}: has no '{}'", tensor(), name));
    }
    place_ = place_ == Place::Top ? Place::Done : Place::Top;
    return true;
  }

  bool start_array(std::size_t) override {
    if (place_ == Place::Entry && key_ == "shape")
      place_ = Place::Shape;
    else if (place_ == Place::Entry && key_ == "data_offsets")
      place_ = Place::Offsets;
    else
      return misplaced(tr("a list"));
    return true;
  }

  bool end_array() override {
    if (place_ == Place::Offsets && entry_->offsets.size() != 2)
      return fail(entry_->offsets.size() == 1
                      ? trf("{}: data_offsets has 1 entry; it must be two whole numbers [begin, end]", tensor())
                      : trf("{}: data_offsets has {} entries; it must be two whole numbers [begin, end]", tensor(),
                            entry_->offsets.size()));
    place_ = Place::Entry;
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::json::exception& e) override {
    return fail(trf("bad safetensors header (not JSON): {}", e.what()));
  }

 private:
  // Where the parser is: the top-level object, __metadata__, a tensor entry, or one of
  // the entry's lists.
  enum class Place { Before, Top, Metadata, Entry, Shape, Offsets, Done };
  Place place_ = Place::Before;
  std::string key_;  // the latest key: a name at the top level, a field inside an entry
  HeaderEntry* entry_ = nullptr;
  std::string entry_name_;
  bool metadata_seen_ = false;

  bool fail(std::string message) {
    if (defect.empty()) defect = std::move(message);
    return false;
  }

  std::string tensor() const { return trf("tensor '{}'", printable(entry_name_)); }

  bool value(const nlohmann::json& v) {
    if (place_ == Place::Metadata && v.is_string()) {
      if (!metadata.emplace(key_, v.get<std::string>()).second)
        return fail(trf("__metadata__ has the key '{}' twice", printable(key_)));
      return true;
    }
    if (place_ == Place::Entry && key_ == "dtype" && v.is_string()) {
      entry_->tensor.dtype = v.get<std::string>();
      return true;
    }
    // is_number_unsigned: a whole number >= 0 (negative ones parse as number_integer).
    if (place_ == Place::Shape && v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
      entry_->tensor.shape.push_back(v.get<int64_t>());
      return true;
    }
    if (place_ == Place::Offsets && v.is_number_unsigned() && entry_->offsets.size() < 2) {
      entry_->offsets.push_back(v.get<uint64_t>());
      return true;
    }
    if (place_ == Place::Offsets && v.is_number_unsigned())
      return fail(trf("{}: data_offsets has more than 2 entries; it must be two whole numbers [begin, end]", tensor()));
    return misplaced(excerpt(v));
  }

  // The defect of finding `found` (a JSON value, "an object", "a list") where the parser is.
  bool misplaced(const std::string& found) {
    switch (place_) {
      case Place::Top:
        return fail(key_ == "__metadata__"
                        ? trf("__metadata__ is {}, not an object of strings", found)
                        : trf("tensor '{}' is {}, not an object {dtype, shape, data_offsets}", printable(key_), found));
      case Place::Metadata:
        return fail(trf("__metadata__ value '{}' is {}, not a string", printable(key_), found));
      case Place::Entry:
        if (key_ == "dtype") return fail(trf("{}: dtype is {}, not a string", tensor(), found));
        if (key_ == "shape") return fail(trf("{}: shape is {}, not a list", tensor(), found));
        return fail(trf("{}: data_offsets is {}; it must be two whole numbers [begin, end]", tensor(), found));
      case Place::Shape:
        return fail(trf("{}: shape has the entry {}; dimensions are whole numbers >= 0", tensor(), found));
      case Place::Offsets:
        return fail(
            trf("{}: data_offsets has the entry {}; it must be two whole numbers [begin, end]", tensor(), found));
      default:
        return fail(trf("bad safetensors header: {}, not a JSON object", found));
    }
  }
};

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

namespace {
// The tensor's elements as T, after checking that the bytes hold exactly the shape.
template <class T>
std::vector<T> elements_as(const RawTensor& t, const char* dtype, const std::string& what) {
  UNET_CHECK(t.dtype == dtype, what, trf("dtype is {}, expected {}", t.dtype, dtype));
  uint64_t expected = 0;
  UNET_CHECK(checked_byte_size(t.shape, sizeof(T), expected) && expected == t.bytes.size(), what,
             trf("{} bytes do not hold shape {} of {}", std::to_string(t.bytes.size()), shape_text(t.shape), dtype));
  std::vector<T> out(t.bytes.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), t.bytes.data(), t.bytes.size());
  return out;
}
}  // namespace

std::vector<float> RawTensor::as_f32(const std::string& what) const {
  return elements_as<float>(*this, "F32", what);
}

std::vector<int64_t> RawTensor::as_i64(const std::string& what) const {
  return elements_as<int64_t>(*this, "I64", what);
}

const std::string& SafetensorsFile::metadata_value(const std::string& key, const std::string& path) const {
  auto it = metadata.find(key);
  UNET_CHECK(it != metadata.end(), path, trf("the metadata has no '{}'", key));
  return it->second;
}

SafetensorsFile read_safetensors(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  UNET_CHECK(fd.get() >= 0, path, trf("cannot open for reading: {}", sys_error()));
  struct stat st {};
  UNET_CHECK(::fstat(fd.get(), &st) == 0, path, trf("cannot read the file's size: {}", sys_error()));
  UNET_CHECK(!S_ISDIR(st.st_mode), path, tr("is a folder, not a checkpoint file"));
  UNET_CHECK(S_ISREG(st.st_mode), path, tr("is not a regular file (a device, pipe or socket), not a checkpoint file"));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  UNET_CHECK(file_size >= 8, path,
             trf("not a safetensors file: {} bytes, shorter than the 8-byte header length", std::to_string(file_size)));
  unsigned char len_bytes[8];
  read_exactly(fd.get(), len_bytes, 8, 0, path, tr("the header length"));
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  UNET_CHECK(header_len <= file_size - 8, path,
             trf("truncated or not a safetensors file: header length {} exceeds the file size {}",
                 std::to_string(header_len), std::to_string(file_size)));
  UNET_CHECK(
      header_len <= kSafetensorsMaxHeaderBytes, path,
      trf("header length {} bytes is over the limit of {} bytes (16 MiB); the file is damaged or not a checkpoint",
          std::to_string(header_len), std::to_string(kSafetensorsMaxHeaderBytes)));
  std::string header(header_len, '\0');
  read_exactly(fd.get(), header.data(), header_len, 8, path, tr("the header"));
  const uint64_t data_size = file_size - 8 - header_len;

  HeaderReader reader;
  const bool parsed = nlohmann::json::sax_parse(header, &reader);
  UNET_CHECK(reader.defect.empty(), path, reader.defect);
  UNET_CHECK(parsed && reader.complete(), path, tr("bad safetensors header: not a JSON object"));
  header = std::string();  // not needed any more

  for (const auto& [name, e] : reader.entries) {
    const std::string where = path + ": tensor '" + printable(name) + "'";
    const std::size_t elem = dtype_size(e.tensor.dtype);
    UNET_CHECK(elem != 0, where, trf("unknown dtype '{}'", printable(e.tensor.dtype)));
    const uint64_t begin = e.offsets[0], end = e.offsets[1];
    UNET_CHECK(begin <= end, where,
               trf("data_offsets [{}, {}]: the end is before the begin", std::to_string(begin), std::to_string(end)));
    UNET_CHECK(end <= data_size, where,
               trf("data ends at byte {} but the file holds {} data bytes (truncated file?)", std::to_string(end),
                   std::to_string(data_size)));
    uint64_t bytes = 0;
    UNET_CHECK(checked_byte_size(e.tensor.shape, elem, bytes), where,
               trf("shape {} of {} has more bytes than 64 bits can count", shape_text(e.tensor.shape), e.tensor.dtype));
    UNET_CHECK(bytes == end - begin, where,
               trf("shape {} of {} needs {} bytes, but data_offsets give {}", shape_text(e.tensor.shape),
                   e.tensor.dtype, std::to_string(bytes), std::to_string(end - begin)));
  }

  // Each tensor must own its bytes: two entries pointing at the same bytes would load as
  // garbage weights, and aliasing lets a small file ask for far more memory than it holds.
  // After sorting by begin, each range must start at or after the previous one's end;
  // empty tensors hold no bytes and overlap nothing. Holes (bytes no tensor covers, between
  // tensors or at the end) are accepted, although the specification and the reference
  // reader refuse them: they cost no memory (they are never read) and cannot mix two
  // tensors' data; a tensor removed from a model's header is still reported as missing.
  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (const auto& [name, e] : reader.entries)
    if (e.offsets[0] != e.offsets[1]) ranges.push_back({e.offsets[0], e.offsets[1], &name});
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    const Range& prev = ranges[i - 1];
    const Range& cur = ranges[i];
    UNET_CHECK(
        cur.begin >= prev.end, path,
        trf("tensors '{}' (data bytes {} to {}) and '{}' ({} to {}) overlap; each tensor must have bytes of its own",
            printable(*prev.name), std::to_string(prev.begin), std::to_string(prev.end), printable(*cur.name),
            std::to_string(cur.begin), std::to_string(cur.end)));
  }

  // Every entry is sound and the ranges are disjoint: the bytes read add up to at most the
  // file's size.
  SafetensorsFile out;
  out.metadata = std::move(reader.metadata);
  for (auto& [name, e] : reader.entries) {
    const uint64_t begin = e.offsets[0], end = e.offsets[1];
    e.tensor.bytes.resize(end - begin);
    read_exactly(fd.get(), e.tensor.bytes.data(), end - begin, 8 + header_len + begin, path,
                 "tensor '" + printable(name) + "'");
    out.tensors.emplace(name, std::move(e.tensor));
  }
  return out;
}

void write_safetensors(const std::string& path, const SafetensorsFile& file) {
  nlohmann::json header = nlohmann::json::object();
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    UNET_CHECK(name != "__metadata__", path, tr("a tensor may not be named __metadata__"));
    uint64_t expected = 0;
    UNET_CHECK(dtype_size(t.dtype) != 0, path, trf("tensor '{}': unknown dtype '{}'", name, t.dtype));
    UNET_CHECK(checked_byte_size(t.shape, dtype_size(t.dtype), expected) && expected == t.bytes.size(), path,
               trf("tensor '{}': {} bytes do not hold shape {} of {}", name, std::to_string(t.bytes.size()),
                   shape_text(t.shape), t.dtype));
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
