// `unet`: the command line of unet-engine. Errors are printed as one line naming what is
// wrong; the exit code is 1 for runtime errors and 2 for usage errors.
#include <cstdio>
#include <exception>
#include <map>

#include "engine/error.hpp"
#include "tools/commands.hpp"

int main(int argc, char** argv) {
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unet: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
