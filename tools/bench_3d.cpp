#include "tools/bench_3d.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/allocator.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "engine/autograd.hpp"
#include "tools/bench_measure.hpp"
#include "unet/adam.hpp"
#include "unet/inference_memory.hpp"
#include "unet/losses.hpp"
#include "unet/sliding_window.hpp"
#include "unet/train_step.hpp"
#include "unet/training_memory.hpp"

namespace unet::tools {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kRtx3090Bytes = 24.0 * 1024 * 1024 * 1024;  // the GPU: 24 GiB

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

// A class map [n, s, s, s] of 0..3 in blocks of 97 voxels (the loss sees every class).
Tensor class_map(int64_t n, int64_t s, Device d) {
  std::vector<float> v(static_cast<size_t>(n * s * s * s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i / 97) % 4);
  return Tensor::from_vector({n, s, s, s}, v, d);
}

void print_estimate(const char* what, const UNetConfig& config, int64_t patch, int64_t batch) {
  // The question is a GPU's, whatever device this bench runs on.
  const TrainingMemoryEstimate e = estimate_training_memory(config, {patch, patch, patch}, batch, Device::CUDA);
  std::printf(tr("  %-14s %8.0f MB (base %lld, %lld^3, batch %lld: activations %.0f + weights, gradients, Adam %.0f + "
                 "backward gradients %.0f) -> fits in 24 GB (RTX 3090): %s\n")
                  .c_str(),
              what, e.total_bytes() / kMiB, static_cast<long long>(config.base), static_cast<long long>(patch),
              static_cast<long long>(batch), 4.0 * static_cast<double>(e.activation_floats) / kMiB,
              4.0 * static_cast<double>(e.parameter_floats) / kMiB, 4.0 * static_cast<double>(e.backward_floats) / kMiB,
              (e.total_bytes() <= kRtx3090Bytes ? tr("yes") : tr("NO")).c_str());
}

}  // namespace

int run_bench_3d(const Bench3dOptions& o) {
  UNetConfig config = UNetConfig::brats3d();
  config.base = o.base;
  config.validate("--base");
  const int64_t multiple = int64_t{1} << config.depth;
  UNET_CHECK(o.patch >= multiple && o.patch % multiple == 0, "--patch",
             trf("the 3D U-Net pools {} times, so the patch must be a positive multiple of {}; got {}",
                 std::to_string(config.depth), std::to_string(multiple), std::to_string(o.patch)));
  UNET_CHECK(o.volume.size() == 3, "--volume", trf("needs 3 sizes (X Y Z), got {}", std::to_string(o.volume.size())));
  for (int64_t v : o.volume)
    UNET_CHECK(v >= 1, "--volume", trf("every size must be at least 1, got {}", std::to_string(v)));
  const Device d = o.device;
  const int64_t p = o.patch, n = o.batch;
  UNet model(config, d, 0);
  Adam adam(model.parameters(), AdamConfig{});
  const MulticlassLossConfig loss;  // the reference program's softmax Dice

  int64_t tiles = 1;
  for (int64_t v : o.volume) tiles *= static_cast<int64_t>(sliding_window_steps(std::max(v, p), p, o.overlap).size());
  std::printf(tr("unet bench: 3D U-Net (brats3d layout, base %lld, %lld parameters), patches %lld^3, volume "
                 "%lldx%lldx%lld (%lld tile%s), %s (%s)\n")
                  .c_str(),
              static_cast<long long>(o.base), static_cast<long long>(model.parameter_count()),
              static_cast<long long>(p), static_cast<long long>(o.volume[0]), static_cast<long long>(o.volume[1]),
              static_cast<long long>(o.volume[2]), static_cast<long long>(tiles), plural_s(tiles), device_name(d),
              hardware_description(d).c_str());
  std::fflush(stdout);  // the reference configuration takes minutes on a CPU: show what runs

  // Training on random patches.
  const Tensor x = random_input({n, 4, p, p, p}, 1, d);
  const Tensor classes = class_map(n, p, d);
  auto step = [&] { return train_step(model, adam, x, classes, loss).loss; };
  model.train(true);
  for (int i = 0; i < o.warmup; ++i) step();
  synchronize(d);
  auto t0 = clock_type::now();
  for (int i = 0; i < o.steps; ++i) step();
  synchronize(d);
  const double train_s = seconds_since(t0);
  const double train_sps = static_cast<double>(n * o.steps) / train_s;
  const AllocatorStats train_mem = allocator_for(d).stats();
  const double train_rss = peak_rss_mb();
  std::printf(tr("  training       %8.3f samples/s  = %.2f s/step (batch %lld, Adam + softmax Dice, %d step%s after %d "
                 "warm-up)\n")
                  .c_str(),
              train_sps, train_s / o.steps, static_cast<long long>(n), o.steps, plural_s(o.steps), o.warmup);
  std::fflush(stdout);

  // Whole-volume inference: a random 4-channel volume, tile by tile as a case is predicted.
  allocator_for(d).empty_cache();  // give the training blocks back (see the 2D bench)
  allocator_for(d).reset_peak();
  double volume_s = 0;
  {
    model.train(false);
    NoGradGuard no_grad;
    const InferenceMemoryPolicy memory(model);
    const Tensor image = random_input({4, o.volume[0], o.volume[1], o.volume[2]}, 2, Device::CPU);
    SlidingWindowOptions sw;
    sw.patch = {p, p, p};
    sw.overlap = o.overlap;
    sw.patch_device = d;
    const PatchPredictor predict = [&](const Tensor& tile) { return model.forward(tile); };
    predict(random_input({1, 4, p, p, p}, 3, d)).to_vector();  // warm-up: every tile has this shape
    t0 = clock_type::now();
    for (int i = 0; i < o.volumes; ++i) argmax_classes(sliding_window_predict(image, predict, sw));
    volume_s = seconds_since(t0) / o.volumes;
  }
  const AllocatorStats infer_mem = allocator_for(d).stats();
  std::printf(tr("  inference      %8.2f s/volume   (%lld tile%s of %lld^3, overlap %.2f, Gaussian weights, argmax; %d "
                 "volume%s)\n")
                  .c_str(),
              volume_s, static_cast<long long>(tiles), plural_s(tiles), static_cast<long long>(p), o.overlap, o.volumes,
              plural_s(o.volumes));

  // Per-op table from warm steps (bench_measure.hpp).
  WarmLayerTimes layers;
  if (o.layers) {
    allocator_for(d).empty_cache();  // back to training shapes
    model.train(true);
    layers = warm_layer_times(d, step, d == Device::CPU ? 3 : 10);
  }

  const double rss = peak_rss_mb();
  const double train_dev_mb = d == Device::CUDA ? static_cast<double>(train_mem.peak_in_use) / kMiB : 0.0;
  const double infer_dev_mb = d == Device::CUDA ? static_cast<double>(infer_mem.peak_in_use) / kMiB : 0.0;
  std::printf(tr("  peak memory    %8.1f MB host RSS (%.1f MB after training); tensors in use at the peak: %.1f MB in "
                 "training, %.1f MB in inference\n")
                  .c_str(),
              rss, train_rss, static_cast<double>(train_mem.peak_in_use) / kMiB,
              static_cast<double>(infer_mem.peak_in_use) / kMiB);
  if (d == Device::CUDA)
    std::printf(tr("  device memory  %8.1f MB in training, %.1f MB in inference (allocator peak; the CUDA context adds "
                   "a few hundred MB) -> training fits in 24 GB (RTX 3090): %s\n")
                    .c_str(),
                train_dev_mb, infer_dev_mb, pass_fail(train_mem.peak_in_use <= kRtx3090Bytes));
  print_estimate("estimate", config, p, n);
  if (!(o.base == 32 && p == 128 && n == 1)) print_estimate("reference", UNetConfig::brats3d(), 128, 1);
  const double gemm = gemm_gflops(d);
  const double train_flops = 3.0 * model.forward_flops({p, p, p});  // forward + two backward GEMMs per conv
  const double achieved = train_sps * train_flops / 1e9;
  std::printf(tr("  compute        %8.1f GFLOP/s achieved in training (%.1f GFLOP per sample) = %.0f%% of this "
                 "machine's fp32 GEMM rate (%.0f GFLOP/s)\n")
                  .c_str(),
              achieved, train_flops / 1e9, 100.0 * achieved / gemm, gemm);
  const nlohmann::json layers_json = print_layer_table(layers.ops, layers.step_seconds);

  if (!o.json_path.empty()) {
    const TrainingMemoryEstimate e = estimate_training_memory(config, {p, p, p}, n, d);
    const nlohmann::json j = {{"engine", "unet-engine"},
                              {"model", "brats3d"},
                              {"device", device_name(d)},
                              {"hardware", hardware_description(d)},
                              {"base", o.base},
                              {"patch", p},
                              {"batch", n},
                              {"volume", o.volume},
                              {"tiles", tiles},
                              {"parameters", model.parameter_count()},
                              {"train_samples_per_s", train_sps},
                              {"train_s_per_step", train_s / o.steps},
                              {"infer_s_per_volume", volume_s},
                              {"peak_host_rss_mb", rss},
                              {"peak_device_mb", std::max(train_dev_mb, infer_dev_mb)},
                              {"train_peak_device_mb", train_dev_mb},
                              {"train_memory_estimate_mb", e.total_bytes() / kMiB},
                              {"gemm_gflops", gemm},
                              {"train_gflop_per_sample", train_flops / 1e9},
                              {"train_gflops_achieved", achieved},
                              {"layers", layers_json}};
    std::ofstream out(o.json_path);
    out << j.dump(2) << "\n";
    UNET_CHECK(out.good(), o.json_path, tr("could not write the JSON results to this file"));
  }
  return 0;
}

}  // namespace unet::tools
