#include "train/data_parallel.hpp"

#include <string_view>

#include "base/fnv_hash.hpp"

namespace unet {

void check_global_batch(const TrainConfig& config, const dist::Communicator& comm) {
  if (config.batch % comm.size() != 0)  // the same on every rank, so they all end here
    throw dist::AllRanksStopped(__FILE__, __LINE__, "--batch",
                                "the global batch of " + std::to_string(config.batch) + " does not divide among " +
                                    std::to_string(comm.size()) +
                                    " processes; --batch is the global batch, so give a multiple of " +
                                    std::to_string(comm.size()));
}

Share rank_share(int64_t n, const dist::Communicator& comm) {
  return Share{n * comm.rank() / comm.size(), n * (comm.rank() + 1) / comm.size()};
}

std::string resumed_on_other_ranks(const TrainConfig& stored, int ranks) {
  if (stored.ranks == ranks) return {};
  return "the run trained on " + std::to_string(stored.ranks) + " process(es) and continues on " +
         std::to_string(ranks) + ": the global batch stays " + std::to_string(stored.batch) +
         ", so the samples and their order are the same" +
         (stored.sync_bn ? std::string()
                         : "; BatchNorm's statistics now come from " + std::to_string(stored.batch / ranks) +
                               " samples per process instead of " + std::to_string(stored.batch / stored.ranks));
}

std::string data_parallel_summary(const TrainConfig& config, const dist::Communicator& comm) {
  if (comm.size() == 1) return {};
  return "data-parallel: " + std::to_string(comm.size()) + " processes over " + comm.backend() + ", " +
         std::to_string(config.batch / comm.size()) + " samples each of every global batch of " +
         std::to_string(config.batch) +
         (config.sync_bn ? ", BatchNorm statistics over the global batch (--sync-bn)"
                         : ", BatchNorm statistics per process (as PyTorch DDP)");
}

void check_replicas_identical(dist::Communicator& comm, UNet& model, Adam& adam, const std::string& when) {
  // FNV-1a of the bytes of every parameter, buffer and moment; rank 0's is the reference.
  Fnv1a64 hash;
  const Tensor* state[] = {&model.parameters().flat(), &model.buffers().flat(), &adam.exp_avg(), &adam.exp_avg_sq()};
  for (const Tensor* t : state) {
    if (!t->defined() || t->numel() == 0) continue;
    const Tensor host = t->to(Device::CPU);
    hash.add(std::string_view(reinterpret_cast<const char*>(host.data()), static_cast<size_t>(host.numel()) * sizeof(float)));
  }
  const uint64_t h = hash.value();
  uint64_t reference = h;
  comm.broadcast_host(&reference, sizeof reference, 0);
  int64_t differs = reference != h ? 1 : 0;
  comm.allreduce_max_host(&differs, 1);
  if (differs)
    throw dist::AllRanksStopped(__FILE__, __LINE__, "data-parallel",
                                "the processes hold different weights " + when +
                                    " (checksums differ from rank 0's); every process must start from the same "
                                    "seed and checkpoint");
}

bool stop_requested_anywhere(dist::Communicator& comm, bool mine) {
  int64_t stop = mine ? 1 : 0;
  comm.allreduce_max_host(&stop, 1);
  return stop != 0;
}

}  // namespace unet
