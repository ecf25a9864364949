// `unet bench`: training samples/s, inference latency and throughput, peak memory, model
// file size, per-layer forward/backward times, and the achieved FLOP/s against this
// machine's fp32 GEMM rate (measured here). Prints a table, and JSON with --json.
// `--model brats3d` benchmarks the 3D U-Net instead (tools/bench_3d.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "base/allocator.hpp"
#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/gpu_math.hpp"
#include "base/i18n.hpp"
#include "tools/bench_3d.hpp"
#include "tools/bench_scaling.hpp"
#include "dist/communicator.hpp"
#include "tools/bench_measure.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"
#include "unet/adam.hpp"
#include "unet/losses.hpp"
#include "unet/state_dict.hpp"
#include "unet/inference_memory.hpp"
#include "unet/train_step.hpp"

namespace unet::tools {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

struct BenchConfig {
  int64_t base = 32, size = 256, batch = 4;
  std::string model = "2d", device = "auto", json_path;
  int64_t patch = 128;                         // brats3d only
  std::vector<int64_t> volume{240, 240, 155};  // brats3d only
  int warmup = 2, steps = 0, infer_iters = 0;
  bool layers = true;
  bool check_layer_sum = false;
  bool deterministic = true, tf32 = true;  // GPU numerics, as `unet train` (base/gpu_math.hpp)
};

}  // namespace

Runner add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchConfig>();
  CLI::App* sub = app.add_subcommand(
      "bench", tr("Benchmark training and inference of the U-Net (table, JSON, verdicts); under mpirun -np N, the\n"
                  "data-parallel scaling of training on 1..N processes with --batch per process"));
  sub->add_option("--model", o->model, tr("2d (the U-Net of --base) or brats3d (the 3D U-Net of the BraTS system)"))
      ->check(checks::one_of({"2d", "brats3d"}))
      ->capture_default_str();
  sub->add_option("--base", o->base,
                  tr("U-Net base width (2d: 32 reference layout, 64 classic layout; brats3d: 32 is the reference)"))
      ->check(checks::between(1, 256))
      ->capture_default_str();
  CLI::Option* size_opt = sub->add_option("--size", o->size, tr("2d: image size (multiple of 16)"))
                              ->check(checks::image_size())
                              ->capture_default_str();
  CLI::Option* patch_opt =
      sub->add_option("--patch", o->patch,
                      tr("brats3d: training patches and inference tiles of patch^3 voxels (multiple of 4)"))
          ->check(checks::at_least(4))
          ->capture_default_str();
  CLI::Option* volume_opt = sub->add_option("--volume", o->volume, tr("brats3d: the whole volume inferred, X Y Z"))
                                ->expected(3)
                                ->check(checks::at_least(1))
                                ->capture_default_str();
  CLI::Option* batch_opt = sub->add_option("--batch", o->batch, tr("training batch (default: 4 for 2d, 1 for brats3d)"))
                               ->check(checks::at_least(1))
                               ->capture_default_str();
  sub->add_option("--device", o->device, tr("auto, cpu or cuda"))
      ->check(checks::one_of({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  CLI::Option* warmup_opt =
      sub->add_option("--warmup", o->warmup, tr("untimed steps first (default: 2 for 2d, 1 for brats3d)"))
          ->check(checks::at_least(0))
          ->capture_default_str();
  sub->add_option("--steps", o->steps,
                  tr("timed training steps (default: 5 on CPU, 30 on GPU; brats3d: 2 on CPU, 20 on GPU)"))
      ->check(checks::at_least(1));
  sub->add_option(
         "--infer-iters", o->infer_iters,
         tr("timed inference passes (default: 5 on CPU, 50 on GPU; brats3d: whole volumes, 1 on CPU, 3 on GPU)"))
      ->check(checks::at_least(1));
  sub->add_option("--json", o->json_path, tr("also write the results as JSON here"));
  sub->add_flag("!--no-layers", o->layers, tr("skip the per-layer table"));
  sub->add_flag("--check-layer-sum", o->check_layer_sum,
                tr("exit 1 when the per-layer table's sum and the unprofiled step time differ by more than 15%"));
  sub->add_flag("--deterministic,!--no-deterministic", o->deterministic,
                tr("GPU: deterministic cuDNN algorithms, as unet train (default on; the bench also times them off)"));
  sub->add_flag("--tf32,!--no-tf32", o->tf32,
                tr("GPU: TF32 math for convolutions, the 1x1 GEMM and the GEMM rate (default on)"));
  return [=]() {
    set_gpu_deterministic(o->deterministic);
    set_gpu_allow_tf32(o->tf32);
    const Device d = resolve_device(o->device);
    if (o->model == "brats3d") {
      UNET_CHECK(dist::world().size() == 1, "mpirun",
                 tr("the data-parallel scaling bench is the 2D U-Net's; run --model brats3d as one process"));
      UNET_CHECK(size_opt->count() == 0, "--size", tr("this is the 2D image size; with --model brats3d, use --patch"));
      Bench3dOptions b;
      b.base = o->base, b.patch = o->patch, b.volume = o->volume, b.device = d, b.layers = o->layers;
      b.batch = batch_opt->count() > 0 ? o->batch : 1;
      b.warmup = warmup_opt->count() > 0 ? o->warmup : 1;
      b.steps = o->steps > 0 ? o->steps : (d == Device::CPU ? 2 : 20);
      b.volumes = o->infer_iters > 0 ? o->infer_iters : (d == Device::CPU ? 1 : 3);
      b.json_path = o->json_path;
      return run_bench_3d(b);
    }
    UNET_CHECK(patch_opt->count() == 0 && volume_opt->count() == 0, patch_opt->count() > 0 ? "--patch" : "--volume",
               tr("this applies to --model brats3d only; the 2D bench uses --size"));
    const int steps = o->steps > 0 ? o->steps : (d == Device::CPU ? 5 : 30);
    const int iters = o->infer_iters > 0 ? o->infer_iters : (d == Device::CPU ? 5 : 50);
    if (dist::world().size() > 1) {  // under mpirun: data-parallel scaling (tools/bench_scaling.hpp)
      ScalingOptions so;
      so.base = o->base, so.size = o->size, so.batch = o->batch, so.device = d;
      so.warmup = o->warmup, so.steps = steps, so.json_path = o->json_path;
      return run_bench_scaling(so);
    }
    UNet model(UNetConfig::for_base(o->base), d, 0);
    Adam adam(model.parameters(), AdamConfig{});
    LossConfig bce;  // the spec's BCE-with-logits
    const int64_t s = o->size, n = o->batch;
    const Tensor x = random_input({n, 3, s, s}, 1, d);
    std::vector<float> tv(static_cast<size_t>(n * s * s));
    for (size_t i = 0; i < tv.size(); ++i) tv[i] = (i / 97) % 3 == 0 ? 1.0f : 0.0f;
    const Tensor t = Tensor::from_vector({n, 1, s, s}, tv, d);
    auto step = [&] { return train_step(model, adam, x, t, bce).loss; };
    model.train(true);
    for (int i = 0; i < o->warmup; ++i) step();
    synchronize(d);
    auto t0 = clock_type::now();
    for (int i = 0; i < steps; ++i) step();
    synchronize(d);
    const double train_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    const double train_sps = static_cast<double>(n * steps) / train_s;

    const AllocatorStats train_mem = allocator_for(d).stats();
    const double train_rss = peak_rss_mb();
    // The cost of deterministic algorithms (GPU): the same steps with cuDNN free to pick atomics
    // (after the training memory was read: their workspaces may differ).
    // Changing the setting makes new primitives (layers/ops.cpp keys them by it), chosen anew.
    double nondeterministic_sps = 0.0;
    if (d == Device::CUDA && o->deterministic) {
      set_gpu_deterministic(false);
      for (int i = 0; i < o->warmup + 1; ++i) step();
      synchronize(d);
      t0 = clock_type::now();
      for (int i = 0; i < steps; ++i) step();
      synchronize(d);
      nondeterministic_sps = static_cast<double>(n * steps) / std::chrono::duration<double>(clock_type::now() - t0).count();
      set_gpu_deterministic(true);
    }
    // Give cached blocks back between phases, so the peak measured is that of the larger
    // phase, not the sum of two phases' differently sized blocks.
    allocator_for(d).empty_cache();
    // Inference in evaluation mode: batch 1 latency, batch 16 throughput.
    model.train(false);
    double ms_b1 = 0, ips_b16 = 0;
    {
      NoGradGuard ng;
      const InferenceMemoryPolicy memory(model);
      const Tensor x1 = random_input({1, 3, s, s}, 2, d);
      for (int i = 0; i < 2; ++i) model.forward(x1).to_vector();
      t0 = clock_type::now();
      for (int i = 0; i < iters; ++i) model.forward(x1).to_vector();
      ms_b1 = std::chrono::duration<double>(clock_type::now() - t0).count() * 1e3 / iters;
      // A new batch size: hand back the batch-1 blocks first (see empty_cache above).
      allocator_for(d).empty_cache();
      allocator_for(d).reset_peak();
      const int64_t b16 = 16;
      const Tensor x16 = random_input({b16, 3, s, s}, 3, d);
      model.forward(x16).to_vector();
      const int reps = std::max(1, iters / 4);
      t0 = clock_type::now();
      for (int i = 0; i < reps; ++i) model.forward(x16).to_vector();
      ips_b16 = static_cast<double>(b16 * reps) / std::chrono::duration<double>(clock_type::now() - t0).count();
    }
    const AllocatorStats infer_mem = allocator_for(d).stats();

    // Per-layer table from warm steps (bench_measure.hpp).
    WarmLayerTimes layers;
    if (o->layers) {
      allocator_for(d).empty_cache();  // back to training shapes
      model.train(true);
      layers = warm_layer_times(d, step, d == Device::CPU ? 5 : 20);
    }
    const std::vector<OpTiming>& layer_times = layers.ops;
    const double step_median_s = layers.step_seconds;

    const fs::path tmp = fs::temp_directory_path() / ("unet_bench_" + std::to_string(o->base) + ".safetensors");
    save_weights(model, tmp.string());
    const double file_mb = static_cast<double>(fs::file_size(tmp)) / (1024.0 * 1024.0);
    fs::remove(tmp);
    const double rss = peak_rss_mb();
    const double dev_mb = d == Device::CUDA ? static_cast<double>(allocator_for(Device::CUDA).stats().peak_in_use) / (1024.0 * 1024.0) : 0.0;
    const double gemm = gemm_gflops(d);
    const double train_flops = 3.0 * model.forward_flops({s, s});  // forward + two backward GEMMs per conv
    const double achieved = train_sps * train_flops / 1e9;

    std::printf(tr("unet bench: U-Net base %lld (%s layout, %lld parameters), %lldx%lld, %s (%s)\n").c_str(),
                static_cast<long long>(o->base), model.config().layout_name().c_str(),
                static_cast<long long>(model.parameter_count()), static_cast<long long>(s), static_cast<long long>(s),
                device_name(d), hardware_description(d).c_str());
    std::printf(tr("  training       %8.2f samples/s   (batch %lld, Adam + BCE, %d steps after %d warm-up)\n").c_str(),
                train_sps, static_cast<long long>(n), steps, o->warmup);
    std::printf(tr("  inference      %8.1f ms/image    (batch 1)   %8.2f images/s (batch 16)\n").c_str(), ms_b1,
                ips_b16);
    std::printf(tr("  peak memory    %8.1f MB host RSS%s\n").c_str(), rss,
                d == Device::CUDA ? trf(", {} MB device (allocator peak)", static_cast<int>(dev_mb)).c_str() : "");
    std::printf(tr("                 %8.1f MB host RSS after training; tensors in use at the peak: %.1f MB in "
                   "training, %.1f MB in batch-16 inference\n")
                    .c_str(),
                train_rss, static_cast<double>(train_mem.peak_in_use) / (1024.0 * 1024.0),
                static_cast<double>(infer_mem.peak_in_use) / (1024.0 * 1024.0));
    std::printf(tr("  model file     %8.1f MB (safetensors)\n").c_str(), file_mb);
    const char* precision = d == Device::CUDA && o->tf32 ? "TF32" : "fp32";
    std::printf(tr("  compute        %8.1f GFLOP/s achieved in training (%.1f GFLOP per sample) = %.0f%% of this "
                   "machine's %s GEMM rate (%.0f GFLOP/s)\n")
                    .c_str(),
                achieved, train_flops / 1e9, 100.0 * achieved / gemm, precision, gemm);
    if (nondeterministic_sps > 0)
      std::printf(tr("  determinism    %8.2f samples/s with nondeterministic algorithms: deterministic ones cost "
                     "%.0f%% of the speed\n")
                      .c_str(),
                  nondeterministic_sps, 100.0 * (1.0 - train_sps / nondeterministic_sps));
    if (d == Device::CUDA) {
      std::printf(
          tr("  verdict        training >= 8 samples/s: %s | inference <= 50 ms/image: %s | model file <= 200 MB: %s\n")
              .c_str(),
          pass_fail(train_sps >= 8), pass_fail(ms_b1 <= 50), pass_fail(file_mb <= 200));
    } else {
      std::printf(
          tr("  verdict        model file <= 200 MB: %s (the speed thresholds of the spec apply to a GPU)\n").c_str(),
          pass_fail(file_mb <= 200));
    }
    const nlohmann::json layers_json = print_layer_table(layer_times, step_median_s);
    if (o->check_layer_sum && !layer_times.empty()) {
      double sum = 0.0;
      for (const auto& lt : layer_times) sum += lt.forward_seconds + lt.backward_seconds;
      if (std::abs(sum - step_median_s) > 0.15 * step_median_s) {
        std::printf(
            tr("FAIL: the timed ops add up to %.1f ms, the unprofiled step takes %.1f ms (more than 15%% apart)\n")
                .c_str(),
            sum * 1e3, step_median_s * 1e3);
        return 1;
      }
    }
    if (!o->json_path.empty()) {
      const nlohmann::json j = {{"engine", "unet-engine"},
                                {"device", device_name(d)},
                                {"hardware", hardware_description(d)},
                                {"base", o->base},
                                {"size", s},
                                {"batch", n},
                                {"parameters", model.parameter_count()},
                                {"train_samples_per_s", train_sps},
                                {"infer_ms_per_image_b1", ms_b1},
                                {"infer_images_per_s_b16", ips_b16},
                                {"peak_host_rss_mb", rss},
                                {"peak_device_mb", dev_mb},
                                {"model_file_mb", file_mb},
                                {"gemm_gflops", gemm},
                                {"gemm_precision", precision},
                                {"deterministic", d == Device::CUDA && o->deterministic},
                                {"train_samples_per_s_nondeterministic", nondeterministic_sps},
                                {"train_gflop_per_sample", train_flops / 1e9},
                                {"train_gflops_achieved", achieved},
                                {"layers", layers_json}};
      std::ofstream(o->json_path) << j.dump(2) << "\n";
    }
    return 0;
  };
}

}  // namespace unet::tools
