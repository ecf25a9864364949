#include "dist/mpi_world.hpp"
#ifdef UNET_HAS_MPI

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/i18n.hpp"
#ifdef UNET_HAS_CUDA
#include "base/cuda_context.hpp"
#endif
#ifdef UNET_HAS_NCCL
#include "dist/nccl_device_comm.hpp"
#endif

// Every MPI call is checked; MPI_COMM_WORLD returns its errors (MPI_ERRORS_RETURN) so they
// reach the user as an Error naming the call, not as MPI's own abort.
#define UNET_MPI_CHECK(call)                                             \
  do {                                                                   \
    const int unet_mpi_ = (call);                                        \
    if (unet_mpi_ != MPI_SUCCESS) {                                      \
      char unet_msg_[MPI_MAX_ERROR_STRING];                              \
      int unet_len_ = 0;                                                 \
      MPI_Error_string(unet_mpi_, unet_msg_, &unet_len_);                \
      UNET_THROW(#call, std::string(unet_msg_, static_cast<size_t>(unet_len_))); \
    }                                                                    \
  } while (0)

namespace unet::dist {

namespace {

// Counts above INT_MAX go in pieces: MPI counts are ints.
template <class F>
void in_pieces(int64_t count, F&& f) {
  constexpr int64_t kPiece = int64_t{1} << 30;
  for (int64_t at = 0; at < count; at += kPiece) f(at, static_cast<int>(std::min(kPiece, count - at)));
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm, bool owned) : comm_(comm), owned_(owned) {
    UNET_MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
    UNET_MPI_CHECK(MPI_Comm_size(comm_, &size_));
  }
  ~MpiCommunicator() override {
#ifdef UNET_HAS_NCCL
    nccl_.reset();
#endif
    if (owned_) MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override {
#ifdef UNET_HAS_NCCL
    if (nccl_) return "MPI + NCCL";
#endif
    return "MPI";
  }

  void allreduce_sum(float* data, int64_t count, Device d) override {
    if (size_ == 1 || count == 0) return;
#ifdef UNET_HAS_NCCL
    if (d == Device::CUDA && nccl_) return nccl_->allreduce_sum(data, count);
#endif
    on_host(data, count, d, [&](float* host) {
      in_pieces(count, [&](int64_t at, int n) {
        UNET_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, host + at, n, MPI_FLOAT, MPI_SUM, comm_));
      });
    });
  }

  void broadcast(float* data, int64_t count, Device d, int root) override {
    if (size_ == 1 || count == 0) return;
#ifdef UNET_HAS_NCCL
    if (d == Device::CUDA && nccl_) return nccl_->broadcast(data, count, root);
#endif
    on_host(data, count, d, [&](float* host) {
      in_pieces(count, [&](int64_t at, int n) { UNET_MPI_CHECK(MPI_Bcast(host + at, n, MPI_FLOAT, root, comm_)); });
    });
  }

  void allreduce_sum_host(double* data, int64_t count) override {
    in_pieces(count, [&](int64_t at, int n) {
      UNET_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data + at, n, MPI_DOUBLE, MPI_SUM, comm_));
    });
  }
  void allreduce_max_host(int64_t* data, int64_t count) override {
    in_pieces(count, [&](int64_t at, int n) {
      UNET_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, data + at, n, MPI_INT64_T, MPI_MAX, comm_));
    });
  }
  void broadcast_host(void* data, int64_t bytes, int root) override {
    in_pieces(bytes, [&](int64_t at, int n) {
      UNET_MPI_CHECK(MPI_Bcast(static_cast<char*>(data) + at, n, MPI_BYTE, root, comm_));
    });
  }
  void barrier() override { UNET_MPI_CHECK(MPI_Barrier(comm_)); }

  std::unique_ptr<Communicator> first(int ranks) override {
    UNET_CHECK(ranks >= 1 && ranks <= size_, "Communicator::first",
               trf("asked for {} ranks of {}", std::to_string(ranks), std::to_string(size_)));
    MPI_Comm sub = MPI_COMM_NULL;
    UNET_MPI_CHECK(MPI_Comm_split(comm_, rank_ < ranks ? 0 : MPI_UNDEFINED, rank_, &sub));
    if (sub == MPI_COMM_NULL) return nullptr;
    UNET_MPI_CHECK(MPI_Comm_set_errhandler(sub, MPI_ERRORS_RETURN));
    auto c = std::make_unique<MpiCommunicator>(sub, true);
#ifdef UNET_HAS_NCCL
    if (nccl_ && ranks > 1) c->start_nccl();
#endif
    return c;
  }

#ifdef UNET_HAS_NCCL
  void start_nccl() {
    if (nccl_) return;
    NcclDeviceComm::Id id{};
    if (rank_ == 0) id = NcclDeviceComm::new_id();
    broadcast_host(id.data(), NcclDeviceComm::kIdBytes, 0);
    nccl_ = std::make_unique<NcclDeviceComm>(rank_, size_, id);
  }
#endif

 private:
  // Runs `f` on a host copy of device data (MPI here is not assumed to read GPU memory).
  template <class F>
  void on_host(float* data, int64_t count, Device d, F&& f) {
    if (d == Device::CPU) return f(data);
#ifdef UNET_HAS_CUDA
    std::vector<float> host(static_cast<size_t>(count));
    const size_t bytes = static_cast<size_t>(count) * sizeof(float);
    CudaContext& ctx = CudaContext::get();
    UNET_CUDA_CHECK(cudaMemcpyAsync(host.data(), data, bytes, cudaMemcpyDeviceToHost, ctx.stream()));
    ctx.synchronize();
    f(host.data());
    UNET_CUDA_CHECK(cudaMemcpyAsync(data, host.data(), bytes, cudaMemcpyHostToDevice, ctx.stream()));
    ctx.synchronize();  // `host` is freed on return
#else
    (void)count;
    UNET_THROW("allreduce", tr("CUDA data in a build without CUDA"));
#endif
  }

  MPI_Comm comm_;
  bool owned_;
  int rank_ = 0, size_ = 1;
#ifdef UNET_HAS_NCCL
  std::unique_ptr<NcclDeviceComm> nccl_;
#endif
};

}  // namespace

std::unique_ptr<Communicator> start_mpi(int& argc, char**& argv) {
  int provided = 0;
  UNET_MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
  UNET_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  int rank = 0;
  UNET_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  MPI_Comm node = MPI_COMM_NULL;  // the ranks on this machine
  int local_rank = 0;
  UNET_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node));
  UNET_MPI_CHECK(MPI_Comm_rank(node, &local_rank));
  UNET_MPI_CHECK(MPI_Comm_free(&node));
#ifdef UNET_HAS_CUDA
  // Before any other CUDA call makes a context on GPU 0. No GPU (or no driver): the CPU is used,
  // and resolve_device says so when CUDA is asked for.
  int gpus = 0;
  if (cudaGetDeviceCount(&gpus) == cudaSuccess && gpus > 0) UNET_CUDA_CHECK(cudaSetDevice(local_rank % gpus));
  cudaGetLastError();  // clears the "no driver" error of a GPU-less machine
#endif
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, false);
}

void finish_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void abort_mpi(int status) { MPI_Abort(MPI_COMM_WORLD, status); }

void enable_nccl(Communicator& world) {
#ifdef UNET_HAS_NCCL
  auto* mpi = dynamic_cast<MpiCommunicator*>(&world);
  UNET_CHECK(mpi != nullptr, "NCCL", tr("the world is not an MPI communicator"));
  mpi->start_nccl();
#else
  if (world.rank() == 0)
    std::fputs(
        tr("unet: this build has no NCCL; the gradients of the GPUs are summed through the host over MPI\n").c_str(),
        stderr);
#endif
}

}  // namespace unet::dist

#endif  // UNET_HAS_MPI
