// Data-parallel training on 2 ranks (ctest runs it under `mpirun -np 2`): every rank holds the
// same model after every step; with --sync-bn, 2 ranks of batch 4 compute what 1 process of
// batch 8 computes (loss, gradients, weights and running statistics over 3 Adam steps); a rank
// that fails, a non-finite loss and a stop asked on one rank end every rank at the same step.
// UNET_TEST_DEVICE=cuda runs it on the GPUs (NCCL; the GPU verdict's 2-GPU check); without a
// GPU, or outside a launch of 2 ranks, it says why and exits 77 (ctest: Skipped).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "base/fnv_hash.hpp"
#include "base/rng.hpp"
#include "dist/communicator.hpp"
#include "unet/train_step.hpp"

using namespace unet;

namespace {

Device g_device = Device::CPU;
constexpr int64_t kGlobalBatch = 8, kSize = 32;

UNetConfig small_unet() {
  UNetConfig c = UNetConfig::for_base(32);
  c.base = 4;
  c.depth = 2;
  return c;
}

// A global batch of kGlobalBatch images and masks, the same on every rank (seeded).
struct GlobalBatch {
  std::vector<float> images, masks;  // [8, 3, S, S], [8, 1, S, S]
  GlobalBatch(uint64_t seed) {
    Rng rng(seed);
    images.resize(static_cast<size_t>(kGlobalBatch * 3 * kSize * kSize));
    masks.resize(static_cast<size_t>(kGlobalBatch * kSize * kSize));
    for (float& v : images) v = rng.uniform(-1.0f, 1.0f);
    for (float& v : masks) v = rng.uniform() < 0.3f ? 1.0f : 0.0f;
  }
  // Samples [first, first + n) on the test's device.
  Tensor x(int64_t first, int64_t n) const {
    return Tensor::from_host({n, 3, kSize, kSize}, images.data() + first * 3 * kSize * kSize, g_device);
  }
  Tensor t(int64_t first, int64_t n) const {
    return Tensor::from_host({n, 1, kSize, kSize}, masks.data() + first * kSize * kSize, g_device);
  }
};

std::vector<float> host(const Tensor& t) {
  std::vector<float> v(static_cast<size_t>(t.numel()));
  t.copy_to_host(v.data());
  return v;
}

uint64_t checksum(UNet& m) {
  Fnv1a64 h;
  for (const Tensor* t : {&m.parameters().flat(), &m.buffers().flat()}) {
    const std::vector<float> v = host(*t);
    h.add(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
  }
  return h.value();
}

// Whether every rank's checksum is rank 0's.
bool same_on_every_rank(uint64_t h) {
  dist::Communicator& w = dist::world();
  uint64_t root = h;
  w.broadcast_host(&root, sizeof root, 0);
  int64_t differs = root != h ? 1 : 0;
  w.allreduce_max_host(&differs, 1);
  return differs == 0;
}

// max |a - b| / max |b|
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

double max_abs_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
  return diff;
}

// Float sums in another order (this rank's half, then the two halves added; chunked per-channel
// sums for the statistics) differ from one process's in the last bits: relative 1e-4 of the
// gradient's scale leaves room for that over a U-Net's depth and nothing for a wrong term (a
// BatchNorm with per-rank statistics differs by ~1e-1, checked below).
constexpr double kGradTolerance = 1e-4;
// Adam moves a weight by about lr (1e-3) per step whatever the gradient's size: it divides each
// gradient by its own RMS, so where a gradient is near zero, and rounding a large part of it, the
// two runs may move a weight differently by a good fraction of lr. 5e-5 over 3 steps is under 2%
// of lr per step (measured: 8e-6); per-rank statistics move weights by ~6e-3.
constexpr double kWeightTolerance = 5e-5;

struct Comparison {
  double loss_diff = 0, grad_diff = 0, weight_diff = 0, stats_diff = 0;
};

// 3 Adam steps of 2 ranks x batch 4 (sync or not) against 1 process x batch 8, on every rank.
Comparison compare_with_one_process(bool sync_bn) {
  dist::Communicator& w = dist::world();
  const GlobalBatch data(11);
  UNet reference(small_unet(), g_device, 5), replica(small_unet(), g_device, 5);
  Adam ref_adam(reference.parameters(), AdamConfig{}), adam(replica.parameters(), AdamConfig{});
  const ops::BatchNormSync sync{&w, kGlobalBatch};
  if (sync_bn) replica.set_batch_norm_sync(&sync);
  // Both in NCHW: --sync-bn normalises in NCHW (its channel sums index it), and oneDNN's blocked
  // batch norm sums in another order. That moves the gradients by ~1e-6, but Adam turns the
  // gradients at noise level into weight changes of ~lr/10, and by step 3 the gradients differed by
  // 1.6e-3. The blocked layout's agreement with NCHW is test_blocked_layout's.
  reference.set_blocked_layouts(false);
  replica.set_blocked_layouts(false);
  const int64_t share = kGlobalBatch / w.size();
  const DataParallel dp{&w, 1.0 / w.size(), false};
  Comparison c;
  for (int step = 0; step < 3; ++step) {
    const StepResult ref = train_step(reference, ref_adam, data.x(0, kGlobalBatch), data.t(0, kGlobalBatch), LossConfig{});
    const StepResult mine =
        train_step(replica, adam, data.x(w.rank() * share, share), data.t(w.rank() * share, share), LossConfig{}, nullptr, &dp);
    CHECK(ref.applied);  // CHECK, not REQUIRE: a rank leaving early would leave the other waiting
    CHECK(mine.applied);
    c.loss_diff = std::max(c.loss_diff, std::fabs(static_cast<double>(mine.loss) - ref.loss) / std::fabs(ref.loss));
    c.grad_diff = std::max(c.grad_diff, relative_difference(host(replica.parameters().flat_grad()),
                                                            host(reference.parameters().flat_grad())));
    c.weight_diff = std::max(c.weight_diff, max_abs_difference(host(replica.parameters().flat()),
                                                               host(reference.parameters().flat())));
    c.stats_diff = std::max(c.stats_diff, relative_difference(host(replica.buffers().flat()),
                                                              host(reference.buffers().flat())));
  }
  std::printf("rank %d, %s: loss %.2e, gradients %.2e, weights %.2e, running statistics %.2e\n", w.rank(),
              sync_bn ? "--sync-bn" : "per-rank BatchNorm", c.loss_diff, c.grad_diff, c.weight_diff, c.stats_diff);
  return c;
}

}  // namespace

TEST_CASE("every rank holds bitwise the same model after every step, each on its own data") {
  dist::Communicator& w = dist::world();
  const GlobalBatch data(100 + static_cast<uint64_t>(w.rank()));  // different samples on each rank
  UNet model(small_unet(), g_device, 5);
  Adam adam(model.parameters(), AdamConfig{});
  const DataParallel dp{&w, 1.0 / w.size(), false};
  CHECK(same_on_every_rank(checksum(model)));
  for (int step = 0; step < 3; ++step) {
    const StepResult r = train_step(model, adam, data.x(0, 4), data.t(0, 4), LossConfig{}, nullptr, &dp);
    CHECK(r.applied);
    CHECK(same_on_every_rank(checksum(model)));
    // The loss each rank reports is the global batch's: the same number everywhere.
    double loss = r.loss, root_loss = r.loss;
    w.broadcast_host(&root_loss, sizeof root_loss, 0);
    CHECK(loss == root_loss);
  }
}

TEST_CASE("--sync-bn: 2 ranks x batch 4 compute what 1 process x batch 8 computes") {
  const Comparison c = compare_with_one_process(true);
  CHECK(c.loss_diff < kGradTolerance);
  CHECK(c.grad_diff < kGradTolerance);
  CHECK(c.weight_diff < kWeightTolerance);
  CHECK(c.stats_diff < kGradTolerance);
}

TEST_CASE("without --sync-bn each rank normalises with its own statistics, so the gradients differ") {
  // The comparison above can fail: per-rank statistics move the gradients far beyond its tolerance.
  const Comparison c = compare_with_one_process(false);
  CHECK(c.grad_diff > 100 * kGradTolerance);
  CHECK(c.weight_diff > 10 * kWeightTolerance);
}

TEST_CASE("a rank that fails stops every rank before anything changes (weights, statistics, counters)") {
  dist::Communicator& w = dist::world();
  const GlobalBatch data(7);
  UNet model(small_unet(), g_device, 5);
  Adam adam(model.parameters(), AdamConfig{});
  const uint64_t before = checksum(model);
  const DataParallel dp{&w, 1.0 / w.size(), false};
  const auto loss_of = [&](const Tensor& logits) -> Tensor {
    if (w.rank() == 1) throw std::runtime_error("a simulated failure on rank 1");
    return segmentation_loss(logits, data.t(0, 4), LossConfig{});
  };
  CHECK_THROWS_AS(train_step(model, adam, data.x(0, 4), loss_of, nullptr, &dp), dist::AllRanksStopped);
  CHECK(checksum(model) == before);
  CHECK(adam.steps() == 0);
}

TEST_CASE("a loss that is not finite on one rank: no rank updates") {
  dist::Communicator& w = dist::world();
  GlobalBatch data(8);
  if (w.rank() == 0) data.masks[5] = NAN;  // in the input it would not reach the loss: ReLU maps NaN to 0
  UNet model(small_unet(), g_device, 5);
  Adam adam(model.parameters(), AdamConfig{});
  const uint64_t before = checksum(model);
  const DataParallel dp{&w, 1.0 / w.size(), false};
  const StepResult r = train_step(model, adam, data.x(0, 4), data.t(0, 4), LossConfig{}, nullptr, &dp);
  CHECK_FALSE(r.applied);
  CHECK(checksum(model) == before);
}

TEST_CASE("a stop asked on one rank stops every rank after the same step") {
  dist::Communicator& w = dist::world();
  const GlobalBatch data(9);
  UNet model(small_unet(), g_device, 5);
  Adam adam(model.parameters(), AdamConfig{});
  const DataParallel go{&w, 1.0 / w.size(), false}, stop_on_1{&w, 1.0 / w.size(), w.rank() == 1};
  CHECK_FALSE(train_step(model, adam, data.x(0, 4), data.t(0, 4), LossConfig{}, nullptr, &go).stop);
  const StepResult r = train_step(model, adam, data.x(0, 4), data.t(0, 4), LossConfig{}, nullptr, &stop_on_1);
  CHECK(r.stop);
  CHECK(r.applied);  // the step itself completes on every rank
}

int main(int argc, char** argv) {
  dist::Session session(argc, argv);
  dist::Communicator& w = dist::world();
  const char* device = std::getenv("UNET_TEST_DEVICE");
  if (device != nullptr && std::string(device) == "cuda") {
    if (!cuda_available()) {
      std::printf("SKIPPED: UNET_TEST_DEVICE=cuda needs a GPU: %s\n", cuda_unavailable_reason().c_str());
      return 77;
    }
    g_device = Device::CUDA;
    dist::use_nccl_for_device_data();
  }
  if (w.size() != 2) {
    std::printf("SKIPPED: run under an MPI launcher with 2 processes (mpirun -np 2 %s); this is %d\n", argv[0], w.size());
    return 77;
  }
  std::printf("rank %d of 2 on %s, collectives over %s\n", w.rank(), device_name(g_device), w.backend().c_str());
  doctest::Context context(argc, argv);
  double failed = context.run() != 0 ? 1.0 : 0.0;
  w.allreduce_sum_host(&failed, 1);  // a failure on either rank fails both
  return failed > 0 ? 1 : 0;
}
