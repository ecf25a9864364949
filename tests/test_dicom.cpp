// The DICOM reader against series written by pydicom (tests/dicom/make_series.py): grouping by
// SeriesInstanceUID with files in random order under random names, order along the slice
// normal, intensities (signed, 12-bit with other data above HighBit, MONOCHROME1, rescale,
// RLE, JPEG lossless, multi-frame, a file without the Part 10 header) and the RAS affine; each
// defect of the bad folder named and skipped, or thrown with strict.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "data/dicom_series.hpp"
#include "data/volume_to_rgb.hpp"

using namespace unet;
using namespace unet::data;
namespace fs = std::filesystem;

namespace {

fs::path fixtures() {
  const char* d = std::getenv("UNET_DICOM_DIR");
  REQUIRE_MESSAGE(d != nullptr, "UNET_DICOM_DIR is not set (run through ctest: dicom_series_generate makes it)");
  return d;
}

nlohmann::json expected() {
  std::ifstream in(fixtures() / "expected.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

std::vector<float> read_f32(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), p.string());
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

const DicomSeries* find(const DicomScan& scan, const std::string& id) {
  for (const auto& s : scan.series)
    if (s.id == id) return &s;
  return nullptr;
}

void check_series(const DicomSeries& s, const nlohmann::json& e) {
  INFO("series ", e["name"].get<std::string>());
  CHECK(s.rows == e["rows"].get<int64_t>());
  CHECK(s.cols == e["cols"].get<int64_t>());
  REQUIRE(s.slice_count() == e["slices"].get<int64_t>());
  const auto a = s.affine_ras();
  for (size_t r = 0; r < 4; ++r)
    for (size_t c = 0; c < 4; ++c)
      // Positions and cosines are decimal strings (4 and 6 digits); numpy and this reader
      // normalise them in other orders, which moves the affine by ~1e-6 mm.
      CHECK(a[r * 4 + c] == doctest::Approx(e["affine"][r][c].get<double>()).epsilon(1e-4));
  const std::vector<float> want = read_f32(fixtures() / e["voxels_file"].get<std::string>());
  const std::vector<float> got = read_series_voxels(s);
  REQUIRE(got.size() == want.size());
  size_t wrong = 0;
  for (size_t i = 0; i < got.size(); ++i) wrong += got[i] != want[i];  // integers * slope + intercept: exact in float
  CHECK_MESSAGE(wrong == 0, wrong, " of ", got.size(), " voxels differ (order or intensity)");
}

bool any_contains(const std::vector<std::string>& lines, const std::string& a, const std::string& b = "") {
  for (const auto& l : lines)
    if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("three series mixed in one folder: grouped, ordered along the normal, intensities and geometry exact") {
  const auto e = expected();
  const DicomScan scan = scan_dicom_folder((fixtures() / "good").string(), false);
  REQUIRE(scan.series.size() == 3);
  for (const auto& want : e["series"]) {
    if (want["name"] == "G") continue;
    const DicomSeries* s = find(scan, want["id"].get<std::string>());
    REQUIRE_MESSAGE(s != nullptr, "no series with id ", want["id"].get<std::string>());
    check_series(*s, want);
  }
  // The text file beside the images is named and left out; nothing else is a problem.
  REQUIRE(scan.problems.size() == 1);
  CHECK(any_contains(scan.problems, "README.txt", "not a readable DICOM file"));
  CHECK(folder_has_dicom((fixtures() / "good").string()));
  CHECK_FALSE(folder_has_dicom((fixtures() / "no_such_folder").string()));
}

TEST_CASE("each defect is named and its file or series skipped; --strict stops at the first") {
  const auto e = expected();
  const std::string bad = (fixtures() / "bad").string();
  const DicomScan scan = scan_dicom_folder(bad, false);
  REQUIRE(scan.series.size() == 1);  // only G is usable
  for (const auto& want : e["series"])
    if (want["name"] == "G") check_series(scan.series[0], want);
  const auto& p = scan.problems;
  INFO("problems: ", nlohmann::json(p).dump(1));
  CHECK(any_contains(p, "slice(s) are missing"));
  CHECK(any_contains(p, "at the same position"));
  CHECK(any_contains(p, "8 x 8", "6 x 8"));
  CHECK(any_contains(p, "JPEG 2000", "cannot decode"));
  CHECK(any_contains(p, "notes.txt", "not a readable DICOM file"));
  CHECK(p.size() == 6);  // the truncated file, as well: DCMTK reports the premature end when reading its header
  CHECK_THROWS_AS(scan_dicom_folder(bad, true), Error);
}

TEST_CASE("the output id is a hash of the UID only, and series to RGB windows each channel") {
  CHECK(series_output_id("1.2.3") == series_output_id("1.2.3"));
  CHECK(series_output_id("1.2.3") != series_output_id("1.2.4"));
  CHECK(series_output_id("1.2.3").rfind("series_", 0) == 0);
  CHECK(series_output_id("1.2.3").size() == 19);
  // 0..999 over 1000 voxels: the 0.5 / 99.5 percentiles are 5 and 994 (nearest rank).
  std::vector<float> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  const auto rgb = volume_to_rgb_slices({v}, 10, 10, 10);
  REQUIRE(rgb.size() == 10);
  CHECK(rgb[0].pixels[0] == 0);                     // 0 is below the window
  CHECK(rgb[9].pixels[99 * 3] == 255);              // 999 is above it
  CHECK(rgb[0].pixels[5 * 3] == 0);                 // 5 is the window's bottom
  CHECK(rgb[4].pixels[99 * 3 + 2] == rgb[4].pixels[99 * 3]);  // grey replicated to B
  CHECK_THROWS_AS(volume_to_rgb_slices({v, v}, 10, 10, 10), Error);  // 2 channels: neither grey nor RGB
}
