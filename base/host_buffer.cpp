#include "base/host_buffer.hpp"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "base/allocator.hpp"
#ifdef UNET_HAS_CUDA
#include "base/cuda_check.hpp"
#include "base/i18n.hpp"
#endif

namespace unet {

namespace {
#ifdef UNET_HAS_CUDA
void* pinned_alloc(std::size_t bytes) {
  void* p = nullptr;
  const cudaError_t err = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    return nullptr;
  }
  UNET_CUDA_CHECK(err);
  return p;
}
void pinned_free(void* p) {
  const cudaError_t err = cudaFreeHost(p);
  if (err != cudaSuccess) std::fprintf(stderr, tr("unet: cudaFreeHost failed: %s\n").c_str(), cudaGetErrorString(err));
}
CachingAllocator& pinned_allocator() {
  static CachingAllocator a("pinned host allocator", pinned_alloc, pinned_free);
  return a;
}
#endif

CachingAllocator& allocator(bool& pinned) {
#ifdef UNET_HAS_CUDA
  pinned = cuda_available();
  if (pinned) return pinned_allocator();
#endif
  pinned = false;
  return allocator_for(Device::CPU);
}
}  // namespace

HostBuffer::HostBuffer(std::size_t floats) : size_(floats) {
  data_ = static_cast<float*>(allocator(pinned_).allocate(floats * sizeof(float)));
}

HostBuffer::~HostBuffer() {
  if (data_ == nullptr) return;
  bool pinned = false;
  allocator(pinned).release(data_);
}

HostBuffer::HostBuffer(HostBuffer&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), pinned_(o.pinned_) {}

HostBuffer& HostBuffer::operator=(HostBuffer&& o) noexcept {
  if (this != &o) {
    HostBuffer dead(std::move(*this));
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    pinned_ = o.pinned_;
  }
  return *this;
}

}  // namespace unet
