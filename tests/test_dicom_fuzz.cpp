// The DICOM reader on damaged files, under AddressSanitizer and UBSan: bytes flipped, lengths
// overwritten, files cut short. Each must give a valid read or a clean unet::Error naming the
// file; a crash, an overrun or an undefined operation fails the test (the sanitizers abort).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <unistd.h>

#include "base/error.hpp"
#include "data/dicom_series.hpp"
#include "tests/file_bytes.hpp"

using namespace unet;
using namespace unet::data;
namespace fs = std::filesystem;

using unet::test::read_bytes;
using unet::test::write_bytes;

TEST_CASE("damaged DICOM files give a read or a clean error, never a crash") {
  const char* dir = std::getenv("UNET_DICOM_DIR");
  REQUIRE_MESSAGE(dir != nullptr, "UNET_DICOM_DIR is not set (run through ctest)");
  std::vector<fs::path> sources;
  for (const auto& e : fs::directory_iterator(fs::path(dir) / "good"))
    if (e.is_regular_file() && e.path().filename() != "README.txt") sources.push_back(e.path());
  std::sort(sources.begin(), sources.end());
  REQUIRE(sources.size() >= 10);
  const fs::path work = fs::temp_directory_path() / ("unet_dicom_fuzz_" + std::to_string(::getpid()));
  fs::create_directories(work);
  std::mt19937_64 rng(2024);
  int reads = 0, errors = 0;
  constexpr int kMutants = 600;  // ~40 per source file and kind of damage, a few seconds under ASan
  for (int m = 0; m < kMutants; ++m) {
    std::string b = read_bytes(sources[static_cast<size_t>(m) % sources.size()]);
    REQUIRE(b.size() > 200);
    switch (m % 3) {
      case 0:  // a few random bytes anywhere after the preamble
        for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) b[128 + rng() % (b.size() - 128)] = static_cast<char>(rng());
        break;
      case 1: {  // a 16- or 32-bit length field made huge or odd
        const size_t at = 132 + rng() % (b.size() - 136);
        const uint32_t v = (rng() % 2) ? 0xFFFFFFF0u : static_cast<uint32_t>(rng() % 70000);
        std::memcpy(&b[at], &v, (rng() % 2) ? 4 : 2);
        break;
      }
      default:  // cut short
        b.resize(132 + rng() % (b.size() - 132));
    }
    const fs::path p = work / ("m" + std::to_string(m));
    write_bytes(p, b);
    try {
      const DicomFileInfo info = read_dicom_info(p.string());
      const std::vector<float> v = read_dicom_pixels(info);
      CHECK(static_cast<int64_t>(v.size()) == info.rows * info.cols * info.frames);
      ++reads;
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(p.string()) != std::string::npos);  // the message names the file
      ++errors;
    }
  }
  // The whole damaged folder through the series scan: grouping and checks on broken headers.
  try {
    const DicomScan scan = scan_dicom_folder(work.string(), false);
    CHECK(scan.files_seen == kMutants);
  } catch (const Error&) {
    ++errors;  // no usable series is a clean outcome too
  }
  MESSAGE(reads, " damaged files read, ", errors, " refused with an error");
  CHECK(reads + errors >= kMutants);
  CHECK(errors > 0);   // the damage reached the checks
  fs::remove_all(work);
}
