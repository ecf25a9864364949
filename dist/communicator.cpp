#include "dist/communicator.hpp"

#include <cstdlib>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "dist/mpi_world.hpp"

namespace unet::dist {

namespace {
std::unique_ptr<Communicator>& world_slot() {
  static std::unique_ptr<Communicator> w = std::make_unique<LocalCommunicator>();
  return w;
}
[[maybe_unused]] bool g_mpi_started = false;

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : 0;
}
}  // namespace

std::unique_ptr<Communicator> LocalCommunicator::first(int ranks) {
  UNET_CHECK(ranks == 1, "Communicator::first", trf("a world of one process has no {} ranks", std::to_string(ranks)));
  return std::make_unique<LocalCommunicator>();
}

Communicator& world() { return *world_slot(); }

int launcher_world_size() {
  // Open MPI's mpirun, then the PMI variable of MPICH's Hydra and of Slurm's srun --mpi=pmi2.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const int n = env_int(name); n > 0) return n;
  return 0;
}

std::string rank_prefix() {
  const Communicator& w = world();
  return w.size() > 1 ? trf("rank {} of {}: ", w.rank(), w.size()) : std::string();
}

Session::Session(int& argc, char**& argv) {
  const int launched = launcher_world_size();
  if (launched == 0) return;
#ifdef UNET_HAS_MPI
  world_slot() = start_mpi(argc, argv);
  g_mpi_started = true;
#else
  (void)argc;
  (void)argv;
  UNET_CHECK(
      launched == 1, "mpirun",
      trf("this unet was built without MPI, so the {} processes the launcher started would each train alone and write "
          "the same run folder; install libopenmpi-dev (scripts/install_deps.sh) and rebuild (UNET_MPI=AUTO or ON)",
          std::to_string(launched)));
#endif
}

Session::~Session() {
#ifdef UNET_HAS_MPI
  if (g_mpi_started) {
    world_slot() = std::make_unique<LocalCommunicator>();  // its NCCL communicator goes before MPI
    finish_mpi();
  }
#endif
}

void Session::abort_all(int status) {
#ifdef UNET_HAS_MPI
  if (g_mpi_started && world().size() > 1) abort_mpi(status);
#else
  (void)status;
#endif
}

void use_nccl_for_device_data() {
#ifdef UNET_HAS_MPI
  if (g_mpi_started && world().size() > 1) enable_nccl(world());
#endif
}

}  // namespace unet::dist
