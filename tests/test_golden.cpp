// Compares the engine with PyTorch tensor by tensor, on golden files written by
// tests/golden/make_golden.py (Debian's python3-torch) at test time. UNET_GOLDEN_DIR names
// the folder.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "engine/autograd.hpp"
#include "engine/safetensors.hpp"
#include "layers/ops.hpp"
#include "tests/test_util.hpp"
#include "unet/adam.hpp"
#include "unet/losses.hpp"
#include "unet/state_dict.hpp"

using namespace unet;
using unet::test::max_abs_diff;
using unet::test::rel_l2;

namespace {

std::string golden_dir() {
  const char* d = std::getenv("UNET_GOLDEN_DIR");
  REQUIRE_MESSAGE(d != nullptr, "UNET_GOLDEN_DIR is not set; ctest sets it after running make_golden.py");
  return d;
}

// A result three ways (make_golden.py writes NAME, NAME.f64 and NAME.fp32_err).
struct Reference {
  std::string name;
  std::vector<float> torch;   // PyTorch in float32
  std::vector<double> exact;  // the same computation in float64, from the same float32 inputs
  double fp32_err = 0.0;      // ||float32 PyTorch - exact||_2, the largest over its summation orders
};

struct Golden {
  SafetensorsFile file;
  explicit Golden(const std::string& name) : file(read_safetensors(golden_dir() + "/" + name)) {}
  const RawTensor& raw(const std::string& name) const {
    const auto it = file.tensors.find(name);
    REQUIRE_MESSAGE(it != file.tensors.end(), "golden tensor missing: " << name);
    return it->second;
  }
  Tensor tensor(const std::string& name) const {
    const RawTensor& t = raw(name);
    return Tensor::from_vector(t.shape.empty() ? Shape{1} : t.shape, t.as_f32(name));
  }
  std::vector<float> values(const std::string& name) const { return tensor(name).to_vector(); }
  std::vector<double> values64(const std::string& name) const {
    const RawTensor& t = raw(name);
    REQUIRE_MESSAGE(t.dtype == "F64", name << " is " << t.dtype << ", expected F64");
    std::vector<double> v(t.bytes.size() / sizeof(double));
    std::memcpy(v.data(), t.bytes.data(), v.size() * sizeof(double));  // little-endian, as written
    return v;
  }
  Reference reference(const std::string& name) const {
    const auto err = values64(name + ".fp32_err");
    REQUIRE(err.size() == 1);
    return {name, values(name), values64(name + ".f64"), err[0]};
  }
};

// How close is close enough. No tolerance here is a fixed number. Each compared result also
// exists in float64 (the exact answer for our purposes: its own rounding is 1e-9 of
// float32's), with fp32_err, the measured distance from it of float32 PyTorch: the largest
// over runs that differ only in summation order (1 and 2 threads, the batch reversed,
// channels-last memory, where PyTorch convolves with oneDNN). Our result must lie within
//     kSpread * fp32_err + kUlpFloor * 2^-24 * ||exact||
// of the exact answer. Rounding error depends on the data, the shapes, the summation order,
// the CPU's vector width and the oneDNN version; fp32_err is measured at test time on this
// machine from the same inputs, so the bound follows all of them. What it cannot sample is our
// own summation order: a correct float32 program lands at a distance of the same order from the
// exact answer (two of them, each at e, are at most 2e apart), but not at an equal one.
// kSpread is how much further than PyTorch ours may land. Measured (make_golden.py --seed 0..5,
// --threads 1 and 2, our OpenMP on 1 and 2 threads; UNET_GOLDEN_MARGINS=1 prints every
// comparison): ours is at most 2.4 fp32_err for tensors of many elements and 4.3 for a single
// sum whose fp32_err is above the floor (a 1-element bias gradient, where all PyTorch runs
// share one reduction order); no comparison used more than 0.38 of its bound.
// A real bug is far outside: fp32_err is at most 4e-5 of the norm for any gradient here (1e-6
// typical), so a gradient scaled by 1.001 (1e-3 off) or a missing bias gradient (100% off) is
// caught, as is a biased instead of unbiased running variance (n/(n-1) on the update).
constexpr double kSpread = 10.0;
// A result that float32 PyTorch gets right by luck of rounding (one loss value, one sum into a
// 1-element bias gradient, Adam's elementwise state) has fp32_err ~0, while another correct
// program may be tens of units in the last place off: 32 ulp of the norm, 2e-6 relative, far
// below any bug. (Results that are zero by mathematics, e.g. the gradient of a conv bias followed
// by a training-mode BatchNorm, are rounding noise in both programs: fp32_err measures that
// noise itself, so no separate absolute floor is needed.)
constexpr double kUlpFloor = 32.0;
constexpr double kFloat32Ulp = 1.0 / (1 << 24);  // one rounding, relative

// After Adam steps (losses of steps 2 and 3, the weights, running statistics, eval logits)
// programs also differ by chance events: Adam moves a weight by about lr * sign(gradient), so
// an element whose gradient is within rounding of zero moves by +-lr depending on the program.
// The PyTorch runs sample such events a few times; ours is one more sample. For the weights,
// losses and logits ours stays within 2.4 fp32_err (measured as above). A running statistic,
// though, is a batch statistic of its layer's input, moved by a flipped weight anywhere above
// it, and a running mean (of batch means close to zero) is small: when no PyTorch run happens
// to flip a weight above it, its own fp32_err says nothing about ours (11.8 times it on
// seed 1). So running statistics use the largest relative fp32_err of their kind in the whole
// model (over all running means, or all running variances), times their own norm; measured,
// ours stays within 1.1 times that.
double family_scale(const Golden& run, const std::vector<std::string>& names) {
  double worst = 0.0;
  for (const auto& name : names) {
    const Reference r = run.reference(name);
    double norm2 = 0.0;
    for (double v : r.exact) norm2 += v * v;
    if (norm2 > 0.0) worst = std::max(worst, r.fp32_err / std::sqrt(norm2));
  }
  return worst;
}

// `relative_scale`: the family-wide relative fp32_err for running statistics (see above), else 0.
void check_close(const std::string& what, const std::vector<float>& ours, const Reference& ref,
                 double relative_scale = 0.0) {
  CAPTURE(what);
  CAPTURE(ref.name);
  REQUIRE(ours.size() == ref.exact.size());
  CHECK(unet::test::all_finite(ours));
  double err2 = 0.0, norm2 = 0.0;
  for (size_t i = 0; i < ours.size(); ++i) {
    const double d = static_cast<double>(ours[i]) - ref.exact[i];
    err2 += d * d;
    norm2 += ref.exact[i] * ref.exact[i];
  }
  const double err = std::sqrt(err2), norm = std::sqrt(norm2);
  const double measured = std::max(ref.fp32_err, relative_scale * norm);
  const double bound = kSpread * measured + kUlpFloor * kFloat32Ulp * norm;
  const double ours_vs_torch = rel_l2(ours, ref.torch);
  CAPTURE(err);
  CAPTURE(ref.fp32_err);
  CAPTURE(measured);
  CAPTURE(bound);
  CAPTURE(norm);
  CAPTURE(ours_vs_torch);
  // UNET_GOLDEN_MARGINS=1 prints every comparison, to re-measure the factors above.
  if (std::getenv("UNET_GOLDEN_MARGINS") != nullptr)
    std::printf("margin %-50s err %.3e measured %.3e norm %.3e err/measured %8.3f err/bound %.3f\n", ref.name.c_str(),
                err, measured, norm, measured > 0 ? err / measured : 0.0, bound > 0 ? err / bound : 0.0);
  CHECK(err <= bound);
}

}  // namespace

TEST_CASE("golden: conv2d 3x3 with bias on an odd size") {
  Golden g("layers.safetensors");
  Tensor x = g.tensor("conv3.x").set_requires_grad(true), w = g.tensor("conv3.w").set_requires_grad(true),
         b = g.tensor("conv3.b").set_requires_grad(true);
  Tensor y = ops::conv(x, w, b, 1, 1);
  check_close("out", y.to_vector(), g.reference("conv3.out"));
  run_backward(y, g.tensor("conv3.gout"));
  check_close("grad x", x.grad().to_vector(), g.reference("conv3.grad_x"));
  check_close("grad w", w.grad().to_vector(), g.reference("conv3.grad_w"));
  check_close("grad b", b.grad().to_vector(), g.reference("conv3.grad_b"));
}

TEST_CASE("golden: conv2d 1x1 without bias") {
  Golden g("layers.safetensors");
  Tensor x = g.tensor("conv1.x").set_requires_grad(true), w = g.tensor("conv1.w").set_requires_grad(true);
  Tensor y = ops::conv(x, w, Tensor(), 1, 0);
  check_close("out", y.to_vector(), g.reference("conv1.out"));
  run_backward(y, g.tensor("conv1.gout"));
  check_close("grad x", x.grad().to_vector(), g.reference("conv1.grad_x"));
  check_close("grad w", w.grad().to_vector(), g.reference("conv1.grad_w"));
}

TEST_CASE("golden: conv_transpose2d 2x2 stride 2 with bias") {
  Golden g("layers.safetensors");
  Tensor x = g.tensor("convt.x").set_requires_grad(true), w = g.tensor("convt.w").set_requires_grad(true),
         b = g.tensor("convt.b").set_requires_grad(true);
  Tensor y = ops::conv_transpose(x, w, b, 2, 0);
  check_close("out", y.to_vector(), g.reference("convt.out"));
  run_backward(y, g.tensor("convt.gout"));
  check_close("grad x", x.grad().to_vector(), g.reference("convt.grad_x"));
  check_close("grad w", w.grad().to_vector(), g.reference("convt.grad_w"));
  check_close("grad b", b.grad().to_vector(), g.reference("convt.grad_b"));
}

TEST_CASE("golden: batch norm in training mode, running statistics included") {
  Golden g("layers.safetensors");
  Tensor x = g.tensor("bn.x").set_requires_grad(true), w = g.tensor("bn.w").set_requires_grad(true),
         b = g.tensor("bn.b").set_requires_grad(true);
  Tensor rm = g.tensor("bn.running_mean_before"), rv = g.tensor("bn.running_var_before");
  Tensor y = ops::batch_norm_train(x, w, b, rm, rv, 0.1f, 1e-5f);
  check_close("out", y.to_vector(), g.reference("bn.out"));
  check_close("running_mean", rm.to_vector(), g.reference("bn.running_mean_after"));
  check_close("running_var (unbiased)", rv.to_vector(), g.reference("bn.running_var_after"));
  run_backward(y, g.tensor("bn.gout"));
  check_close("grad x", x.grad().to_vector(), g.reference("bn.grad_x"));
  check_close("grad w", w.grad().to_vector(), g.reference("bn.grad_w"));
  check_close("grad b", b.grad().to_vector(), g.reference("bn.grad_b"));
}

TEST_CASE("golden: max pool 2x2 on an odd size") {
  Golden g("layers.safetensors");
  Tensor x = g.tensor("pool.x").set_requires_grad(true);
  Tensor y = ops::max_pool(x, 2);
  CHECK(y.to_vector() == g.values("pool.out"));  // a max selects, it does not round: exact
  run_backward(y, g.tensor("pool.gout"));
  CHECK(x.grad().to_vector() == g.values("pool.grad_x"));
}

TEST_CASE("golden: BCE-with-logits (logits up to +-100) and soft Dice") {
  Golden g("layers.safetensors");
  Tensor z = g.tensor("bce.z").set_requires_grad(true);
  Tensor loss = bce_with_logits_loss(z, g.tensor("bce.t"));
  check_close("bce", loss.to_vector(), g.reference("bce.out"));
  run_backward(loss, g.tensor("bce.gout"));
  check_close("bce grad", z.grad().to_vector(), g.reference("bce.grad_z"));

  Tensor zd = g.tensor("dice.z").set_requires_grad(true);
  Tensor dl = soft_dice_loss(zd, g.tensor("dice.t"), 1.0f);
  check_close("dice", dl.to_vector(), g.reference("dice.out"));
  run_backward(dl, g.tensor("dice.gout"));
  check_close("dice grad", zd.grad().to_vector(), g.reference("dice.grad_z"));
}

namespace {
// Three Adam steps with weight decay on PyTorch's gradients (no network in between).
std::unique_ptr<Adam> adam_on_golden_gradients(const Golden& g, FlatTensorSet& params, Tensor& p) {
  p = params.declare({1000});
  params.materialize(Device::CPU, true);
  p.copy_from(g.tensor("adam.p0"));
  AdamConfig cfg;
  cfg.lr = 1e-2;
  cfg.weight_decay = 0.1;
  auto adam = std::make_unique<Adam>(params, cfg);
  for (int step = 0; step < 3; ++step) {
    params.flat_grad().copy_from(g.tensor("adam.g" + std::to_string(step)));
    adam->step();
  }
  return adam;
}
}  // namespace

TEST_CASE("golden: Adam with weight decay, 3 steps on given gradients") {
  Golden g("layers.safetensors");
  FlatTensorSet params;
  Tensor p;
  const auto adam = adam_on_golden_gradients(g, params, p);
  // The same elementwise operations as torch.optim.Adam; fp32_err is their rounding.
  check_close("p", p.to_vector(), g.reference("adam.p3"));
  check_close("exp_avg", adam->exp_avg().to_vector(), g.reference("adam.m3"));
}

// Adam's second moment: (1 - beta2) must be PyTorch's float(1 - 0.999) = 0.001, not
// 1.0f - 0.999f = 0.00099998713 (which left exp_avg_sq ~170 fp32_err below PyTorch's while the
// step, with the same float beta2 in the bias correction, hid it).
TEST_CASE("golden: Adam's exp_avg_sq state, 3 steps on given gradients") {
  Golden g("layers.safetensors");
  FlatTensorSet params;
  Tensor p;
  const auto adam = adam_on_golden_gradients(g, params, p);
  check_close("exp_avg_sq", adam->exp_avg_sq().to_vector(), g.reference("adam.v3"));
}

// ---- the 3D layers of the BraTS U-Net (layers3d.safetensors), odd D, H and W ----

namespace {
// y = layer(inputs); compares y and the gradient of every input with PyTorch's.
void check_layer(const Golden& g, const std::string& prefix, const std::vector<std::string>& input_names,
                 const std::function<Tensor(const std::vector<Tensor>&)>& layer) {
  std::vector<Tensor> inputs;
  for (const auto& n : input_names) inputs.push_back(g.tensor(prefix + "." + n).set_requires_grad(true));
  Tensor y = layer(inputs);
  check_close("out", y.to_vector(), g.reference(prefix + ".out"));
  run_backward(y, g.tensor(prefix + ".gout"));
  for (size_t i = 0; i < inputs.size(); ++i)
    check_close("grad " + input_names[i], inputs[i].grad().to_vector(), g.reference(prefix + ".grad_" + input_names[i]));
}
}  // namespace

TEST_CASE("golden 3D: conv3d 3x3x3 pad 1 and 1x1x1, with bias") {
  Golden g("layers3d.safetensors");
  check_layer(g, "conv3", {"x", "w", "b"}, [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 1); });
  check_layer(g, "conv1", {"x", "w", "b"}, [](const std::vector<Tensor>& in) { return ops::conv(in[0], in[1], in[2], 1, 0); });
}

TEST_CASE("golden 3D: conv_transpose3d 2x2x2 stride 2 with bias") {
  Golden g("layers3d.safetensors");
  check_layer(g, "convt", {"x", "w", "b"},
              [](const std::vector<Tensor>& in) { return ops::conv_transpose(in[0], in[1], in[2], 2, 0); });
}

TEST_CASE("golden 3D: batch norm in training mode, running statistics included") {
  Golden g("layers3d.safetensors");
  Tensor rm = g.tensor("bn.running_mean_before"), rv = g.tensor("bn.running_var_before");
  check_layer(g, "bn", {"x", "w", "b"},
              [&](const std::vector<Tensor>& in) { return ops::batch_norm_train(in[0], in[1], in[2], rm, rv, 0.1f, 1e-5f); });
  check_close("running_mean", rm.to_vector(), g.reference("bn.running_mean_after"));
  check_close("running_var (unbiased)", rv.to_vector(), g.reference("bn.running_var_after"));
}

TEST_CASE("golden 3D: max pool 2x2x2 on odd sizes (floor) and channel concatenation") {
  Golden g("layers3d.safetensors");
  Tensor x = g.tensor("pool.x").set_requires_grad(true);
  Tensor y = ops::max_pool(x, 2);
  CHECK(y.shape() == Shape{2, 3, 2, 3, 4});
  CHECK(y.to_vector() == g.values("pool.out"));  // a max selects, it does not round: exact
  run_backward(y, g.tensor("pool.gout"));
  CHECK(x.grad().to_vector() == g.values("pool.grad_x"));

  Tensor a = g.tensor("cat.a").set_requires_grad(true), b = g.tensor("cat.b").set_requires_grad(true);
  Tensor c = ops::concat_channels(a, b);
  CHECK(c.to_vector() == g.values("cat.out"));  // copies: exact
  run_backward(c, g.tensor("cat.gout"));
  CHECK(a.grad().to_vector() == g.values("cat.grad_a"));
  CHECK(b.grad().to_vector() == g.values("cat.grad_b"));
}

TEST_CASE("golden: the spec's two models have PyTorch's parameter counts") {
  std::ifstream f(golden_dir() + "/param_counts.json");
  REQUIRE(f.good());
  const auto counts = nlohmann::json::parse(f);
  CHECK(counts.at("reference32").get<int64_t>() == 7763041);
  CHECK(counts.at("classic64").get<int64_t>() == 31043521);
  CHECK(UNet(UNetConfig::for_base(32)).parameter_count() == counts.at("reference32").get<int64_t>());
  CHECK(UNet(UNetConfig::for_base(64)).parameter_count() == counts.at("classic64").get<int64_t>());
  // The BraTS reference UNet3D(4, 4): built, and counted without building.
  CHECK(counts.at("brats3d").get<int64_t>() == 1359332);
  CHECK(UNet(UNetConfig::brats3d()).parameter_count() == counts.at("brats3d").get<int64_t>());
  CHECK(UNetConfig::brats3d().parameter_count() == counts.at("brats3d").get<int64_t>());
}


namespace {
using LossOf = std::function<Tensor(const Tensor& logits, const Tensor& target)>;

Tensor bce_dice_of(const Tensor& logits, const Tensor& target) {
  LossConfig lc;
  lc.kind = LossKind::BceDice;
  return segmentation_loss(logits, target, lc);
}

// Loads PyTorch's initial weights, runs forward + loss + backward and compares.
void check_unet_step(UNet& model, const Golden& run, const std::string& init_file, const LossOf& loss_of = bce_dice_of) {
  load_weights(model, golden_dir() + "/" + init_file);  // a file written by PyTorch, not by us
  model.train(true);
  model.zero_grad();
  Tensor logits = model.forward(run.tensor("input"));
  check_close("logits", logits.to_vector(), run.reference("logits"));
  Tensor loss = loss_of(logits, run.tensor("target"));
  check_close("loss", loss.to_vector(), run.reference("loss"));
  loss.backward();
  int checked = 0;
  for (const StateEntry& e : model.state()) {
    if (!e.is_parameter) continue;
    check_close("grad." + e.name, e.tensor.grad().to_vector(), run.reference("grad." + e.name));
    ++checked;
  }
  CHECK(checked > 20);
}

// After check_unet_step: Adam steps 1 to 3, the losses of steps 2 and 3, every weight and
// running statistic after them and the eval-mode logits, against PyTorch's.
void check_three_adam_steps(UNet& model, const Golden& run, const std::string& init_file, size_t norms,
                            const LossOf& loss_of = bce_dice_of) {
  Adam adam(model.parameters(), AdamConfig{});
  adam.step();  // step 1 with the gradients checked above
  for (int step = 2; step <= 3; ++step) {
    model.zero_grad();
    Tensor loss = loss_of(model.forward(run.tensor("input")), run.tensor("target"));
    const std::string name = "loss_step" + std::to_string(step);
    check_close(name, loss.to_vector(), run.reference(name));
    loss.backward();
    adam.step();
  }
  // After 3 steps each weight has moved by up to 3 lr = 3e-3. The first step's gradients
  // were compared above (the golden batch is chosen kink-free); steps 2 and 3 run on updated
  // weights where a pre-activation may again sit within rounding of a ReLU kink, which moves
  // deep gradients by ~1e-2, and Adam's scale-free update m / sqrt(v) turns an element's sign
  // ambiguity into a full lr. The measured bound (see kSpread) covers that; two bounds that
  // need no measurement stand beside it: the updates as a whole within 0.1 relative L2 (a
  // wrong optimizer or gradient is off by O(1)) and every element within 6e-3 (each program
  // moves an element by at most ~3 lr in 3 steps, so they differ by at most twice that).
  std::vector<std::string> means, variances;
  for (const StateEntry& e : model.state()) {
    if (e.name.size() > 13 && e.name.compare(e.name.size() - 13, 13, ".running_mean") == 0)
      means.push_back("final." + e.name);
    if (e.name.size() > 12 && e.name.compare(e.name.size() - 12, 12, ".running_var") == 0)
      variances.push_back("final." + e.name);
  }
  REQUIRE(means.size() == norms);
  REQUIRE(variances.size() == norms);
  const double mean_scale = family_scale(run, means), var_scale = family_scale(run, variances);
  Golden init(init_file);
  for (const StateEntry& e : model.state()) {
    if (e.counter != nullptr) {
      CHECK(*e.counter == 3);
      continue;
    }
    const std::string name = "final." + e.name;
    const auto fin = run.values(name);
    if (e.is_parameter) {
      const auto start = init.values(e.name);
      const auto ours = e.tensor.to_vector();
      std::vector<float> du(ours.size()), dr(ours.size());
      for (size_t i = 0; i < ours.size(); ++i) {
        du[i] = ours[i] - start[i];
        dr[i] = fin[i] - start[i];
      }
      CAPTURE(e.name);
      // A conv bias followed by a training-mode BatchNorm (the BraTS UNet3D's convs) has a
      // gradient that is zero by mathematics: what each program computes is rounding noise
      // (the float64 gradient is within float32's rounding of zero), and Adam moves such a
      // weight by +-lr along the sign of its own noise. Its update has no direction to agree
      // on; the element bound below still holds (at most 3 lr each way).
      const Reference g1 = run.reference("grad." + e.name);
      double exact_norm2 = 0.0;
      for (double v : g1.exact) exact_norm2 += v * v;
      const bool zero_by_mathematics = std::sqrt(exact_norm2) <= g1.fp32_err + kUlpFloor * kFloat32Ulp;
      if (!zero_by_mathematics) CHECK(rel_l2(du, dr) <= 0.1);
      CHECK(max_abs_diff(ours, fin) <= 6e-3);
      check_close(name, ours, run.reference(name));
    } else {
      // Running statistics: measured over their whole kind (see kSpread).
      const bool is_mean = std::find(means.begin(), means.end(), name) != means.end();
      check_close(name, e.tensor.to_vector(), run.reference(name), is_mean ? mean_scale : var_scale);
    }
  }
  NoGradGuard no_grad;
  model.train(false);
  check_close("eval logits", model.forward(run.tensor("input")).to_vector(), run.reference("eval_logits"));
}
}  // namespace

TEST_CASE("golden: base-8 reference U-Net, forward, BCE+Dice, backward, 3 Adam steps, eval") {
  Golden run("unet_reference_run.safetensors");
  UNetConfig cfg;
  cfg.base = 8;
  UNet model(cfg);
  check_unet_step(model, run, "unet_reference_init.safetensors");
  check_three_adam_steps(model, run, "unet_reference_init.safetensors", 18);
}

TEST_CASE("golden: base-8 classic U-Net (biased convs, skip first), forward and backward") {
  Golden run("unet_classic_run.safetensors");
  UNetConfig cfg;
  cfg.base = 8;
  cfg.layout = UNetLayout::Classic;
  UNet model(cfg);
  check_unet_step(model, run, "unet_classic_init.safetensors");
}

// The 3D system's multi-class losses against PyTorch (tests/golden/make_golden_multiclass.py):
// the reference program's DiceLoss (softmax, 4-class one-hot, per-class sums over the batch,
// smooth 1e-5), F.cross_entropy and their sum, on logits [2, 4, 5, 6, 7], with every class
// present and with class 3 absent. The bound is check_close's (see kSpread), derived the same
// way: measured on make_golden_multiclass.py --seed 0..5, --threads 1 and 2, our OpenMP on 1 and
// 2 threads, our gradients stay within 2.1 fp32_err and our loss values within 1.3 ulp of the
// exact answer (PyTorch's loss often lands nearer by luck of rounding; the 32-ulp floor holds
// them); no comparison used more than 0.045 of its bound. A real bug is far outside: smooth 1
// instead of 1e-5 moves the absent class's dice by ~1/50, a gradient 1e-3 off exceeds its bound
// several hundred-fold (fp32_err is 5e-8 to 1.4e-7 of the gradient's norm here).
TEST_CASE("golden: multi-class softmax Dice, cross-entropy and Dice+CE on [2,4,5,6,7] logits") {
  Golden g("multiclass_losses.safetensors");
  for (const std::string c : {"mc_all", "mc_absent"}) {
    CAPTURE(c);
    const Tensor classes = g.tensor(c + ".t");
    REQUIRE(classes.shape() == Shape{2, 5, 6, 7});
    for (const std::string loss : {"dice", "ce", "dice+ce"}) {
      const std::string name = c + "." + loss;
      Tensor z = g.tensor(c + ".z").set_requires_grad(true);
      MulticlassLossConfig config;
      config.kind = MulticlassLossConfig::parse(loss);
      Tensor out = multiclass_segmentation_loss(z, classes, config);
      check_close(name, out.to_vector(), g.reference(name + ".out"));
      run_backward(out, g.tensor(name + ".gout"));
      check_close(name + " grad", z.grad().to_vector(), g.reference(name + ".grad_z"));
    }
  }
}

TEST_CASE("golden 3D: the BraTS UNet3D (base 4, depth 2), forward, softmax Dice, backward, 3 Adam steps, eval") {
  // PyTorch's weights, a [2, 4, 16, 16, 16] batch of nested tumour classes, the reference
  // program's DiceLoss (softmax, smooth 1e-5): the whole training step and three Adam steps.
  Golden run("unet_brats3d_run.safetensors");
  UNetConfig cfg = UNetConfig::brats3d();
  cfg.base = 4;
  UNet model(cfg);
  const LossOf dice = [](const Tensor& logits, const Tensor& classes) { return softmax_dice_loss(logits, classes, 1e-5f); };
  check_unet_step(model, run, "unet_brats3d_init.safetensors", dice);
  check_three_adam_steps(model, run, "unet_brats3d_init.safetensors", 10, dice);
}
