// MPI_COMM_WORLD as a Communicator (dist/communicator.hpp); only in a build with MPI.
#pragma once
#ifdef UNET_HAS_MPI

#include <memory>

#include "dist/communicator.hpp"

namespace unet::dist {

// MPI_Init_thread (only the main thread calls MPI), errors returned instead of fatal, the
// node-local rank found and, in a CUDA build with GPUs, GPU local_rank % count selected.
std::unique_ptr<Communicator> start_mpi(int& argc, char**& argv);
void finish_mpi();
void abort_mpi(int status);
// Bootstraps an NCCL communicator over `world` (rank 0's ncclUniqueId broadcast over MPI).
void enable_nccl(Communicator& world);

}  // namespace unet::dist

#endif  // UNET_HAS_MPI
