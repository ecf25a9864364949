// Tensor, allocator, autograd, RNG and error type.
#include <doctest/doctest.h>

#include <cstdlib>

#include "base/allocator.hpp"
#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/rng.hpp"
#include "layers/ops.hpp"
#include "unet/adam.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"
#include "tests/test_util.hpp"

using namespace unet;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors") {
  // From Random123's kat_vectors: philox4x32 10 rounds.
  Philox4x32 zero = philox4x32_10(Philox4x32{{0, 0, 0, 0}}, 0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  Philox4x32 ones = philox4x32_10(Philox4x32{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
}

TEST_CASE("Rng is a pure function of (seed, counter)") {
  Rng a(42), b(42, 0), c(43);
  std::vector<uint32_t> va, vc;
  for (int i = 0; i < 16; ++i) {
    va.push_back(a.next_u32());
    vc.push_back(c.next_u32());
    CHECK(va.back() == b.next_u32());
  }
  CHECK(va != vc);
  Rng resumed(42, 5);
  CHECK(resumed.next_u32() == va[5]);
  for (int i = 0; i < 1000; ++i) {
    const float u = a.uniform();
    CHECK((u >= 0.0f && u < 1.0f));
  }
}

TEST_CASE("Tensor factories, views and copies") {
  Tensor t = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  CHECK(t.numel() == 6);
  CHECK(t.dim(-1) == 3);
  Tensor v = t.reshape({3, 2});
  v.fill_(7.0f);  // a view writes through to the same storage
  CHECK(t.to_vector() == std::vector<float>(6, 7.0f));
  Tensor r = t.view_range(2, {2});
  CHECK(r.to_vector() == std::vector<float>{7, 7});
  Tensor c = t.clone();
  c.fill_(1.0f);
  CHECK(t.to_vector()[0] == 7.0f);
  CHECK_THROWS_AS(t.reshape({4}), Error);
  CHECK_THROWS_AS(t.view_range(5, {2}), Error);
  CHECK_THROWS_AS(Tensor::from_vector({2, 2}, {1, 2, 3}), Error);
}

TEST_CASE("the caching allocator reuses freed blocks") {
  auto& alloc = allocator_for(Device::CPU);
  { Tensor warm = Tensor::empty({1000, 1000}); }
  const auto before = alloc.stats().raw_allocs;
  for (int i = 0; i < 10; ++i) {
    Tensor t = Tensor::empty({1000, 1000});
    t.fill_(1.0f);
  }
  CHECK(alloc.stats().raw_allocs == before);  // no system allocation in steady state
}

TEST_CASE("without caching (for the sanitizers) every block is exact and goes back at once") {
  static int live = 0;
  static std::size_t last_size = 0;
  auto raw_alloc = [](std::size_t bytes) -> void* {
    ++live;
    last_size = bytes;
    return std::malloc(bytes);
  };
  auto raw_free = [](void* p) {
    --live;
    std::free(p);
  };
  CachingAllocator exact("exact", raw_alloc, raw_free, /*caching=*/false);
  void* p = exact.allocate(1001);
  CHECK(last_size == 1001);  // not rounded up: one byte past the end is outside the block
  exact.release(p);
  CHECK(live == 0);  // freed at once: a later use is a use after free the sanitizer sees
  CHECK(exact.stats().cached == 0);
  CachingAllocator pooled("pooled", raw_alloc, raw_free, /*caching=*/true);
  p = pooled.allocate(1001);
  CHECK(last_size > 1001);
  pooled.release(p);
  CHECK(live == 1);  // kept in the pool
  pooled.empty_cache();
  CHECK(live == 0);
}

TEST_CASE("a steady-state training step allocates nothing from the system") {
  // The caching allocator's point: after the first step every tensor of a step is served
  // from the cache (on a GPU: no cudaMalloc / cudaFree inside a training step).
  UNetConfig c;
  c.base = 4;
  UNet m(c);
  Adam adam(m.parameters(), AdamConfig{});
  const Tensor x = Tensor::full({2, 3, 32, 32}, 0.3f), t = Tensor::zeros({2, 1, 32, 32});
  LossConfig loss_config;
  loss_config.kind = LossKind::BceDice;
  auto step = [&] {
    m.zero_grad();
    Tensor loss = segmentation_loss(m.forward(x), t, loss_config);
    loss.backward();
    adam.step();
    return loss.item();
  };
  step();
  step();
  const auto before = allocator_for(Device::CPU).stats().raw_allocs;
  for (int i = 0; i < 3; ++i) step();
  CHECK(allocator_for(Device::CPU).stats().raw_allocs == before);
}

TEST_CASE("autograd accumulates through a shared input and frees the graph") {
  Tensor x = Tensor::from_vector({3}, {1, -2, 3}).set_requires_grad(true);
  // y = sum(relu(x) + 2x): x is used twice, so its gradient is the sum of two paths.
  Tensor y = ops::sum(ops::add(ops::relu(x), ops::scale(x, 2.0f)));
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{3, 2, 3});
  // a second backward accumulates
  Tensor y2 = ops::sum(ops::scale(x, 1.0f));
  y2.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{4, 3, 4});
  CHECK(y.impl()->autograd->grad_fn == nullptr);  // graph released after backward
}

TEST_CASE("a node keeps an input's values only where its backward reads them") {
  // A concatenation's backward reads no values, nor does the CPU's max pooling (oneDNN keeps the
  // argmax): their inputs are freed with their last handle, and their gradients still arrive.
  const int64_t n = 2, c = 8, hw = 4;
  std::vector<float> xv(static_cast<size_t>(n * c * hw * hw));
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>(i);  // rising: each window's max is its last
  Tensor x = Tensor::from_vector({n, c, hw, hw}, xv).set_requires_grad(true);
  Tensor a = ops::scale(x, 2.0f), b = ops::scale(x, 3.0f), m = ops::scale(x, 4.0f);
  const Tensor joined = ops::concat_channels(a, b), pooled = ops::max_pool(m, 2);
  auto& alloc = allocator_for(Device::CPU);
  const std::size_t before = alloc.stats().in_use;
  a = b = m = Tensor();
  CHECK(before - alloc.stats().in_use >= 3 * xv.size() * sizeof(float));
  ops::add(ops::sum(joined), ops::sum(pooled)).backward();
  const std::vector<float> g = x.grad().to_vector();
  for (size_t i = 0; i < g.size(); ++i) {
    const size_t col = i % hw, row = (i / hw) % hw;
    const float pooled_grad = (row % 2 == 1 && col % 2 == 1) ? 4.0f : 0.0f;
    REQUIRE(g[i] == 2.0f + 3.0f + pooled_grad);
  }
}

TEST_CASE("no-grad mode records nothing") {
  Tensor x = Tensor::from_vector({2}, {1, 2}).set_requires_grad(true);
  Tensor y;
  {
    NoGradGuard guard;
    y = ops::sum(x);
  }
  CHECK_FALSE(y.requires_grad());
  CHECK(grad_enabled());
  CHECK_THROWS_AS(y.backward(), Error);
}

TEST_CASE("errors carry the op, both shapes and the location") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 2});
  try {
    ops::add(a, b);
    FAIL("no exception");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK(e.call() == "add");
    CHECK(what.find("[2, 3]") != std::string::npos);
    CHECK(what.find("[3, 2]") != std::string::npos);
    CHECK(e.line() > 0);
  }
  CHECK_THROWS_AS(ops::sum(Tensor::zeros({1})).backward(), Error);  // nothing requires grad
}
