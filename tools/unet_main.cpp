// `unet`: the command line of unet-engine. Errors are printed as one line naming what is
// wrong; the exit status is 0 on success, 1 for runtime errors (a bad file, a failed write),
// 2 for usage errors (an unknown, missing or out-of-range option) and 130 after Ctrl-C.
#include <cstdio>
#include <exception>
#include <map>
#include <memory>

#include "base/error.hpp"
#include "dist/communicator.hpp"
#include "tools/commands.hpp"

namespace {
// An error on one rank of several: the ranks that agreed on it end together; any other error
// would leave the others waiting in a collective, so it ends the whole launch.
int fail(const std::exception& e) {
  std::fprintf(stderr, "unet: error: %s%s\n", unet::dist::rank_prefix().c_str(), e.what());
  if (dynamic_cast<const unet::dist::AllRanksStopped*>(&e) == nullptr) unet::dist::Session::abort_all(1);
  return 1;
}
}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<unet::dist::Session> mpi;  // MPI_Init when mpirun started this process
  try {
    mpi = std::make_unique<unet::dist::Session>(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unet: error: %s\n", e.what());
    return 1;
  }
  CLI::App app{"unet-engine: U-Net training and inference for brain-MRI segmentation"};
  app.require_subcommand(1);
  std::map<CLI::App*, unet::tools::Runner> runners;
  auto add = [&](auto adder) {
    const size_t before = app.get_subcommands({}).size();
    unet::tools::Runner r = adder(app);
    runners[app.get_subcommands({})[before]] = std::move(r);
  };
  add(unet::tools::add_demo_command);
  add(unet::tools::add_synth_command);
  add(unet::tools::add_train_command);
  add(unet::tools::add_eval_command);
  add(unet::tools::add_predict_command);
  add(unet::tools::add_bench_command);
  add(unet::tools::add_import_command);
  add(unet::tools::add_export_command);
  add(unet::tools::add_convert_command);
  // CLI11's own exit codes (105, 106...) say nothing to a shell script; every usage error is 2.
  auto usage_error = [&](const CLI::ParseError& e) {
    std::string command = "unet";
    for (const CLI::App* sub : app.get_subcommands()) command += " " + sub->get_name();
    std::fprintf(stderr, "unet: usage error: %s\nRun '%s --help' to see the options.\n", e.what(), command.c_str());
    return 2;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help
  } catch (const CLI::ParseError& e) {
    return usage_error(e);
  }
  try {
    for (auto& [sub, run] : runners) {
      if (!sub->parsed()) continue;
      // The same refusal on every rank, so they end together.
      if (unet::dist::world().size() > 1 && sub->get_name() != "train" && sub->get_name() != "bench")
        throw unet::dist::AllRanksStopped(__FILE__, __LINE__, "mpirun",
                                          "only 'unet train' and 'unet bench' run on several processes; run 'unet " +
                                              sub->get_name() + "' as one process (without mpirun)");
      return run();
    }
  } catch (const CLI::ParseError& e) {
    return usage_error(e);  // an option combination the runner refused before any work
  } catch (const std::exception& e) {
    return fail(e);
  }
  return 0;
}
