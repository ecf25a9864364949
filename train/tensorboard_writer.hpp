// TensorBoard event files, so that `tensorboard --logdir runs` shows a run's curves while it
// trains: <dir>/events.out.tfevents.<seconds>.<host>.<pid>.unet, TFRecord framing (length,
// masked CRC32C of the length, an Event message, masked CRC32C of the message), the first
// record the file version, each record flushed as it is written. A new file per process: after
// --resume TensorBoard joins the files of the folder into one curve.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace unet {

class TensorBoardWriter {
 public:
  // Creates the file in `dir` (which must exist). Errors name the file.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  // One scalar of the curve `tag` at `step`. A failed write is reported once on stderr and
  // logging stops: a full disk must not end a long training run.
  void scalar(const std::string& tag, double value, int64_t step);
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event_bytes);
  std::string path_;
  std::FILE* file_ = nullptr;
};

// CRC32C (Castagnoli) of `n` bytes, through Boost.CRC (zlib's crc32 is another polynomial), and
// TFRecord's masked form of it.
uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

}  // namespace unet
