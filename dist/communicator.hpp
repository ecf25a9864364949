// The processes of a data-parallel run and the collectives between them: each process (rank)
// holds a replica of the model and its share of every batch, and the gradients are summed
// across ranks after backward (PyTorch DDP, Horovod). A process not started by an MPI launcher
// is a world of one, whose collectives do nothing; the engine never needs to ask which.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/device.hpp"
#include "base/error.hpp"

namespace unet::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // What carries the collectives: "none" (one process), "MPI", or "MPI + NCCL" (device data on NCCL).
  virtual std::string backend() const = 0;

  // Sums `count` floats across ranks, in place. On CUDA `data` is device memory and the sum is
  // queued on the context's stream (NCCL) or staged through the host (MPI only).
  virtual void allreduce_sum(float* data, int64_t count, Device d) = 0;
  // Every rank's `data` becomes `root`'s.
  virtual void broadcast(float* data, int64_t count, Device d, int root) = 0;
  // Host values; these wait for every rank.
  virtual void allreduce_sum_host(double* data, int64_t count) = 0;
  virtual void allreduce_max_host(int64_t* data, int64_t count) = 0;
  virtual void broadcast_host(void* data, int64_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // The ranks 0 .. ranks-1 as a communicator of their own; null on the other ranks. Every rank
  // must call it (`unet bench` measures scaling on 1, 2, ... ranks of one launch).
  virtual std::unique_ptr<Communicator> first(int ranks) = 0;

  bool is_root() const { return rank() == 0; }
};

// A world of one process: every collective leaves the data as it is.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "none"; }
  void allreduce_sum(float*, int64_t, Device) override {}
  void broadcast(float*, int64_t, Device, int) override {}
  void allreduce_sum_host(double*, int64_t) override {}
  void allreduce_max_host(int64_t*, int64_t) override {}
  void broadcast_host(void*, int64_t, int) override {}
  void barrier() override {}
  std::unique_ptr<Communicator> first(int ranks) override;
};

// An error raised on every rank at the same point (a rank failed or a loss was not finite, and the
// ranks agreed on it), so every rank ends in step. Any other error on one rank while the others
// wait in a collective ends the whole launch instead (Session::abort_all).
class AllRanksStopped : public Error {
 public:
  using Error::Error;
};

// All processes of this launch: MPI_COMM_WORLD once a Session has started MPI, else a world of one.
Communicator& world();

// Sends device collectives of world() through NCCL from now on (a CUDA run of several ranks).
// Needs a build with NCCL; without it, device data is staged through the host (and a line says so).
void use_nccl_for_device_data();

// The size of the world an MPI launcher (mpirun, srun) announced in the environment, or 0 when
// none started this process.
int launcher_world_size();

// Starts MPI in main() when an MPI launcher started the process and finishes it at the end.
// A launch of several processes of a build without MPI is refused: each would train alone and
// all would write the same run folder.
class Session {
 public:
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  // After an error that left the ranks out of step: ends every rank of a world of several
  // (MPI_Abort) instead of leaving the others waiting in a collective. Nothing in a world of one.
  static void abort_all(int status);
};

// "rank 1 of 4: " in a world of several processes, "" otherwise: the prefix of a rank's own lines.
std::string rank_prefix();

}  // namespace unet::dist
