// `unet`: the command line of unet-engine. Errors are printed as one line naming what is
// wrong; the exit status is 0 on success, 1 for runtime errors (a bad file, a failed write),
// 2 for usage errors (an unknown, missing or out-of-range option) and 130 after Ctrl-C.
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "dist/communicator.hpp"
#include "tools/commands.hpp"

namespace {

// An error on one rank of several: the ranks that agreed on it end together; any other error
// would leave the others waiting in a collective, so it ends the whole launch.
int fail(const std::exception& e) {
  std::fprintf(stderr, "%s\n", unet::trf("unet: error: {}{}", unet::dist::rank_prefix(), e.what()).c_str());
  if (dynamic_cast<const unet::dist::AllRanksStopped*>(&e) == nullptr) unet::dist::Session::abort_all(1);
  return 1;
}

// `--lang en|zh` (or --lang=zh), anywhere before a "--": taken out of the arguments, because
// the language must be chosen before the options' help texts are written (CLI11 keeps them as
// given). Returns the value, "" when absent, "?" when --lang ends the line without one; `args`
// keeps the other arguments.
std::string take_lang_option(int argc, char** argv, std::vector<char*>& args) {
  std::string lang;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) {
      for (; i < argc; ++i) args.push_back(argv[i]);
      break;
    }
    if (std::strcmp(argv[i], "--lang") == 0) {
      lang = i + 1 < argc ? argv[++i] : "?";
    } else if (std::strncmp(argv[i], "--lang=", 7) == 0) {
      lang = argv[i] + 7;
    } else {
      args.push_back(argv[i]);
    }
  }
  return lang;
}

// CLI11's own words in --help (its defaults are English).
void translate_help_labels(CLI::App& app) {
  auto f = app.get_formatter();
  f->label("Usage", unet::tr("Usage"));
  f->label("OPTIONS", unet::tr("OPTIONS"));
  f->label("SUBCOMMAND", unet::tr("SUBCOMMAND"));
  f->label("SUBCOMMANDS", unet::tr("SUBCOMMANDS"));
  f->label("REQUIRED", unet::tr("REQUIRED"));
  f->label("Positionals", unet::tr("Positionals"));
  f->label("Needs", unet::tr("Needs"));
  f->label("Excludes", unet::tr("Excludes"));
  app.option_defaults()->group(unet::tr("Options"));
  app.set_help_flag("-h,--help", unet::tr("Print this help message and exit"));
}

}  // namespace

int main(int argc, char** argv) {
  // The language first, so that every message after it (MPI's start included) is in it.
  std::vector<char*> args;
  const std::string lang = take_lang_option(argc, argv, args);
  try {
    if (lang == "?") UNET_THROW("--lang", unet::tr("needs a value: en or zh"));
    const std::string warning = unet::select_language(lang);
    if (!warning.empty()) std::fprintf(stderr, "%s\n", warning.c_str());
  } catch (const std::exception& e) {
    unet::select_language("");
    std::fprintf(stderr, "%s\n", unet::trf("unet: usage error: {}", e.what()).c_str());
    return 2;
  }
  int n_args = static_cast<int>(args.size());
  args.push_back(nullptr);  // argv's terminator, for MPI_Init
  char** arg_values = args.data();
  std::unique_ptr<unet::dist::Session> mpi;  // MPI_Init when mpirun started this process
  try {
    mpi = std::make_unique<unet::dist::Session>(n_args, arg_values);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", unet::trf("unet: error: {}", e.what()).c_str());
    return 1;
  }
  CLI::App app{unet::tr("unet-engine: U-Net training and inference for brain-MRI segmentation")};
  translate_help_labels(app);
  // Shown in --help only: the value was taken out above.
  const std::string lang_help = unet::tr(
      "language of messages, --help and the report: en or zh (default: from LANGUAGE, LC_ALL, LC_MESSAGES or LANG; "
      "zh_* "
      "gives Chinese)");
  app.add_option("--lang", lang_help)->type_name("en|zh");
  app.require_subcommand(1);
  std::map<CLI::App*, unet::tools::Runner> runners;
  auto add = [&](auto adder) {
    const size_t before = app.get_subcommands({}).size();
    unet::tools::Runner r = adder(app);
    CLI::App* sub = app.get_subcommands({})[before];
    sub->group(unet::tr("Subcommands"));
    // The help flag is made with the subcommand, before it takes the translated group name.
    if (CLI::Option* help = sub->get_help_ptr()) help->group(unet::tr("Options"));
    runners[sub] = std::move(r);
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
  // (CLI11's parse messages themselves are English: they come from the library.)
  auto usage_error = [&](const CLI::ParseError& e) {
    std::string command = "unet";
    for (const CLI::App* sub : app.get_subcommands()) command += " " + sub->get_name();
    std::fprintf(stderr, "%s\n",
                 unet::trf("unet: usage error: {}\nRun '{} --help' to see the options.", e.what(), command).c_str());
    return 2;
  };
  try {
    app.parse(n_args, arg_values);
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
        throw unet::dist::AllRanksStopped(
            __FILE__, __LINE__, "mpirun",
            unet::trf("only 'unet train' and 'unet bench' run on several processes; run 'unet {}' as one process "
                      "(without mpirun)",
                      sub->get_name()));
      return run();
    }
  } catch (const CLI::ParseError& e) {
    return usage_error(e);  // an option combination the runner refused before any work
  } catch (const std::exception& e) {
    return fail(e);
  }
  return 0;
}
