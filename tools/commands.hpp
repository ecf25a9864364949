// The `unet` subcommands. Each registers its options on a CLI11 subcommand and returns the
// function that runs it.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace unet::tools {

using Runner = std::function<int()>;

Runner add_demo_command(CLI::App& app);
Runner add_synth_command(CLI::App& app);
Runner add_train_command(CLI::App& app);
Runner add_eval_command(CLI::App& app);
Runner add_predict_command(CLI::App& app);
Runner add_bench_command(CLI::App& app);
Runner add_import_command(CLI::App& app);
Runner add_export_command(CLI::App& app);
Runner add_convert_command(CLI::App& app);

}  // namespace unet::tools
