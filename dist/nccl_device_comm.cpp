#include "dist/nccl_device_comm.hpp"
#ifdef UNET_HAS_NCCL

#include <nccl.h>

#include <cstring>
#include <string>

#include "base/cuda_context.hpp"
#include "base/error.hpp"

#define UNET_NCCL_CHECK(call)                                                                 \
  do {                                                                                        \
    const ncclResult_t unet_nccl_ = (call);                                                   \
    if (unet_nccl_ != ncclSuccess)                                                            \
      UNET_THROW(#call, std::string(ncclGetErrorString(unet_nccl_)) +                         \
                            (unet_nccl_ == ncclSystemError || unet_nccl_ == ncclRemoteError   \
                                 ? std::string(" (") + ncclGetLastError(nullptr) + ")"        \
                                 : std::string()));                                           \
  } while (0)

namespace unet::dist {

static_assert(NcclDeviceComm::kIdBytes == NCCL_UNIQUE_ID_BYTES, "NCCL changed the size of its unique id");

NcclDeviceComm::Id NcclDeviceComm::new_id() {
  ncclUniqueId id;
  UNET_NCCL_CHECK(ncclGetUniqueId(&id));
  Id out;
  std::memcpy(out.data(), id.internal, kIdBytes);
  return out;
}

NcclDeviceComm::NcclDeviceComm(int rank, int size, const Id& id) {
  ncclUniqueId nid;
  std::memcpy(nid.internal, id.data(), kIdBytes);
  ncclComm_t comm = nullptr;
  UNET_NCCL_CHECK(ncclCommInitRank(&comm, size, nid, rank));
  comm_ = comm;
}

NcclDeviceComm::~NcclDeviceComm() {
  if (comm_ != nullptr) ncclCommDestroy(static_cast<ncclComm_t>(comm_));  // nothing to do about an error here
}

void NcclDeviceComm::allreduce_sum(float* data, int64_t count) {
  UNET_NCCL_CHECK(ncclAllReduce(data, data, static_cast<size_t>(count), ncclFloat, ncclSum,
                                static_cast<ncclComm_t>(comm_), CudaContext::get().stream()));
}

void NcclDeviceComm::broadcast(float* data, int64_t count, int root) {
  UNET_NCCL_CHECK(ncclBroadcast(data, data, static_cast<size_t>(count), ncclFloat, root,
                                static_cast<ncclComm_t>(comm_), CudaContext::get().stream()));
}

}  // namespace unet::dist

#endif  // UNET_HAS_NCCL
