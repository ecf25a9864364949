// A float buffer in host memory for data on its way to a device: page-locked (pinned) when
// a GPU is in use, so copies are DMA transfers, and plain aligned memory otherwise. Blocks
// come from a caching allocator, so a loader recycling batches allocates nothing.
#pragma once

#include <cstddef>

namespace unet {

class HostBuffer {
 public:
  HostBuffer() = default;
  explicit HostBuffer(std::size_t floats);
  ~HostBuffer();
  HostBuffer(HostBuffer&& o) noexcept;
  HostBuffer& operator=(HostBuffer&& o) noexcept;
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;

  float* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool pinned() const { return pinned_; }

 private:
  float* data_ = nullptr;
  std::size_t size_ = 0;
  bool pinned_ = false;
};

}  // namespace unet
