#include "base/allocator.hpp"

#include <cstdio>
#include <cstdlib>
#include <malloc.h>
#include <new>
#include <string>

#include "base/error.hpp"
#include "base/i18n.hpp"
#ifdef UNET_HAS_CUDA
#include "base/cuda_check.hpp"
#endif

namespace unet {

CachingAllocator::CachingAllocator(std::string name, RawAlloc raw_alloc, RawFree raw_free, bool caching)
    : name_(std::move(name)), raw_alloc_(raw_alloc), raw_free_(raw_free), caching_(caching) {}

namespace {
bool caching_from_environment() {
  const char* v = std::getenv("UNET_NO_CACHING_ALLOCATOR");
  return v == nullptr || std::string(v).empty() || std::string(v) == "0";
}
}  // namespace

void CachingAllocator::release_cached_locked() {
  for (auto& [size, p] : free_) raw_free_(p);
  free_.clear();
  stats_.cached = 0;
}

CachingAllocator::~CachingAllocator() {
  // Blocks still in use at exit belong to static tensors; leave them to the OS.
  for (auto& [size, p] : free_) raw_free_(p);
}

std::size_t CachingAllocator::round_up(std::size_t bytes) {
  // 512-byte granularity below 1 MiB; above, 1/8 power-of-two steps so that tensors of
  // slightly different sizes (e.g. odd spatial shapes) share blocks.
  constexpr std::size_t kSmall = 512;
  if (bytes == 0) bytes = 1;
  if (bytes < (1u << 20)) return (bytes + kSmall - 1) / kSmall * kSmall;
  std::size_t p2 = 1;
  while (p2 * 2 <= bytes) p2 *= 2;
  const std::size_t step = p2 / 8;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(std::size_t bytes) {
  const std::size_t size = caching_ ? round_up(bytes) : (bytes == 0 ? 1 : bytes);
  std::lock_guard<std::mutex> lock(mu_);
  // Best fit among the free blocks up to twice the size: a larger block costs no extra
  // resident memory (its pages are resident already), while a new block would, and shapes
  // that change through a network (encoder, decoder, another batch) then reuse what exists.
  auto it = free_.lower_bound(size);
  if (it != free_.end() && it->first <= 2 * size) {
    void* p = it->second;
    const std::size_t block = it->first;
    free_.erase(it);
    stats_.cached -= block;
    used_[p] = block;
    stats_.in_use += block;
    if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
    return p;
  }
  void* p = raw_alloc_(size);
  if (p == nullptr) {
    // Out of memory: give the cache back to the system and try once more.
    release_cached_locked();
    p = raw_alloc_(size);
  }
  UNET_CHECK(
      p != nullptr, name_ + " allocate",
      trf("out of memory allocating {} bytes ({} bytes in use)", std::to_string(size), std::to_string(stats_.in_use)));
  ++stats_.raw_allocs;
  used_[p] = size;
  stats_.in_use += size;
  if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
  return p;
}

void CachingAllocator::release(void* p) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = used_.find(p);
  UNET_CHECK(it != used_.end(), name_ + " release", tr("pointer was not allocated here"));
  const std::size_t size = it->second;
  used_.erase(it);
  stats_.in_use -= size;
  if (!caching_) {
    raw_free_(p);
    return;
  }
  free_.emplace(size, p);
  stats_.cached += size;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_cached_locked();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_in_use = stats_.in_use;
}

namespace {
void* host_alloc(std::size_t bytes) {
  // Blocks of 1 MiB and more come from mmap, so that empty_cache() really returns them to
  // the system: glibc otherwise raises its mmap threshold after the first large free and
  // serves later blocks from the heap, which a free does not shrink.
  static const bool mmap_large = [] { return mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1; }();
  (void)mmap_large;
  // 64-byte alignment: one AVX-512 vector / cache line, as oneDNN prefers.
  return std::aligned_alloc(64, bytes);
}
void host_free(void* p) { std::free(p); }

#ifdef UNET_HAS_CUDA
void* device_alloc(std::size_t bytes) {
  void* p = nullptr;
  const cudaError_t err = cudaMalloc(&p, bytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear; the caller empties the cache and retries
    return nullptr;
  }
  UNET_CUDA_CHECK(err);
  return p;
}
void device_free(void* p) {
  // Runs from destructors, so it reports instead of throwing.
  const cudaError_t err = cudaFree(p);
  if (err != cudaSuccess) std::fprintf(stderr, tr("unet: cudaFree failed: %s\n").c_str(), cudaGetErrorString(err));
}
#endif
}  // namespace

CachingAllocator& allocator_for(Device d) {
  static CachingAllocator host("host allocator", host_alloc, host_free, caching_from_environment());
  if (d == Device::CPU) return host;
#ifdef UNET_HAS_CUDA
  static CachingAllocator device("cuda allocator", device_alloc, device_free, caching_from_environment());
  return device;
#else
  UNET_THROW("allocator_for(cuda)", tr("this binary was built without CUDA"));
#endif
}

}  // namespace unet
