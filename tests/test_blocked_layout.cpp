// The CPU layers' blocked layout (layers/layout.hpp): the same values as NCHW, op by op and
// through whole U-Nets in forward and backward, mixed layouts converted where they meet, and no
// reader of NCHW handed a blocked tensor.
#include <doctest/doctest.h>

#include <functional>

#include "engine/autograd.hpp"
#include "layers/layout.hpp"
#include "layers/ops.hpp"
#include "tests/check_error.hpp"
#include "tests/test_util.hpp"
#include "unet/losses.hpp"
#include "unet/unet_model.hpp"

using namespace unet;
using unet::test::random_tensor;
using unet::test::rel_l2;

namespace {

// Every x86 machine oneDNN supports blocks 16 channels (8 per block with AVX2 or SSE4.1, 16 with
// AVX-512); elsewhere it may keep NCHW, and then only the agreement of values is tested.
constexpr bool kExpectBlocked =
#if defined(__x86_64__) || defined(_M_X64)
    true;
#else
    false;
#endif

// Batch statistics summed in another order (oneDNN's JIT batch norm on blocks against its NCHW
// one): a few float ulps per sum, grown through the layers after it. Whole-tensor relative L2;
// measured 3e-7 to 8e-7 for the U-Nets below, one forward and backward.
constexpr double kLayerTol = 1e-5;
constexpr double kModelTol = 1e-5;

struct Run {
  std::vector<float> out;
  std::vector<std::vector<float>> grads;  // of the leaves, in order
};

// Runs `net` on fresh leaves from the same seeds, with the blocked layout allowed or not, then
// backward from a BCE loss; returns the plain output and the leaves' gradients.
Run run_net(bool blocked, const std::vector<Shape>& leaf_shapes,
            const std::function<Tensor(const std::vector<Tensor>&)>& net) {
  std::vector<Tensor> leaves;
  for (size_t i = 0; i < leaf_shapes.size(); ++i)
    leaves.push_back(random_tensor(leaf_shapes[i], 100 + i, -0.5f, 0.5f).set_requires_grad(true));
  Tensor out;
  {
    const BlockedLayoutScope scope(blocked);
    out = ops::to_plain(net(leaves));
  }
  const Tensor target = random_tensor(out.shape(), 7, 0.0f, 1.0f);
  bce_with_logits_loss(out, target).backward();
  Run r{out.to_vector(), {}};
  for (const Tensor& t : leaves) r.grads.push_back(t.grad().to_vector());
  return r;
}

void check_same_run(const Run& blocked, const Run& plain, double tol) {
  CHECK(rel_l2(blocked.out, plain.out) < tol);
  REQUIRE(blocked.grads.size() == plain.grads.size());
  for (size_t i = 0; i < plain.grads.size(); ++i) {
    INFO("leaf " << i);
    CHECK(rel_l2(blocked.grads[i], plain.grads[i]) < tol);
  }
}

}  // namespace

TEST_CASE("inside a BlockedLayoutScope a CPU convolution keeps oneDNN's layout, outside it NCHW") {
  const Tensor x = random_tensor({2, 16, 12, 10}, 1), w = random_tensor({16, 16, 3, 3}, 2);
  const Tensor plain = ops::conv(x, w, Tensor(), 1, 1);
  CHECK(plain.is_plain());
  Tensor y;
  {
    const BlockedLayoutScope scope;
    y = ops::conv(x, w, Tensor(), 1, 1);
  }
  if (kExpectBlocked) REQUIRE(y.channel_block() > 0);
  if (y.is_plain()) return;
  CHECK(16 % y.channel_block() == 0);
  // Nothing that reads NCHW takes it.
  test::check_error([&] { (void)y.data(); }, {"Tensor::data", "[2, 16, 12, 10]", "ops::to_plain"});
  test::check_error([&] { (void)y.to_vector(); }, {"Tensor::data"});
  test::check_error([&] { (void)y.reshape({2, 16, 120}); }, {"Tensor::data"});
  // The same kernel ran; only the order of the stored elements differs.
  CHECK(ops::to_plain(y).to_vector() == plain.to_vector());
}

TEST_CASE("every layer op gives NCHW's values and gradients in the blocked layout") {
  // conv -> batch norm -> relu_ -> max pool -> conv -> transposed conv -> concat with a blocked
  // skip and with a plain tensor -> add -> conv -> 1x1 conv to one channel.
  const std::vector<Shape> leaves{{2, 3, 16, 12},  {16, 3, 3, 3},  {16},         {16},
                                  {16, 16, 3, 3},  {16, 16, 2, 2}, {16},         {2, 8, 16, 12},
                                  {32, 40, 3, 3},  {1, 32, 1, 1},  {1}};
  const auto net = [](const std::vector<Tensor>& p) {
    const Tensor rm = Tensor::zeros({16}), rv = Tensor::full({16}, 1.0f);
    const Tensor skip = ops::relu_(ops::batch_norm_train(ops::conv(p[0], p[1], Tensor(), 1, 1), p[2], p[3], rm, rv,
                                                         0.1f, 1e-5f));
    const Tensor down = ops::conv(ops::max_pool(skip, 2), p[4], Tensor(), 1, 1);
    const Tensor up = ops::conv_transpose(down, p[5], p[6], 2, 0);
    const Tensor cat = ops::concat_channels(ops::concat_channels(up, skip), p[7]);  // blocked, then mixed
    const Tensor h = ops::conv(cat, p[8], Tensor(), 1, 1);
    return ops::conv(ops::add(h, ops::to_plain(h)), p[9], p[10], 1, 0);  // mixed layouts again
  };
  check_same_run(run_net(true, leaves, net), run_net(false, leaves, net), kLayerTol);
}

TEST_CASE("to_plain is the identity on values and hands its gradient back in the input's layout") {
  Tensor x = random_tensor({2, 16, 6, 5}, 3);
  const Tensor w = random_tensor({16, 16, 1, 1}, 4);
  Tensor y;
  {
    const BlockedLayoutScope scope;
    y = ops::conv(x.set_requires_grad(true), w, Tensor(), 1, 0);
  }
  const Tensor p = ops::to_plain(y);
  CHECK(p.is_plain());
  CHECK(ops::to_plain(p).impl() == p.impl());  // plain stays itself, no copy
  Tensor plain_y = ops::conv(x, w, Tensor(), 1, 0);
  CHECK(p.to_vector() == plain_y.to_vector());
  // d sum(p) / dy is all ones in y's layout; through the conv that is sum over w's outputs.
  ops::sum(p).backward();
  const std::vector<float> via_blocked = x.grad().to_vector();
  x.zero_grad();
  ops::sum(plain_y).backward();
  CHECK(rel_l2(via_blocked, x.grad().to_vector()) < kLayerTol);
}

TEST_CASE("a U-Net trains to the same values with blocked layouts as in NCHW (2D and 3D)") {
  // Base 8: every layer blocked but the input's and output's; base 4: the full-size level in NCHW
  // and the rest blocked, so layouts meet at pooling, concatenation and transposed convolution.
  for (const auto& [base, width] : {std::pair{UNetConfig::for_base(32), 8}, std::pair{UNetConfig::for_base(32), 4},
                                    std::pair{UNetConfig::brats3d(), 8}}) {
    UNetConfig c = base;
    c.base = width;
    c.depth = 2;
    const bool volume = c.rank() == 3;
    INFO(c.layout_name() << " base " << width);
    const Shape in = volume ? Shape{2, c.in_channels, 8, 8, 12} : Shape{2, c.in_channels, 16, 24};
    std::vector<std::vector<float>> outs, grads;
    for (bool blocked : {true, false}) {
      UNet model(c, Device::CPU, 11);
      model.set_blocked_layouts(blocked);
      const Tensor x = random_tensor(in, 12);
      const Tensor logits = model.forward(x);
      CHECK(logits.is_plain());
      Shape out_shape = in;
      out_shape[1] = c.out_channels;
      bce_with_logits_loss(logits, random_tensor(out_shape, 13, 0.0f, 1.0f)).backward();
      outs.push_back(logits.to_vector());
      grads.push_back(model.parameters().flat_grad().to_vector());
    }
    CHECK(rel_l2(outs[0], outs[1]) < kModelTol);
    CHECK(rel_l2(grads[0], grads[1]) < kModelTol);
  }
}

TEST_CASE("a blocked layout is refused where it cannot be") {
  test::check_error([] { (void)Tensor::empty({2, 12, 4, 4}, Device::CPU, 8); }, {"Tensor::empty", "[2, 12, 4, 4]"});
  test::check_error([] { (void)Tensor::empty({16, 4}, Device::CPU, 8); }, {"Tensor::empty"});
  const Tensor a = Tensor::zeros({1, 8, 2, 2}), b = Tensor::empty({1, 8, 2, 2}, Device::CPU, 8);
  test::check_error([&] { a.copy_from(b); }, {"Tensor::copy_from", "layout"});
}
