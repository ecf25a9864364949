// `unet synth`: writes a synthetic dataset in the kaggle_3m layout.
#include <chrono>
#include <cstdio>

#include "data/synth.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"

namespace unet::tools {

Runner add_synth_command(CLI::App& app) {
  auto cfg = std::make_shared<data::SynthConfig>();
  auto compression = std::make_shared<std::string>("none");
  CLI::App* sub = app.add_subcommand("synth", "Generate a synthetic MRI dataset in the Kaggle LGG kaggle_3m layout");
  sub->add_option("--out", cfg->out, "output folder (kaggle_3m/ is created inside)")->required();
  sub->add_option("--patients", cfg->patients, "number of patients (the real set has 110)")
      ->check(checks::at_least(1))->capture_default_str();
  sub->add_option("--seed", cfg->seed, "seed; the same seed writes the same files")->capture_default_str();
  sub->add_option("--threads", cfg->threads, "writer threads")->check(checks::at_least(1))->capture_default_str();
  sub->add_option("--compression", *compression, "TIFF compression: none (as the real set), lzw, deflate, packbits")
      ->check(checks::one_of({"none", "lzw", "deflate", "packbits"}))->capture_default_str();
  return [cfg, compression]() {
    cfg->compression = data::parse_tiff_compression(*compression);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = data::generate_synthetic(*cfg);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("unet synth: %lld patients, %lld slices, %lld with tumour (%.1f%%) in %s/kaggle_3m (%.1f s)\n",
                static_cast<long long>(r.patients), static_cast<long long>(r.slices),
                static_cast<long long>(r.positive_slices), 100.0 * static_cast<double>(r.positive_slices) / static_cast<double>(r.slices),
                cfg->out.c_str(), secs);
    return 0;
  };
}

}  // namespace unet::tools
