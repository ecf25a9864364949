#include "data/volume_cache.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "base/file_io.hpp"
#include "base/fnv_hash.hpp"
#include "base/i18n.hpp"

namespace unet::data {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'U', 'N', 'E', 'T', 'V', 'O', 'L', '1'};  // format version 1

void put_u64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_string(std::string& out, const std::string& s) {
  put_u64(out, s.size());
  out += s;
}

// Reads fields in order; any shortfall or absurd length marks the whole file unusable.
class Reader {
 public:
  explicit Reader(std::ifstream& in, uint64_t size) : in_(in), left_(size) {}
  bool ok() const { return ok_; }
  void bytes(void* dst, uint64_t n) {
    if (!ok_ || n > left_ || !in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n))) {
      ok_ = false;
      return;
    }
    left_ -= n;
  }
  uint64_t u64() {
    uint64_t v = 0;
    bytes(&v, sizeof v);
    return v;
  }
  std::string string() {
    const uint64_t n = u64();
    if (!ok_ || n > left_) return ok_ = false, std::string();
    std::string s(n, '\0');
    bytes(s.data(), n);
    return s;
  }
  uint64_t left() const { return left_; }

 private:
  std::ifstream& in_;
  uint64_t left_;
  bool ok_ = true;
};

}  // namespace

std::string volume_cache_dir() {
  if (const char* d = std::getenv("UNET_CACHE_DIR"); d != nullptr && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x) return (fs::path(x) / "unet-engine").string();
  if (const char* h = std::getenv("HOME"); h != nullptr && *h) return (fs::path(h) / ".cache" / "unet-engine").string();
  return "";
}

std::string volume_cache_path(const std::string& dir, const ScanResult& scan, const LoadConfig& options) {
  Fnv1a64 h;
  h.field("unet-engine volume cache 1").field(std::to_string(options.size)).field(preprocess_name(options.mode));
  h.field(options.strict ? "strict" : "lenient");
  auto file = [&](const std::string& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    const auto time = fs::last_write_time(path, ec).time_since_epoch().count();
    h.field(path).field(std::to_string(size)).field(std::to_string(time));
  };
  for (const PatientFiles& p : scan.patients) {
    h.field(p.id);
    for (const SliceFiles& s : p.slices) {
      h.field(std::to_string(s.number));
      file(s.image);
      file(s.mask);
    }
  }
  char name[40];
  std::snprintf(name, sizeof name, "volumes-%016llx.bin", static_cast<unsigned long long>(h.value()));
  return (fs::path(dir) / name).string();
}

bool read_volume_cache(const std::string& path, std::vector<Volume>& volumes, LoadReport& report, std::string& why) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return why = tr("no cache file"), false;
  std::ifstream in(path, std::ios::binary);
  Reader r(in, size);
  char magic[8] = {};
  r.bytes(magic, sizeof magic);
  if (!r.ok() || std::memcmp(magic, kMagic, sizeof magic) != 0)
    return why = tr("not a cache file of this version"), false;
  LoadReport rep;
  rep.patients = static_cast<int64_t>(r.u64());
  rep.slices = static_cast<int64_t>(r.u64());
  rep.tumour_slices = static_cast<int64_t>(r.u64());
  rep.skipped_files = static_cast<int64_t>(r.u64());
  const uint64_t problems = r.u64();
  for (uint64_t i = 0; r.ok() && i < problems; ++i) rep.problems.push_back(r.string());
  const uint64_t count = r.u64();
  std::vector<Volume> out;
  for (uint64_t i = 0; r.ok() && i < count; ++i) {
    Volume v;
    v.patient = r.string();
    const uint64_t depth = r.u64(), s = r.u64();
    // Each slice needs at least 4 S^2 bytes: a depth or size that the rest of the file cannot
    // hold is damage, refused before anything is allocated.
    if (!r.ok() || s == 0 || s > 65536 || depth > r.left() / (4 * s * s)) return why = tr("damaged (sizes)"), false;
    v.size = static_cast<int64_t>(s);
    v.slice_numbers.resize(depth);
    r.bytes(v.slice_numbers.data(), depth * sizeof(int));
    r.bytes(v.mean, sizeof v.mean);
    r.bytes(v.stdev, sizeof v.stdev);
    v.images.resize(depth * 3 * s * s);
    r.bytes(v.images.data(), v.images.size());
    v.masks.resize(depth * s * s);
    r.bytes(v.masks.data(), v.masks.size());
    out.push_back(std::move(v));
  }
  if (!r.ok() || r.left() != 0) return why = tr("damaged (truncated or trailing bytes)"), false;
  volumes = std::move(out);
  report = std::move(rep);
  return true;
}

void write_volume_cache(const std::string& path, const std::vector<Volume>& volumes, const LoadReport& report,
                        int keep) {
  std::string head(kMagic, sizeof kMagic);
  for (int64_t v : {report.patients, report.slices, report.tumour_slices, report.skipped_files})
    put_u64(head, static_cast<uint64_t>(v));
  put_u64(head, report.problems.size());
  for (const auto& p : report.problems) put_string(head, p);
  put_u64(head, volumes.size());
  std::vector<std::string_view> parts{head};
  std::vector<std::string> volume_heads;  // kept alive while parts point into them
  volume_heads.reserve(volumes.size() * 2);
  for (const Volume& v : volumes) {
    std::string vh;
    put_string(vh, v.patient);
    put_u64(vh, static_cast<uint64_t>(v.depth()));
    put_u64(vh, static_cast<uint64_t>(v.size));
    vh.append(reinterpret_cast<const char*>(v.slice_numbers.data()), v.slice_numbers.size() * sizeof(int));
    vh.append(reinterpret_cast<const char*>(v.mean), sizeof v.mean);
    vh.append(reinterpret_cast<const char*>(v.stdev), sizeof v.stdev);
    volume_heads.push_back(std::move(vh));
    parts.emplace_back(volume_heads.back());
    parts.emplace_back(reinterpret_cast<const char*>(v.images.data()), v.images.size());
    parts.emplace_back(reinterpret_cast<const char*>(v.masks.data()), v.masks.size());
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  UNET_CHECK(!ec, fs::path(path).parent_path().string(), trf("cannot create the cache folder: {}", ec.message()));
  write_file_atomic(path, parts);
  // Bound the folder: the newest `keep` caches stay.
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path(), ec))
    if (e.path().filename().string().rfind("volumes-", 0) == 0 && e.path().extension() == ".bin")
      files.emplace_back(e.last_write_time(ec), e.path());
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = static_cast<size_t>(std::max(keep, 1)); i < files.size(); ++i) fs::remove(files[i].second, ec);
}

std::vector<Volume> load_dataset_cached(const ScanResult& scan, const LoadConfig& options, LoadReport& report,
                                        const std::string& cache_dir, bool& from_cache) {
  from_cache = false;
  if (cache_dir.empty()) return load_dataset(scan, options, report);
  const std::string path = volume_cache_path(cache_dir, scan, options);
  std::vector<Volume> volumes;
  std::string why;
  if (read_volume_cache(path, volumes, report, why)) {
    from_cache = true;
    return volumes;
  }
  volumes = load_dataset(scan, options, report);
  try {
    write_volume_cache(path, volumes, report);
  } catch (const Error& e) {
    report.problems.push_back(
        trf("the preprocessed data could not be cached (the next run loads it again): {}", e.what()));
  }
  return volumes;
}

}  // namespace unet::data
