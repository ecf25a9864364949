#include "layers/ops.hpp"

#include <map>
#include <mutex>
#include <tuple>
#include <utility>

#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/gpu_math.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"
#include "layers/backend.hpp"
#include "layers/layout.hpp"
#include "layers/profiler.hpp"

namespace unet {

// ---- ConvSpec and the primitive caches ----

namespace {
Shape cat_shape(int64_t n, int64_t c, const SpatialDims& spatial) {
  Shape s{n, c};
  s.insert(s.end(), spatial.begin(), spatial.end());
  return s;
}
}  // namespace

SpatialDims ConvSpec::out() const {
  SpatialDims o;
  for (int64_t i : in) o.push_back(transposed ? (i - 1) * stride - 2 * pad + kernel : (i + 2 * pad - kernel) / stride + 1);
  return o;
}
Shape ConvSpec::input_shape() const { return cat_shape(n, c_in, in); }
Shape ConvSpec::output_shape() const { return cat_shape(n, c_out, out()); }
Shape ConvSpec::weight_shape() const {
  return cat_shape(transposed ? c_in : c_out, transposed ? c_out : c_in, SpatialDims(in.size(), kernel));
}
double ConvSpec::flops() const {
  // Every output position of the non-transposed side sums c_in * k^d products per channel.
  double positions = 1.0, taps = 1.0;
  for (int64_t s : transposed ? in : out()) positions *= static_cast<double>(s);
  for (int64_t i = 0; i < rank(); ++i) taps *= static_cast<double>(kernel);
  return 2.0 * static_cast<double>(n) * positions * static_cast<double>(c_in) * static_cast<double>(c_out) * taps;
}

std::string ConvSpec::str() const {
  const std::string nd = std::to_string(rank()) + "d";
  return (transposed ? "conv_transpose" : "conv") + nd + " x" + shape_str(input_shape()) + " -> " +
         shape_str(output_shape()) + " k" + std::to_string(kernel) + " s" + std::to_string(stride) + " p" +
         std::to_string(pad) + (bias ? " +bias" : "");
}

int64_t BatchNormSpec::values_per_channel() const { return shape_numel(spatial) * n; }
Shape BatchNormSpec::shape() const { return cat_shape(n, c, spatial); }

SpatialDims PoolSpec::out() const {
  SpatialDims o;
  for (int64_t i : in) o.push_back(i / kernel);
  return o;
}
Shape PoolSpec::input_shape() const { return cat_shape(n, c, in); }
Shape PoolSpec::output_shape() const { return cat_shape(n, c, out()); }

namespace {
// A GPU primitive chooses its algorithms and math type when made, from the GPU numerics settings
// (base/gpu_math.hpp): they are part of its key, so that changing them (unet bench measures the
// cost of determinism in one process) makes new primitives instead of silently reusing old ones.
int gpu_numerics_key(Device d) {
  return d == Device::CUDA ? (gpu_deterministic() ? 1 : 0) + (gpu_allow_tf32() ? 2 : 0) : 0;
}

template <class Spec, class Prim>
Prim& cached(Device d, const Spec& spec, std::unique_ptr<Prim> (*make_cpu)(const Spec&),
             std::unique_ptr<Prim> (*make_cuda)(const Spec&)) {
  static std::mutex mu;
  static std::map<std::tuple<Device, int, Spec>, std::unique_ptr<Prim>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{d, gpu_numerics_key(d), spec}];
  if (!slot) {
    if (d == Device::CPU) {
      slot = make_cpu(spec);
    } else {
      UNET_CHECK(make_cuda != nullptr, "primitive", tr("CUDA tensor in a binary built without CUDA"));
      slot = make_cuda(spec);
    }
  }
  return *slot;
}
}  // namespace

#ifdef UNET_HAS_CUDA
#define UNET_CUDA_FACTORY(fn) &cuda::fn
#else
#define UNET_CUDA_FACTORY(fn) nullptr
#endif

ConvPrimitive& conv_primitive(Device d, const ConvSpec& spec) {
  return cached<ConvSpec, ConvPrimitive>(d, spec, &cpu::make_conv, UNET_CUDA_FACTORY(make_conv));
}
BatchNormPrimitive& batchnorm_primitive(Device d, const BatchNormSpec& spec) {
  return cached<BatchNormSpec, BatchNormPrimitive>(d, spec, &cpu::make_batchnorm, UNET_CUDA_FACTORY(make_batchnorm));
}
PoolPrimitive& pool_primitive(Device d, const PoolSpec& spec) {
  return cached<PoolSpec, PoolPrimitive>(d, spec, &cpu::make_pool, UNET_CUDA_FACTORY(make_pool));
}

namespace ops {

namespace {

// An image batch [N, C, H, W] or a volume batch [N, C, D, H, W].
void check_spatial(const char* op, const Tensor& t, const char* what) {
  UNET_CHECK(t.defined(), op, trf("{} is undefined", std::string(what)));
  UNET_CHECK(t.ndim() == 4 || t.ndim() == 5, op,
             trf("{} must be [N, C, H, W] or [N, C, D, H, W], got {}", std::string(what), shape_str(t.shape())));
}

// The PyTorch name of a layer op for this input: conv2d for images, conv3d for volumes.
const char* nd_name(const Tensor& x, const char* name2d, const char* name3d) {
  return x.defined() && x.ndim() == 5 ? name3d : name2d;
}

SpatialDims spatial_dims(const Tensor& t) { return SpatialDims(t.shape().begin() + 2, t.shape().end()); }

void check_vector(const char* op, const Tensor& t, int64_t len, const char* what) {
  UNET_CHECK(t.defined() && t.ndim() == 1 && t.dim(0) == len, op,
             trf("{} must have shape [{}], got {}", std::string(what), std::to_string(len),
                 (t.defined() ? shape_str(t.shape()) : tr("<undefined>"))));
}

// Backend state a forward keeps for its backward (pooling's argmax, the fused ReLU's mask), as a
// tensor of floats; undefined when the backend keeps none.
Tensor backend_workspace(std::size_t bytes, Device d) {
  const auto floats = static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float));
  return floats > 0 ? Tensor::empty({floats}, d) : Tensor();
}
// For a backend, which knows the layout it is handed.
float* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// a and b in one layout: as they are when they agree, else both plain.
std::pair<Tensor, Tensor> in_one_layout(const Tensor& a, const Tensor& b) {
  if (a.channel_block() == b.channel_block()) return {a, b};
  return {to_plain(a), to_plain(b)};
}

Tensor conv_impl(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride,
                 int64_t pad, bool transposed) {
  check_spatial(op, x, "input");
  check_spatial(op, w, "weight");
  check_same_device(op, x, w);
  UNET_CHECK(w.ndim() == x.ndim(), op,
             trf("weight {} and input {} differ in rank", shape_str(w.shape()), shape_str(x.shape())));
  // PyTorch layouts: conv weight [Cout, Cin, k, k], transposed weight [Cin, Cout, k, k].
  const int64_t w_in = transposed ? w.dim(0) : w.dim(1);
  const int64_t c_out = transposed ? w.dim(1) : w.dim(0);
  for (int64_t i = 3; i < w.ndim(); ++i)
    UNET_CHECK(w.dim(i) == w.dim(2), op,
               trf("the kernel must be the same size along every axis, got weight {}", shape_str(w.shape())));
  UNET_CHECK(x.dim(1) == w_in, op,
             trf("input {} has {} channels but weight {} expects {}", shape_str(x.shape()), std::to_string(x.dim(1)),
                 shape_str(w.shape()), std::to_string(w_in)));
  UNET_CHECK(stride >= 1 && pad >= 0, op, tr("stride must be >= 1 and pad >= 0"));
  if (b.defined()) {
    check_vector(op, b, c_out, "bias");
    check_same_device(op, x, b);
  }
  const Device d = x.device();
  ConvSpec spec{x.dim(0), x.dim(1), c_out, spatial_dims(x), w.dim(2), stride, pad, b.defined(), transposed};
  spec.src_block = x.channel_block();
  spec.blocked_out = d == Device::CPU && blocked_layout_allowed();
  for (int64_t o : spec.out())
    UNET_CHECK(o > 0, op, trf("input {} is too small for kernel {}", shape_str(x.shape()), std::to_string(w.dim(2))));
  ConvPrimitive& prim = conv_primitive(d, spec);
  Tensor y = Tensor::empty(spec.output_shape(), d, prim.output_block());  // [N, Cout, *out]
  {
    ScopedOpTimer timer(d, [&] { return spec.str(); }, false, spec.flops());
    prim.forward(x.raw_data(), w.data(), b.defined() ? b.data() : nullptr, y.raw_data());
  }

  const bool need_x = x.requires_grad(), need_w = w.requires_grad(), need_b = b.requires_grad();
  record(y, op, {x, w, b}, [spec, d, need_x, need_w, need_b, x_saved = detached(x), w_saved = detached(w)](const Tensor& dy) {
    ConvPrimitive& p = conv_primitive(d, spec);
    ScopedOpTimer timer(d, [&] { return spec.str(); }, true,
                        spec.flops() * ((need_x ? 1.0 : 0.0) + (need_w || need_b ? 1.0 : 0.0)));
    Tensor dx, dw, db;
    if (need_x) {
      dx = Tensor::empty_like(x_saved);
      p.backward_data(dy.raw_data(), w_saved.data(), dx.raw_data());
    }
    if (need_w || need_b) {
      dw = Tensor::empty(w_saved.shape(), d);
      if (spec.bias) db = Tensor::empty({spec.c_out}, d);
      p.backward_weights(x_saved.raw_data(), dy.raw_data(), dw.data(), spec.bias ? db.data() : nullptr);
    }
    return std::vector<Tensor>{dx, need_w ? dw : Tensor(), need_b ? db : Tensor()};
  });
  return y;
}

void check_bn(const char* op, const Tensor& x, const Tensor& gamma, const Tensor& beta,
              const Tensor& rm, const Tensor& rv) {
  check_spatial(op, x, "input");
  const int64_t c = x.dim(1);
  check_vector(op, gamma, c, "weight");
  check_vector(op, beta, c, "bias");
  check_vector(op, rm, c, "running_mean");
  check_vector(op, rv, c, "running_var");
  for (const Tensor* t : {&gamma, &beta, &rm, &rv}) check_same_device(op, x, *t);
}

}  // namespace

Tensor conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad) {
  return conv_impl(nd_name(x, "conv2d", "conv3d"), x, w, b, stride, pad, false);
}

Tensor conv_transpose(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad) {
  return conv_impl(nd_name(x, "conv_transpose2d", "conv_transpose3d"), x, w, b, stride, pad, true);
}

namespace {

// Mean and biased variance over the global batch: each rank's sums, summed over the ranks, then
// the backend's inference primitive normalises with them; backward in kernels/channel_sums.hpp.
Tensor sync_batch_norm_train(const Tensor& x_any, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                             const Tensor& running_var, float momentum, float eps, const BatchNormSync& sync) {
  const Tensor x = to_plain(x_any);  // the channel sums index NCHW
  const BatchNormSpec spec{x.dim(0), x.dim(1), spatial_dims(x), eps};
  const int64_t n = spec.n, c = spec.c, p = shape_numel(spec.spatial);
  UNET_CHECK(sync.global_batch >= n, "sync_batch_norm",
             trf("the global batch ({}) is smaller than this rank's ({})", std::to_string(sync.global_batch),
                 std::to_string(n)));
  const int64_t count = sync.global_batch * p;  // values per channel on every rank together
  UNET_CHECK(count > 1, "sync_batch_norm",
             trf("training needs more than one value per channel, got input {}", shape_str(x.shape())));
  const Device d = x.device();
  dist::Communicator* comm = sync.comm;
  ScopedOpTimer timer(d, [&] { return "sync_batch_norm " + shape_str(x.shape()); }, false, 0.0,
                      16.0 * static_cast<double>(x.numel()));
  Tensor scratch = Tensor::empty({c * kernels::channel_sum_chunks(n * p)}, d);
  Tensor mean = Tensor::empty({c}, d), var = Tensor::empty({c}, d);  // [C] each
  const float inv_count = static_cast<float>(1.0 / static_cast<double>(count));
  kernels::channel_sums(d, n, c, p, x.data(), nullptr, nullptr, nullptr, scratch.data(), mean.data());
  comm->allreduce_sum(mean.data(), c, d);
  kernels::scale(d, c, inv_count, mean.data(), mean.data());
  kernels::channel_sums(d, n, c, p, x.data(), mean.data(), x.data(), mean.data(), scratch.data(), var.data());
  comm->allreduce_sum(var.data(), c, d);
  kernels::scale(d, c, inv_count, var.data(), var.data());
  Tensor y = Tensor::empty(x.shape(), d);
  batchnorm_primitive(d, spec).forward_eval(x.data(), gamma.data(), beta.data(), mean.data(), var.data(), y.data());
  kernels::batchnorm_running_stats(d, c, mean.data(), var.data(), momentum, count, running_mean.data(),
                                   running_var.data());
  const bool need_x = x.requires_grad();
  record(y, "sync_batch_norm", {x, gamma, beta},
         [n, c, p, count, eps, d, comm, need_x, xs = detached(x), gs = detached(gamma), mean, var](const Tensor& dy) {
           ScopedOpTimer t(d, [&] { return "sync_batch_norm " + shape_str(xs.shape()); }, true, 0.0,
                           20.0 * static_cast<double>(xs.numel()));
           Tensor scratch = Tensor::empty({c * kernels::channel_sum_chunks(n * p)}, d);
           Tensor local = Tensor::empty({2, c}, d), sums = Tensor::empty({2, c}, d);  // [sum dy; sum dy (x - mean)]
           kernels::channel_sums(d, n, c, p, dy.data(), nullptr, nullptr, nullptr, scratch.data(), local.data());
           kernels::channel_sums(d, n, c, p, dy.data(), nullptr, xs.data(), mean.data(), scratch.data(),
                                 local.data() + c);
           sums.copy_from(local);
           comm->allreduce_sum(sums.data(), 2 * c, d);
           Tensor dx = Tensor::empty(xs.shape(), d);
           Tensor dgamma = Tensor::empty({c}, d), dbeta = Tensor::empty({c}, d);
           kernels::sync_batchnorm_backward(d, n, c, p, count, eps, xs.data(), dy.data(), mean.data(), var.data(),
                                            gs.data(), sums.data(), local.data(), dx.data(), dgamma.data(),
                                            dbeta.data());
           return std::vector<Tensor>{need_x ? dx : Tensor(), dgamma, dbeta};
         });
  return y;
}

}  // namespace

namespace {

bool synced(const BatchNormSync* sync) { return sync != nullptr && sync->comm != nullptr && sync->comm->size() > 1; }

// One batch norm in training mode, with the ReLU after it fused when `relu` (CPU only).
Tensor batch_norm_train_impl(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                             const Tensor& running_var, float momentum, float eps, bool relu) {
  const BatchNormSpec spec{x.dim(0), x.dim(1), spatial_dims(x), eps, x.channel_block(), relu};
  UNET_CHECK(spec.values_per_channel() > 1, "batch_norm",
             trf("training needs more than one value per channel, got input {}", shape_str(x.shape())));
  const Device d = x.device();
  const char* name = relu ? "batch_norm_relu " : "batch_norm ";
  BatchNormPrimitive& prim = batchnorm_primitive(d, spec);
  Tensor y = Tensor::empty_like(x);
  Tensor saved = Tensor::empty({2, spec.c}, d);  // backend-defined per-channel statistics
  const Tensor workspace = backend_workspace(prim.workspace_bytes(), d);  // the fused ReLU's mask
  {
    // Bytes: x read for the statistics and again to normalise, y written.
    ScopedOpTimer timer(d, [&] { return name + shape_str(x.shape()); }, false, 0.0, 12.0 * static_cast<double>(x.numel()));
    prim.forward_train(x.raw_data(), gamma.data(), beta.data(), y.raw_data(), saved.data(), running_mean.data(),
                       running_var.data(), momentum, data_or_null(workspace));
  }
  const bool need_x = x.requires_grad();
  record(y, relu ? "batch_norm_relu" : "batch_norm", {x, gamma, beta},
         [spec, d, name, need_x, xs = detached(x), gs = detached(gamma), bs = detached(beta), saved,
          workspace](const Tensor& dy) {
           // Bytes: x and dy read for the two sums and again for dx, dx written.
           ScopedOpTimer t(d, [&] { return name + shape_str(xs.shape()); }, true, 0.0,
                           20.0 * static_cast<double>(xs.numel()));
           Tensor dx = Tensor::empty_like(xs);
           Tensor dgamma = Tensor::empty({spec.c}, d), dbeta = Tensor::empty({spec.c}, d);
           batchnorm_primitive(d, spec).backward(xs.raw_data(), dy.raw_data(), gs.data(), bs.data(), saved.data(),
                                                 data_or_null(workspace), dx.raw_data(),
                                                 dgamma.data(), dbeta.data());
           return std::vector<Tensor>{need_x ? dx : Tensor(), dgamma, dbeta};
         });
  return y;
}

Tensor batch_norm_eval_impl(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                            const Tensor& running_var, float eps, bool relu) {
  const BatchNormSpec spec{x.dim(0), x.dim(1), spatial_dims(x), eps, x.channel_block(), relu};
  Tensor y = Tensor::empty_like(x);
  batchnorm_primitive(x.device(), spec)
      .forward_eval(x.raw_data(), gamma.data(), beta.data(), running_mean.data(), running_var.data(), y.raw_data());
  // Evaluation mode is not differentiated in this engine (it is used for validation only).
  UNET_CHECK(!needs_graph({x, gamma, beta}), "batch_norm",
             tr("evaluation mode does not record gradients; wrap it in NoGradGuard"));
  return y;
}

}  // namespace

Tensor batch_norm_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                        const Tensor& running_var, float momentum, float eps, const BatchNormSync* sync) {
  check_bn("batch_norm", x, gamma, beta, running_mean, running_var);
  if (synced(sync)) return sync_batch_norm_train(x, gamma, beta, running_mean, running_var, momentum, eps, *sync);
  return batch_norm_train_impl(x, gamma, beta, running_mean, running_var, momentum, eps, false);
}

Tensor batch_norm_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                       const Tensor& running_var, float eps) {
  check_bn("batch_norm", x, gamma, beta, running_mean, running_var);
  return batch_norm_eval_impl(x, gamma, beta, running_mean, running_var, eps, false);
}

Tensor batch_norm_relu_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                             const Tensor& running_var, float momentum, float eps, const BatchNormSync* sync) {
  check_bn("batch_norm", x, gamma, beta, running_mean, running_var);
  if (x.device() != Device::CPU || synced(sync))
    return relu_(batch_norm_train(x, gamma, beta, running_mean, running_var, momentum, eps, sync));
  return batch_norm_train_impl(x, gamma, beta, running_mean, running_var, momentum, eps, true);
}

Tensor batch_norm_relu_eval(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                            const Tensor& running_var, float eps) {
  check_bn("batch_norm", x, gamma, beta, running_mean, running_var);
  if (x.device() != Device::CPU) return relu_(batch_norm_eval(x, gamma, beta, running_mean, running_var, eps));
  return batch_norm_eval_impl(x, gamma, beta, running_mean, running_var, eps, true);
}

Tensor max_pool(const Tensor& x, int64_t kernel) {
  const char* op = nd_name(x, "max_pool2d", "max_pool3d");
  check_spatial(op, x, "input");
  UNET_CHECK(kernel >= 1, op, trf("the window must be at least 1, got {}", std::to_string(kernel)));
  for (int64_t i = 2; i < x.ndim(); ++i)
    UNET_CHECK(x.dim(i) >= kernel, op,
               trf("input {} is smaller than the window {}", shape_str(x.shape()), std::to_string(kernel)));
  const PoolSpec spec{x.dim(0), x.dim(1), spatial_dims(x), kernel, x.channel_block()};
  const Device d = x.device();
  PoolPrimitive& prim = pool_primitive(d, spec);
  Tensor y = Tensor::empty(spec.output_shape(), d, spec.block);  // [N, C, *in / k]
  // The pooling workspace (cuDNN: none; oneDNN: the argmax indices) lives until backward.
  const Tensor workspace = backend_workspace(prim.workspace_bytes(), d);
  {
    // Bytes: x read, y (1/k^d of x) written; counted as x read and written once.
    ScopedOpTimer timer(d, [&] { return std::string(op) + " " + shape_str(x.shape()); }, false, 0.0,
                        8.0 * static_cast<double>(x.numel()));
    prim.forward(x.raw_data(), y.raw_data(), data_or_null(workspace));
  }
  // Kept for the backward only where the backend reads them (cuDNN); oneDNN's argmax is in the
  // workspace, so on the CPU the input (a U-Net's skip) is freed once the decoder has used it.
  const bool keep = prim.backward_reads_values();
  record(y, op, {x}, [spec, d, op, xs = keep ? detached(x) : Tensor(), ys = keep ? detached(y) : Tensor(),
                      workspace](const Tensor& dy) {
    const Shape x_shape = spec.input_shape();
    ScopedOpTimer t(d, [&] { return std::string(op) + " " + shape_str(x_shape); }, true, 0.0,
                    8.0 * static_cast<double>(shape_numel(x_shape)));
    Tensor dx = Tensor::empty(x_shape, d, spec.block);
    pool_primitive(d, spec).backward(data_or_null(xs), data_or_null(ys), dy.raw_data(), data_or_null(workspace),
                                     dx.raw_data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

namespace {
Tensor relu_impl(const Tensor& x, bool in_place) {
  Tensor y = in_place ? detached(x) : Tensor::empty_like(x);
  {
    ScopedOpTimer timer(x.device(), [&] { return "relu " + shape_str(x.shape()); }, false, 0.0,
                        8.0 * static_cast<double>(x.numel()));
    kernels::relu_forward(x.device(), x.numel(), x.raw_data(), y.raw_data());  // elementwise: any layout
  }
  // The backward needs only the output (y > 0 exactly where x > 0).
  record(y, "relu", {x}, [ys = detached(y)](const Tensor& dy) {
    ScopedOpTimer t(ys.device(), [&] { return "relu " + shape_str(ys.shape()); }, true, 0.0,
                    12.0 * static_cast<double>(ys.numel()));
    Tensor dx = Tensor::empty_like(ys);
    kernels::relu_backward(ys.device(), ys.numel(), ys.raw_data(), dy.raw_data(), dx.raw_data());
    return std::vector<Tensor>{dx};
  });
  return y;
}
}  // namespace

Tensor relu(const Tensor& x) { return relu_impl(x, false); }

Tensor relu_(const Tensor& x) { return relu_impl(x, true); }

Tensor sigmoid(const Tensor& x) {
  Tensor y = Tensor::empty_like(x);
  kernels::sigmoid_forward(x.device(), x.numel(), x.raw_data(), y.raw_data());  // elementwise: any layout
  record(y, "sigmoid", {x}, [ys = detached(y)](const Tensor& dy) {
    Tensor dx = Tensor::empty_like(ys);
    kernels::sigmoid_backward(ys.device(), ys.numel(), ys.raw_data(), dy.raw_data(), dx.raw_data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor to_plain(const Tensor& x) {
  UNET_CHECK(x.defined(), "to_plain", tr("undefined tensor"));
  if (x.is_plain()) return x;
  const int64_t block = x.channel_block();  // blocked tensors exist on the CPU only
  Tensor y = Tensor::empty(x.shape(), x.device());
  {
    ScopedOpTimer timer(x.device(), [&] { return "to_plain " + shape_str(x.shape()); }, false, 0.0,
                        8.0 * static_cast<double>(x.numel()));
    cpu::reorder_channels(x.shape(), x.raw_data(), block, y.data(), 0);
  }
  record(y, "to_plain", {x}, [block](const Tensor& dy) {
    ScopedOpTimer t(dy.device(), [&] { return "to_plain " + shape_str(dy.shape()); }, true, 0.0,
                    8.0 * static_cast<double>(dy.numel()));
    Tensor dx = Tensor::empty(dy.shape(), dy.device(), block);
    cpu::reorder_channels(dy.shape(), dy.data(), 0, dx.raw_data(), block);
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor concat_channels(const Tensor& a_any, const Tensor& b_any) {
  check_spatial("concat_channels", a_any, "first input");
  check_spatial("concat_channels", b_any, "second input");
  // Both in one layout: with whole channel blocks, image n of the result is then image n of a
  // followed by image n of b in memory, in either layout.
  const auto [a, b] = in_one_layout(a_any, b_any);
  check_same_device("concat_channels", a, b);
  UNET_CHECK(a.dim(0) == b.dim(0) && spatial_dims(a) == spatial_dims(b), "concat_channels",
             trf("inputs differ outside the channel dimension: {} vs {}", shape_str(a.shape()), shape_str(b.shape())));
  const int64_t n = a.dim(0), ca = a.dim(1), cb = b.dim(1), hw = shape_numel(spatial_dims(a));
  const Device d = a.device();
  Shape y_shape = a.shape();
  y_shape[1] = ca + cb;
  const int64_t block = a.channel_block();
  Tensor y = Tensor::empty(y_shape, d, block);  // [N, Ca+Cb, *spatial]
  {
    ScopedOpTimer timer(d, [&] { return "concat " + shape_str(y.shape()); }, false, 0.0, 8.0 * static_cast<double>(y.numel()));
    kernels::concat_channels(d, n, ca, cb, hw, a.raw_data(), b.raw_data(), y.raw_data());
  }
  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  record(y, "concat_channels", {a, b}, [=, sa = a.shape(), sb = b.shape()](const Tensor& dy) {
    ScopedOpTimer t(d, [&] { return "concat " + shape_str(y_shape); }, true, 0.0, 8.0 * static_cast<double>(shape_numel(y_shape)));
    Tensor da = need_a ? Tensor::empty(sa, d, block) : Tensor();
    Tensor db = need_b ? Tensor::empty(sb, d, block) : Tensor();
    kernels::concat_channels_backward(d, n, ca, cb, hw, dy.raw_data(), need_a ? da.raw_data() : nullptr,
                                      need_b ? db.raw_data() : nullptr);
    return std::vector<Tensor>{da, db};
  });
  return y;
}

Tensor add(const Tensor& a_any, const Tensor& b_any) {
  check_same_shape("add", a_any, b_any);
  check_same_device("add", a_any, b_any);
  const auto [a, b] = in_one_layout(a_any, b_any);
  Tensor y = Tensor::empty_like(a);
  kernels::add(a.device(), a.numel(), a.raw_data(), b.raw_data(), y.raw_data());
  record(y, "add", {a, b}, [](const Tensor& dy) { return std::vector<Tensor>{dy, dy}; });
  return y;
}

Tensor scale(const Tensor& x, float alpha) {
  Tensor y = Tensor::empty_like(x);
  kernels::scale(x.device(), x.numel(), alpha, x.raw_data(), y.raw_data());
  record(y, "scale", {x}, [alpha](const Tensor& dy) {
    Tensor dx = Tensor::empty_like(dy);
    kernels::scale(dy.device(), dy.numel(), alpha, dy.raw_data(), dx.raw_data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor sum(const Tensor& x) {
  Tensor y = Tensor::empty({1}, x.device());
  kernels::sum(x.device(), x.numel(), x.raw_data(), y.data());  // any order of the elements
  record(y, "sum", {x}, [shape = x.shape(), block = x.channel_block()](const Tensor& dy) {
    Tensor dx = Tensor::empty(shape, dy.device(), block);
    kernels::broadcast_scalar(dy.device(), dx.numel(), dy.data(), dx.raw_data());
    return std::vector<Tensor>{dx};
  });
  return y;
}

Tensor mean(const Tensor& x) {
  UNET_CHECK(x.numel() > 0, "mean", trf("empty tensor {}", shape_str(x.shape())));
  return scale(sum(x), 1.0f / static_cast<float>(x.numel()));
}

}  // namespace ops
}  // namespace unet
