// The TFRecord framing of train/tensorboard_writer: CRC32C against its published check value,
// and a written file parsed record by record with every length and CRC verified (TensorBoard's
// own reader reads the files of real runs in cli_tensorboard).
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "train/tensorboard_writer.hpp"

using namespace unet;
namespace fs = std::filesystem;

TEST_CASE("CRC32C: the Castagnoli check value, and the TFRecord mask") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);  // the check value of CRC-32C (RFC 3720)
  CHECK(crc32c("", 0) == 0u);
  const uint32_t c = crc32c("abc", 3);
  CHECK(masked_crc32c("abc", 3) == ((c >> 15) | (c << 17)) + 0xA282EAD8u);
}

TEST_CASE("an event file: records framed with lengths and masked CRCs, flushed as written") {
  const fs::path dir = fs::temp_directory_path() / "unet_tb_writer_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string path;
  {
    TensorBoardWriter tb(dir.string());
    path = tb.path();
    CHECK(fs::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
    tb.scalar("val/dice", 0.5, 7);
    tb.scalar("val/dice", 0.0, 8);  // a zero is written as well
    // Flushed: the records are on disk while the writer is still open.
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t at = 0;
    int records = 0;
    while (at < bytes.size()) {
      REQUIRE(at + 12 <= bytes.size());
      uint64_t len = 0;
      uint32_t len_crc = 0, data_crc = 0;
      std::memcpy(&len, bytes.data() + at, 8);
      std::memcpy(&len_crc, bytes.data() + at + 8, 4);
      CHECK(len_crc == masked_crc32c(bytes.data() + at, 8));
      REQUIRE(at + 12 + len + 4 <= bytes.size());
      std::memcpy(&data_crc, bytes.data() + at + 12 + len, 4);
      CHECK(data_crc == masked_crc32c(bytes.data() + at + 12, len));
      if (records == 0) CHECK(bytes.substr(at + 12, len).find("brain.Event:2") != std::string::npos);
      if (records > 0) CHECK(bytes.substr(at + 12, len).find("val/dice") != std::string::npos);
      at += 12 + len + 4;
      ++records;
    }
    CHECK(records == 3);
  }
  fs::remove_all(dir);
}
