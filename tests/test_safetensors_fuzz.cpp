// Mutated safetensors files through the reader (built with AddressSanitizer and UBSan).
// Every input must either load or raise unet::Error naming the file; nothing may crash, leak,
// overflow or read out of bounds. Each file the reader accepts is checked against an
// independent reading of its header: every tensor lies inside the data and owns its bytes
// (no two overlap, so the tensors add up to at most the file's size), the bytes are the
// file's, and the file re-serialises and re-reads to the same tensors and metadata.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/rng.hpp"
#include "engine/safetensors.hpp"

using namespace unet;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// tmpfs when there is one: the re-serialising step fsyncs each file it writes.
fs::path work_dir() {
  const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  return base / ("unet_safetensors_fuzz_" + std::to_string(::getpid()));
}

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

uint64_t header_length(const std::string& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[static_cast<size_t>(i)]);
  return n;
}

std::string with_length(uint64_t n, const std::string& rest) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + rest;
}

std::vector<unsigned char> pattern(size_t n, unsigned salt) {
  std::vector<unsigned char> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>(i * 31 + salt);
  return v;
}

// Valid small files, written by write_safetensors or laid out as other writers do.
std::vector<std::string> seeds(const fs::path& dir) {
  std::vector<std::string> out;
  SafetensorsFile a;
  a.tensors["encoder1.enc1conv1.weight"] = RawTensor{"F32", {4, 3, 3, 3}, pattern(4 * 27 * 4, 1)};
  a.tensors["encoder1.enc1norm1.bias"] = RawTensor{"F32", {4}, pattern(16, 2)};
  a.tensors["encoder1.enc1norm1.num_batches_tracked"] = RawTensor::i64({}, {7});
  a.tensors["conv.bias"] = RawTensor{"F32", {1}, pattern(4, 3)};
  a.metadata["config"] = R"({"in_channels":3,"out_channels":1,"base":4,"depth":4,"layout":"reference"})";
  a.metadata["adam_steps"] = "12";
  SafetensorsFile b;  // other dtypes, an empty tensor, a scalar
  b.tensors["half"] = RawTensor{"F16", {2, 5}, pattern(20, 4)};
  b.tensors["bytes"] = RawTensor{"U8", {7}, pattern(7, 5)};
  b.tensors["empty"] = RawTensor{"F32", {0, 3}, {}};
  b.tensors["double"] = RawTensor{"F64", {3}, pattern(24, 6)};
  SafetensorsFile c;  // metadata only
  c.metadata["train_state"] = R"({"epoch":1})";
  for (const auto* f : {&a, &b, &c}) {
    const fs::path p = dir / "seed.safetensors";
    write_safetensors(p.string(), *f);
    out.push_back(read_bytes(p));
  }
  // As PyTorch's safetensors or hand-written tools may lay a file out: an unpadded header,
  // data in another order than the names, a hole between tensors and bytes after the last.
  const std::string header =
      R"({"z":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"I32","shape":[1,2],"data_offsets":[12,20]},"__metadata__":{"format":"pt"}})";
  out.push_back(with_length(header.size(), header + std::string(24, '\x05')));
  return out;
}

// Edits of the JSON header that a broken or hostile writer could make. A header that is
// no longer JSON of the expected form (a second round of mutation) is returned unchanged.
std::string edit_header(const std::string& file, Rng& rng) {
  const uint64_t n = header_length(file);
  json h = json::parse(file.substr(8, n), nullptr, /*allow_exceptions=*/false);
  if (!h.is_object()) return file;
  const std::string data = file.substr(8 + n);
  std::vector<std::string> names;
  for (auto it = h.begin(); it != h.end(); ++it)
    if (it.key() != "__metadata__") names.push_back(it.key());
  static const json huge[] = {json(uint64_t{1} << 31),
                              json(uint64_t{1} << 32),
                              json(uint64_t{1} << 62),
                              json(INT64_MAX),
                              json(UINT64_MAX),
                              json(-1),
                              json(2.5),
                              json("3"),
                              json(nullptr),
                              json(0),
                              json(static_cast<uint64_t>(data.size()))};
  static const char* dtypes[] = {"F32", "F64", "I64", "U8", "BOOL", "F16", "X9", ""};
  std::string suffix;  // appended inside the top-level object, for duplicates
  if (names.empty() || rng.below(8) == 0) {
    switch (rng.below(3)) {
      case 0:
        h["__metadata__"]["steps"] = 12;
        break;
      case 1:
        h["__metadata__"] = json::array({"a"});
        break;
      default:
        h["new"] = {{"dtype", "U8"}, {"shape", {data.size()}}, {"data_offsets", {0, data.size()}}};
    }
  } else {
    const std::string& name = names[rng.below(static_cast<uint32_t>(names.size()))];
    json& t = h[name];
    json& offsets = t["data_offsets"];
    const std::string& other = names[rng.below(static_cast<uint32_t>(names.size()))];
    if (!t.is_object() || !offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_integer() ||
        !offsets[1].is_number_integer() || !t["shape"].is_array() || !h[other]["data_offsets"].is_array())
      return file;
    switch (rng.below(10)) {
      case 0:
        std::swap(offsets[0], offsets[1]);
        break;
      case 1:
        offsets = h[other]["data_offsets"];
        break;  // alias another tensor (or itself: no-op)
      case 2: {
        const int64_t shift = static_cast<int64_t>(rng.below(9)) - 4;
        offsets[0] = std::max<int64_t>(0, offsets[0].get<int64_t>() + shift);
        offsets[1] = std::max<int64_t>(0, offsets[1].get<int64_t>() + shift);
        break;
      }
      case 3:
        if (!t["shape"].empty())
          t["shape"][rng.below(static_cast<uint32_t>(t["shape"].size()))] = huge[rng.below(11)];
        else
          t["shape"].push_back(huge[rng.below(11)]);
        break;
      case 4:
        t["dtype"] = dtypes[rng.below(8)];
        break;
      case 5:
        t.erase(rng.below(3) == 0 ? "dtype" : rng.below(2) ? "shape" : "data_offsets");
        break;
      case 6:
        offsets = rng.below(2) ? json::array({offsets[0]}) : json::array({offsets[0], offsets[1], 8});
        break;
      case 7: {  // many entries aliasing one tensor's bytes
        const uint32_t copies = 1 + rng.below(3000);
        for (uint32_t i = 0; i < copies; ++i) h["alias" + std::to_string(i)] = t;
        break;
      }
      case 8:
        suffix = ",\"" + name + "\":" + t.dump();
        break;  // the same name twice
      default:
        offsets[1] = huge[rng.below(11)];
        break;
    }
  }
  std::string text = h.dump();
  if (!suffix.empty()) text.insert(text.size() - 1, suffix);
  return with_length(text.size(), text + data);
}

std::string mutate(const std::string& seed, Rng& rng) {
  std::string s = seed;
  const uint32_t kind = rng.below(6);
  if (kind == 4) return edit_header(seed, rng);
  if (kind == 5) {  // the length field
    const uint64_t n = header_length(seed);
    const uint64_t choices[] = {0,
                                1,
                                n - 1,
                                n + 1,
                                n + 8,
                                seed.size(),
                                seed.size() - 8,
                                kSafetensorsMaxHeaderBytes + 1,
                                uint64_t{1} << 63,
                                UINT64_MAX,
                                rng.next_u32()};
    return with_length(choices[rng.below(11)], seed.substr(8));
  }
  const uint32_t edits = 1 + rng.below(8);
  for (uint32_t e = 0; e < edits && !s.empty(); ++e) {
    // The length field and the header matter most: hit the first bytes more often.
    const uint32_t span =
        static_cast<uint32_t>(rng.below(2) ? std::min<size_t>(s.size(), 8 + header_length(seed)) : s.size());
    const size_t at = rng.below(span);
    switch (kind) {
      case 0:
        s[at] = static_cast<char>(rng.below(256));
        break;
      case 1:
        s[at] = static_cast<char>(s[at] ^ (1 << rng.below(8)));
        break;
      case 2:
        s.resize(at);
        break;
      default:
        s.insert(at, std::string(1 + rng.below(16), static_cast<char>(rng.below(256))));
    }
  }
  return s;
}

// What an accepted file must satisfy, checked against the file's own bytes.
void check_accepted(const std::string& bytes, const SafetensorsFile& f, const fs::path& dir) {
  const uint64_t n = header_length(bytes);
  REQUIRE(8 + n <= bytes.size());
  const json h = json::parse(bytes.substr(8, n));
  const uint64_t data_size = bytes.size() - 8 - n;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  uint64_t total = 0;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const uint64_t begin = it.value()["data_offsets"][0], end = it.value()["data_offsets"][1];
    REQUIRE(f.tensors.count(it.key()) == 1);
    const RawTensor& t = f.tensors.at(it.key());
    CHECK(begin <= end);
    CHECK(end <= data_size);
    CHECK(t.bytes.size() == end - begin);
    CHECK(std::string(t.bytes.begin(), t.bytes.end()) == bytes.substr(8 + n + begin, end - begin));
    if (begin != end) ranges.emplace_back(begin, end);
    total += t.bytes.size();
  }
  CHECK(f.tensors.size() + (h.contains("__metadata__") ? 1 : 0) == h.size());
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) CHECK(ranges[i].first >= ranges[i - 1].second);
  CHECK(total <= bytes.size());
  const fs::path again = dir / "again.safetensors";
  write_safetensors(again.string(), f);
  const SafetensorsFile g = read_safetensors(again.string());
  CHECK(g.metadata == f.metadata);
  REQUIRE(g.tensors.size() == f.tensors.size());
  for (const auto& [name, t] : f.tensors) {
    const RawTensor& u = g.tensors.at(name);
    CHECK((u.dtype == t.dtype && u.shape == t.shape && u.bytes == t.bytes));
  }
}

}  // namespace

TEST_CASE("mutated safetensors files never crash the reader, and what it accepts is sound") {
  const fs::path dir = work_dir();
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto valid = seeds(dir);
  const fs::path path = dir / "fuzz.safetensors";
  for (const auto& s : valid) {
    write_bytes(path, s);
    check_accepted(s, read_safetensors(path.string()), dir);
  }
  Rng rng(2024);
  int accepted = 0, rejected = 0;
  const int per_seed = 1000;
  for (const auto& seed : valid)
    for (int i = 0; i < per_seed; ++i) {
      std::string bytes = mutate(seed, rng);
      // A second mutation on top of the first, when the length field still fits the file.
      if (rng.below(4) == 0)
        bytes = mutate(bytes.size() >= 8 && header_length(bytes) <= bytes.size() - 8 ? bytes : seed, rng);
      write_bytes(path, bytes);
      try {
        const SafetensorsFile f = read_safetensors(path.string());
        check_accepted(bytes, f, dir);
        ++accepted;
      } catch (const Error& e) {
        CAPTURE(e.what());
        CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
        ++rejected;
      } catch (const std::exception& e) {
        FAIL("not an unet::Error: " << e.what());
      }
    }
  MESSAGE("accepted " << accepted << ", rejected " << rejected);
  CHECK(accepted + rejected == static_cast<int>(valid.size()) * per_seed);
  CHECK(accepted > 100);  // the mutations leave enough files valid to test the accepted side
  CHECK(rejected > 1000);
  fs::remove_all(dir);
}
