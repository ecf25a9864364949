// A caching allocator: blocks are returned to a free list instead of the system, so a
// training step in steady state makes no cudaMalloc / cudaFree (or malloc) calls at all.
// One instance per device; the CPU one doubles as the reusable host arena.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/device.hpp"

namespace unet {

struct AllocatorStats {
  std::size_t in_use = 0;       // bytes handed out now
  std::size_t peak_in_use = 0;  // high-water mark of in_use
  std::size_t cached = 0;       // bytes held in free lists
  std::size_t raw_allocs = 0;   // calls to the system allocator (cudaMalloc / aligned_alloc)
};

class CachingAllocator {
 public:
  using RawAlloc = void* (*)(std::size_t bytes);
  using RawFree = void (*)(void* p);

  // With `caching` false every block has exactly the size asked for and goes back to the
  // system at once, so compute-sanitizer / ASan see an overrun past a tensor's end and a use
  // after free (a cached, rounded-up block hides both). The process-wide allocators cache
  // unless the environment sets UNET_NO_CACHING_ALLOCATOR=1 (bench/gpu_verdict.sh does).
  CachingAllocator(std::string name, RawAlloc raw_alloc, RawFree raw_free, bool caching = true);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(std::size_t bytes);
  void release(void* p);
  // Returns every free block to the system. Called where the shapes change (training ->
  // validation), so that blocks of one phase do not stay cached beside the other's.
  void empty_cache();

 private:
  void release_cached_locked();

 public:
  AllocatorStats stats() const;
  void reset_peak();

 private:
  static std::size_t round_up(std::size_t bytes);

  std::string name_;
  RawAlloc raw_alloc_;
  RawFree raw_free_;
  bool caching_;
  mutable std::mutex mu_;
  std::multimap<std::size_t, void*> free_;        // block size -> block
  std::unordered_map<void*, std::size_t> used_;   // block -> block size
  AllocatorStats stats_;
};

CachingAllocator& allocator_for(Device d);

}  // namespace unet
