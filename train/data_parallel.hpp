// What both trainers (2D and BraTS) do alike when mpirun started several processes: the global
// batch's split, the replica check, the stop vote and the words for the console.
#pragma once

#include <cstdint>
#include <string>

#include "dist/communicator.hpp"
#include "train/train_config.hpp"
#include "unet/adam.hpp"
#include "unet/unet_model.hpp"

namespace unet {

// --batch is the global batch: refused on every rank (AllRanksStopped) when it does not divide.
void check_global_batch(const TrainConfig& config, const dist::Communicator& comm);

// What changes when a run resumes on another number of processes ("" when it is the same).
std::string resumed_on_other_ranks(const TrainConfig& stored, int ranks);

// The line that says how the run is split ("" for one process).
std::string data_parallel_summary(const TrainConfig& config, const dist::Communicator& comm);

// Every rank holds rank 0's weights, buffers and Adam moments (a checksum); AllRanksStopped otherwise.
void check_replicas_identical(dist::Communicator& comm, UNet& model, Adam& adam, const std::string& when);

// Whether any rank was asked to stop; every rank calls it at the same point.
bool stop_requested_anywhere(dist::Communicator& comm, bool mine);

}  // namespace unet
