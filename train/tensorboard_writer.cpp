#include "train/tensorboard_writer.hpp"

#include <unistd.h>

#include <boost/crc.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "train/tensorboard_event.pb.h"

namespace unet {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  // CRC-32C (Castagnoli): polynomial 0x1EDC6F41, reflected, all-ones start and final XOR.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, n);
  return crc.checksum();
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;  // TFRecord's mask, so a CRC of CRCs is not trivial
}

TensorBoardWriter::TensorBoardWriter(const std::string& dir) {
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  path_ = (std::filesystem::path(dir) / ("events.out.tfevents." + std::to_string(static_cast<int64_t>(now_seconds())) +
                                         "." + host + "." + std::to_string(::getpid()) + ".unet"))
              .string();
  file_ = std::fopen(path_.c_str(), "ab");
  UNET_CHECK(file_ != nullptr, path_, trf("cannot create the TensorBoard event file: {}", std::strerror(errno)));
  tensorboard::Event first;
  first.set_wall_time(now_seconds());
  first.set_file_version("brain.Event:2");
  write_record(first.SerializeAsString());
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void TensorBoardWriter::scalar(const std::string& tag, double value, int64_t step) {
  if (file_ == nullptr) return;
  tensorboard::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  tensorboard::Summary::Value* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  write_record(e.SerializeAsString());
}

void TensorBoardWriter::write_record(const std::string& data) {
  std::string header;
  put_le(header, data.size(), 8);
  std::string record = header;
  put_le(record, masked_crc32c(header.data(), header.size()), 4);
  record += data;
  put_le(record, masked_crc32c(data.data(), data.size()), 4);
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() || std::fflush(file_) != 0) {
    std::fprintf(stderr, tr("unet: writing %s failed (%s); TensorBoard logging stops, training goes on\n").c_str(),
                 path_.c_str(), std::strerror(errno));
    std::fclose(file_);
    file_ = nullptr;
  }
}

}  // namespace unet
