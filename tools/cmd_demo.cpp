// `unet demo`: trains the U-Net for a few steps on one generated batch (bright discs on
// noise, the disc is the target) and prints the loss falling. A smoke test of the whole
// engine that needs no data; `unet train` is the real thing.
#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "base/rng.hpp"
#include "tools/commands.hpp"
#include "tools/option_checks.hpp"
#include "unet/adam.hpp"
#include "unet/losses.hpp"
#include "unet/train_step.hpp"
#include "unet/unet_model.hpp"

namespace unet::tools {

namespace {
struct DemoConfig {
  int64_t steps = 30;
  int64_t batch = 2;
  int64_t size = 64;
  int64_t base = 8;
  std::string device = "auto";
  std::string loss = "bce+dice";
  float lr = 1e-3f;
  uint64_t seed = 0;
};

// [N, 3, S, S] images and [N, 1, S, S] masks: a disc of random centre and radius, brighter
// than the noisy background in every channel.
void make_batch(const DemoConfig& o, std::vector<float>& img, std::vector<float>& mask) {
  Rng rng(o.seed + 1);
  const int64_t s = o.size;
  img.assign(static_cast<size_t>(o.batch * 3 * s * s), 0.0f);
  mask.assign(static_cast<size_t>(o.batch * s * s), 0.0f);
  for (int64_t n = 0; n < o.batch; ++n) {
    const float cx = rng.uniform(0.3f, 0.7f) * s, cy = rng.uniform(0.3f, 0.7f) * s, r = rng.uniform(0.1f, 0.25f) * s;
    for (int64_t y = 0; y < s; ++y)
      for (int64_t x = 0; x < s; ++x) {
        const bool inside = std::hypot(x - cx, y - cy) < r;
        mask[static_cast<size_t>((n * s + y) * s + x)] = inside ? 1.0f : 0.0f;
        for (int64_t c = 0; c < 3; ++c)
          img[static_cast<size_t>(((n * 3 + c) * s + y) * s + x)] = (inside ? 0.6f : 0.2f) + 0.3f * rng.uniform();
      }
  }
}
}  // namespace

Runner add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoConfig>();
  CLI::App* sub =
      app.add_subcommand("demo", tr("Train a small U-Net on one generated batch and print the falling loss"));
  sub->add_option("--steps", o->steps, tr("training steps"))->check(checks::at_least(1))->capture_default_str();
  sub->add_option("--batch", o->batch, tr("batch size"))->check(checks::at_least(1))->capture_default_str();
  sub->add_option("--size", o->size, tr("image size (multiple of 16)"))
      ->check(checks::image_size())
      ->capture_default_str();
  sub->add_option("--base", o->base, tr("U-Net base width"))->check(checks::between(1, 256))->capture_default_str();
  sub->add_option("--device", o->device, tr("auto, cpu or cuda"))
      ->check(checks::one_of({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  sub->add_option("--loss", o->loss, tr("bce, dice or bce+dice"))
      ->check(checks::one_of({"bce", "dice", "bce+dice"}))
      ->capture_default_str();
  sub->add_option("--lr", o->lr, tr("Adam learning rate"))->check(checks::positive())->capture_default_str();
  sub->add_option("--seed", o->seed, tr("seed for the weights and the batch"))->capture_default_str();
  return [o]() {
    const Device device = resolve_device(o->device);
    UNetConfig cfg = UNetConfig::for_base(o->base);
    UNet model(cfg, device, o->seed);
    std::printf(
        tr("unet demo: U-Net base %lld (%s layout, %lld parameters) on %s, batch %lld of %lldx%lld, loss %s\n").c_str(),
        static_cast<long long>(cfg.base), cfg.layout_name().c_str(), static_cast<long long>(model.parameter_count()),
        device_name(device), static_cast<long long>(o->batch), static_cast<long long>(o->size),
        static_cast<long long>(o->size), o->loss.c_str());
    std::vector<float> img, mask;
    make_batch(*o, img, mask);
    const Tensor x = Tensor::from_vector({o->batch, 3, o->size, o->size}, img, device);   // [N, 3, S, S]
    const Tensor t = Tensor::from_vector({o->batch, 1, o->size, o->size}, mask, device);  // [N, 1, S, S]
    LossConfig loss_cfg;
    loss_cfg.kind = LossConfig::parse(o->loss);
    AdamConfig adam_cfg;
    adam_cfg.lr = o->lr;
    Adam adam(model.parameters(), adam_cfg);
    model.train(true);
    const auto start = std::chrono::steady_clock::now();
    float first = 0.0f, last = 0.0f;
    for (int64_t step = 1; step <= o->steps; ++step) {
      const StepResult r = train_step(model, adam, x, t, loss_cfg);
      last = r.loss;
      if (step == 1) first = last;
      UNET_CHECK(r.applied, "unet demo", trf("loss is {} at step {}", std::to_string(last), std::to_string(step)));
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf(tr("step %3lld  loss %.5f  (%.1f samples/s)\n").c_str(), static_cast<long long>(step), last,
                  static_cast<double>(step * o->batch) / secs);
      std::fflush(stdout);
    }
    std::printf(tr("loss %.5f -> %.5f (%s)\n").c_str(), first, last, (last < first ? tr("falling") : tr("NOT falling")).c_str());
    return last < first ? 0 : 1;
  };
}

}  // namespace unet::tools
