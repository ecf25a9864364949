// The cache of preprocessed 2D data sets (data/volume_cache.hpp): a read gives exactly what
// loading gave; a changed file, image size or preprocessing gives another cache file; a
// damaged file is refused with a reason (and the data loaded anew), never trusted.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "data/synth.hpp"
#include "data/volume_cache.hpp"

using namespace unet;
using namespace unet::data;
namespace fs = std::filesystem;

namespace {

void check_same(const std::vector<Volume>& a, const std::vector<Volume>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].patient == b[i].patient);
    CHECK(a[i].size == b[i].size);
    CHECK(a[i].slice_numbers == b[i].slice_numbers);
    CHECK(a[i].images == b[i].images);
    CHECK(a[i].masks == b[i].masks);
    for (int c = 0; c < 3; ++c) CHECK((a[i].mean[c] == b[i].mean[c] && a[i].stdev[c] == b[i].stdev[c]));
  }
}

}  // namespace

TEST_CASE("the volume cache: exact round trip, keys that follow the files and settings, damage refused") {
  const fs::path dir = fs::temp_directory_path() / "unet_volume_cache_test";
  fs::remove_all(dir);
  SynthConfig sc;
  sc.out = (dir / "data").string();
  sc.patients = 3;
  sc.size = 64;
  sc.min_slices = 4, sc.max_slices = 6;
  sc.seed = 5;
  generate_synthetic(sc);
  const ScanResult scan = scan_kaggle(sc.out);
  LoadConfig lc;
  lc.size = 32;
  const std::string cache = (dir / "cache").string();

  LoadReport fresh_report, first_report, second_report;
  const std::vector<Volume> fresh = load_dataset(scan, lc, fresh_report);
  bool from_cache = true;
  const auto first = load_dataset_cached(scan, lc, first_report, cache, from_cache);
  CHECK_FALSE(from_cache);  // nothing cached yet: loaded and written
  const auto second = load_dataset_cached(scan, lc, second_report, cache, from_cache);
  CHECK(from_cache);
  check_same(second, fresh);
  CHECK(second_report.slices == fresh_report.slices);
  CHECK(second_report.tumour_slices == fresh_report.tumour_slices);

  const std::string path = volume_cache_path(cache, scan, lc);
  SUBCASE("another image size or preprocessing, or a touched file: another cache file") {
    LoadConfig other = lc;
    other.size = 64;
    CHECK(volume_cache_path(cache, scan, other) != path);
    other = lc;
    other.mode = Preprocess::Simple;
    CHECK(volume_cache_path(cache, scan, other) != path);
    const std::string image = scan.patients[1].slices[2].image;
    fs::last_write_time(image, fs::last_write_time(image) + std::chrono::seconds(3));
    CHECK(volume_cache_path(cache, scan, lc) != path);
  }
  SUBCASE("a truncated or foreign file is refused, with a reason") {
    std::vector<Volume> v;
    LoadReport r;
    std::string why;
    fs::resize_file(path, fs::file_size(path) - 100);
    CHECK_FALSE(read_volume_cache(path, v, r, why));
    CHECK(why.find("damaged") != std::string::npos);
    std::ofstream(path, std::ios::trunc) << "not a cache at all";
    CHECK_FALSE(read_volume_cache(path, v, r, why));
    CHECK(why.find("not a cache file") != std::string::npos);
    // load_dataset_cached then loads anew (and rewrites the file).
    LoadReport again;
    const auto reloaded = load_dataset_cached(scan, lc, again, cache, from_cache);
    CHECK_FALSE(from_cache);
    check_same(reloaded, fresh);
  }
  fs::remove_all(dir);
}
