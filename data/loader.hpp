// Batches from the in-memory dataset: worker threads render (and augment) samples into
// host buffers ahead of the trainer, a bounded queue of `prefetch` batches, delivered in
// order. What a batch holds depends only on (seed, epoch, batch index), never on the number
// of workers or their timing. In a data-parallel run each rank renders only its contiguous
// share of every global batch, and a sample's augmentation depends only on its place in the
// epoch, so the samples of a global batch are the same on any number of ranks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/augment.hpp"
#include "data/dataset.hpp"
#include "base/host_buffer.hpp"

namespace unet::data {

struct SliceRef {
  int32_t volume = 0;
  int32_t slice = 0;
};

// The slices of the given volumes; with drop_empty, only those with tumour.
std::vector<SliceRef> select_slices(const std::vector<Volume>& volumes, const std::vector<size_t>& volume_indices,
                                    bool drop_empty);

struct LoaderConfig {
  int64_t batch_size = 16;
  int workers = 2;
  int prefetch = 4;
  bool augment = false;
  AugmentConfig augment_config;
  bool shuffle = false;
  bool weighted_sampling = false;  // reference: volume uniform, slice ~ tumour area + 10% of mean
  uint64_t seed = 0;
  int rank = 0, ranks = 1;  // this process's share of every global batch of batch_size samples
};

struct Batch {
  int64_t index = 0;
  int64_t size = 0;        // N: this rank's share
  int64_t global_size = 0; // the global batch's samples, summed over the ranks
  int64_t image_size = 0;  // S
  HostBuffer images;       // [N, 3, S, S]
  HostBuffer masks;        // [N, 1, S, S]
  std::vector<SliceRef> refs;
};

class Loader {
 public:
  Loader(const std::vector<Volume>& volumes, std::vector<SliceRef> items, LoaderConfig config);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Starts `epoch`; with first_batch > 0 the epoch resumes there (batches before it are not built).
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  bool next(Batch& out);  // false when the epoch is done
  // With several ranks, a last batch smaller than the rank count is dropped (a rank would get none).
  int64_t batches_per_epoch() const;
  int64_t samples_per_epoch() const { return static_cast<int64_t>(items_.size()); }

 private:
  void stop();
  void work();
  void build(int64_t b, Batch& out) const;

  const std::vector<Volume>& volumes_;
  std::vector<SliceRef> items_;
  LoaderConfig config_;
  int64_t epoch_ = 0;
  std::vector<SliceRef> order_;  // this epoch's samples

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Batch> ready_;
  int64_t next_to_build_ = 0, next_to_deliver_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace unet::data
