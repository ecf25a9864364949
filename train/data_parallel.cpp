#include "train/data_parallel.hpp"

#include <string_view>

#include "base/fnv_hash.hpp"
#include "base/i18n.hpp"

namespace unet {

void check_global_batch(const TrainConfig& config, const dist::Communicator& comm) {
  if (config.batch % comm.size() != 0)  // the same on every rank, so they all end here
    throw dist::AllRanksStopped(__FILE__, __LINE__, "--batch",
                                trf("the global batch of {} does not divide among {} processes; --batch is the global "
                                    "batch, so give a multiple of {}",
                                    config.batch, comm.size(), comm.size()));
}

std::string resumed_on_other_ranks(const TrainConfig& stored, int ranks) {
  if (stored.ranks == ranks) return {};
  const std::string bn = stored.sync_bn
                             ? std::string()
                             : trf("; BatchNorm's statistics now come from {} samples per process instead of {}",
                                   stored.batch / ranks, stored.batch / stored.ranks);
  return trf("the run trained on {} process(es) and continues on {}: the global batch stays {}, so the samples and "
             "their order are the same{}",
             stored.ranks, ranks, stored.batch, bn);
}

std::string data_parallel_summary(const TrainConfig& config, const dist::Communicator& comm) {
  if (comm.size() == 1) return {};
  const std::string bn = config.sync_bn ? tr(", BatchNorm statistics over the global batch (--sync-bn)")
                                        : tr(", BatchNorm statistics per process (as PyTorch DDP)");
  return trf("data-parallel: {} processes over {}, {} samples each of every global batch of {}{}", comm.size(),
             comm.backend(), config.batch / comm.size(), config.batch, bn);
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
                                trf("the processes hold different weights {} (checksums differ from rank 0's); every "
                                    "process must start from the same seed and checkpoint",
                                    when));
}

bool stop_requested_anywhere(dist::Communicator& comm, bool mine) {
  int64_t stop = mine ? 1 : 0;
  comm.allreduce_max_host(&stop, 1);
  return stop != 0;
}

}  // namespace unet
