// Sums and broadcasts of device memory between the GPUs of a data-parallel run, on NCCL and on
// the CUDA context's stream. Only in a build with CUDA, MPI and NCCL; the MPI world bootstraps it.
#pragma once
#ifdef UNET_HAS_NCCL

#include <array>
#include <cstdint>

namespace unet::dist {

class NcclDeviceComm {
 public:
  static constexpr int kIdBytes = 128;  // NCCL_UNIQUE_ID_BYTES, checked against nccl.h in the .cpp
  using Id = std::array<char, kIdBytes>;
  static Id new_id();  // on one rank; every other rank receives it
  NcclDeviceComm(int rank, int size, const Id& id);
  ~NcclDeviceComm();
  NcclDeviceComm(const NcclDeviceComm&) = delete;
  NcclDeviceComm& operator=(const NcclDeviceComm&) = delete;

  void allreduce_sum(float* data, int64_t count);
  void broadcast(float* data, int64_t count, int root);

 private:
  void* comm_ = nullptr;  // ncclComm_t, kept out of this header
};

}  // namespace unet::dist

#endif  // UNET_HAS_NCCL
