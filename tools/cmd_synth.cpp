// `unet synth`: writes a synthetic dataset in the kaggle_3m layout, or in the BraTS 2020 layout
// with --kind brats.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "data/synth.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "data/synth_brats.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"

namespace unet::tools {

Runner add_synth_command(CLI::App& app) {
  auto cfg = std::make_shared<data::SynthConfig>();
  auto compression = std::make_shared<std::string>("none");
  auto kind = std::make_shared<std::string>("kaggle");
  auto brats = std::make_shared<data::SynthBratsConfig>();
  auto volume = std::make_shared<std::vector<int64_t>>(brats->size.begin(), brats->size.end());
  CLI::App* sub = app.add_subcommand(
      "synth", tr("Generate a synthetic MRI dataset: the Kaggle LGG kaggle_3m layout (TIFF slices), or with\n--kind "
                  "brats the BraTS 2020 layout (4 NIfTI modalities and seg per case, some .nii.gz)"));
  sub->add_option("--out", cfg->out,
                  tr("output folder (kaggle_3m/ or MICCAI_BraTS2020_TrainingData/ is created inside)"))
      ->required();
  sub->add_option("--kind", *kind, tr("kaggle (2D TIFF slices) or brats (3D NIfTI volumes)"))
      ->check(checks::one_of({"kaggle", "brats"}))
      ->capture_default_str();
  sub->add_option("--patients", cfg->patients, tr("number of patients (the real sets: 110 kaggle, 369 BraTS 2020)"))
      ->check(checks::at_least(1))
      ->capture_default_str();
  sub->add_option("--volume", *volume, tr("brats: volume size X Y Z (the real set: 240 240 155)"))
      ->expected(3)
      ->check(checks::between(8, 1024))
      ->capture_default_str();
  sub->add_option("--seed", cfg->seed, tr("seed; the same seed writes the same files"))->capture_default_str();
  sub->add_option("--threads", cfg->threads, tr("writer threads"))->check(checks::at_least(1))->capture_default_str();
  sub->add_option("--compression", *compression, tr("TIFF compression: none (as the real set), lzw, deflate, packbits"))
      ->check(checks::one_of({"none", "lzw", "deflate", "packbits"}))
      ->capture_default_str();
  return [cfg, compression, kind, brats, volume, sub]() {
    if (*kind == "brats") {
      std::copy(volume->begin(), volume->end(), brats->size.begin());
      UNET_CHECK(sub->count("--compression") == 0, "--compression", tr("is for TIFF files; BraTS cases are NIfTI"));
      brats->out = cfg->out;
      brats->cases = cfg->patients;
      brats->seed = cfg->seed;
      brats->threads = cfg->threads;
      const auto t0 = std::chrono::steady_clock::now();
      const auto r = data::synth_brats(*brats);
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf(
          tr("unet synth: %lld BraTS cases of %lldx%lldx%lld voxels (%lld as .nii.gz), %lld files in %s (%.1f s)\n")
              .c_str(),
          static_cast<long long>(r.cases), static_cast<long long>(brats->size[0]),
          static_cast<long long>(brats->size[1]), static_cast<long long>(brats->size[2]),
          static_cast<long long>(r.compressed_cases), static_cast<long long>(r.files), r.root.c_str(), secs);
      return 0;
    }
    UNET_CHECK(sub->count("--volume") == 0, "--volume", tr("is for --kind brats"));
    cfg->compression = data::parse_tiff_compression(*compression);
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = data::generate_synthetic(*cfg);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        tr("unet synth: %lld patients, %lld slices, %lld with tumour (%.1f%%) in %s/kaggle_3m (%.1f s)\n").c_str(),
        static_cast<long long>(r.patients), static_cast<long long>(r.slices), static_cast<long long>(r.positive_slices),
        100.0 * static_cast<double>(r.positive_slices) / static_cast<double>(r.slices), cfg->out.c_str(), secs);
    return 0;
  };
}

}  // namespace unet::tools
