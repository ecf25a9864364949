// `mpirun -np N unet bench`: data-parallel scaling of training on 1, 2, ... N processes of one
// launch, each process with the same batch (weak scaling, as DDP is used): samples/s, speed-up,
// efficiency, and the share of a step spent summing the gradients over the processes.
#pragma once

#include <cstdint>
#include <string>

#include "base/device.hpp"

namespace unet::tools {

struct ScalingOptions {
  int64_t base = 32, size = 256, batch = 4;  // batch: per process
  Device device = Device::CPU;
  int warmup = 2, steps = 5;
  std::string json_path;
};

int run_bench_scaling(const ScalingOptions& o);

}  // namespace unet::tools
