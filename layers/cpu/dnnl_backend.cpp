// CPU primitives on oneDNN (the library PyTorch's CPU path uses). Every oneDNN call that
// can fail throws dnnl::error; it is rethrown as unet::Error naming the layer and shape.
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdlib>

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "engine/tensor.hpp"
#include "kernels/kernels.hpp"
#include "layers/backend.hpp"

namespace unet::cpu {

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& cpu_stream() {
  static dnnl::stream s(cpu_engine());
  return s;
}

// A plain row-major [N, C, *spatial] (or weight) layout of any rank, by strides rather than a
// named tag, so one code path serves 2D and 3D.
memory::desc plain(const memory::dims& dims) {
  memory::dims strides(dims.size(), 1);
  for (std::size_t i = dims.size() - 1; i > 0; --i) strides[i - 1] = strides[i] * dims[i];
  return memory::desc(dims, dt::f32, strides);
}

// PyTorch's transposed-convolution weight [in, out, k...] seen as oneDNN's logical
// {out, in, k...}: the first two axes of the plain layout swap.
memory::desc transposed_weights(const memory::dims& logical) {
  memory::dims physical = logical;
  std::swap(physical[0], physical[1]);
  memory::dims strides(physical.size(), 1);
  for (std::size_t i = physical.size() - 1; i > 0; --i) strides[i - 1] = strides[i] * physical[i];
  std::swap(strides[0], strides[1]);
  return memory::desc(logical, dt::f32, strides);
}

memory::dims dims_of(const Shape& s) { return memory::dims(s.begin(), s.end()); }

// [N, C, *spatial] with `block` channels per block (TensorImpl::channel_block; 0 is plain):
// oneDNN's nChw{b}c / nCdhw{b}c, named aBcd{b}b / aBcde{b}b for any tensor kind.
memory::desc layout_desc(const memory::dims& dims, int64_t block) {
  if (block == 0) return plain(dims);
  const bool volume = dims.size() == 5;
  UNET_CHECK(dims.size() == 4 || volume, "oneDNN layout",
             trf("a blocked layout needs [N, C, H, W] or [N, C, D, H, W], got {} dimensions", std::to_string(dims.size())));
  switch (block) {
    case 4: return memory::desc(dims, dt::f32, volume ? tag::aBcde4b : tag::aBcd4b);
    case 8: return memory::desc(dims, dt::f32, volume ? tag::aBcde8b : tag::aBcd8b);
    case 16: return memory::desc(dims, dt::f32, volume ? tag::aBcde16b : tag::aBcd16b);
    default: UNET_THROW("oneDNN layout", trf("no layout of {} channels per block", std::to_string(block)));
  }
}

// The channel block of a layout oneDNN chose, when it is one a Tensor can carry (C a multiple
// of it, so nothing is padded); 0 otherwise. Which one depends on the machine (8 on AVX2, 16 on
// AVX-512), so it is read from the primitive, never assumed.
int64_t channel_block_of(const memory::desc& chosen, const memory::dims& dims) {
  if (dims.size() != 4 && dims.size() != 5) return 0;
  for (int64_t b : {16, 8, 4})
    if (dims[1] % b == 0 && chosen == layout_desc(dims, b)) return b;
  return 0;
}

memory wrap(const memory::desc& md, const void* p) {
  // oneDNN takes non-const handles; inputs are only read.
  return memory(md, cpu_engine(), const_cast<void*>(p));
}

// Every primitive is created with a user-managed scratchpad and they all share one buffer
// (per thread), sized to the largest request: with oneDNN's default each primitive keeps its
// own (im2col buffers of tens of MB each), which multiplied the U-Net's memory.
dnnl::primitive_attr shared_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

void* scratchpad(std::size_t bytes) {
  struct Buffer {
    void* p = nullptr;
    std::size_t size = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer buf;
  if (bytes > buf.size) {
    std::free(buf.p);
    buf.p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    UNET_CHECK(buf.p != nullptr, "oneDNN scratchpad", trf("out of memory allocating {} bytes", std::to_string(bytes)));
    buf.size = bytes;
  }
  return buf.p;
}

template <class PrimitiveDesc>
void execute(dnnl::primitive& prim, const PrimitiveDesc& pd, std::unordered_map<int, memory> args) {
  const memory::desc scratch = pd.scratchpad_desc();
  if (scratch.get_size() > 0) args.emplace(DNNL_ARG_SCRATCHPAD, memory(scratch, cpu_engine(), scratchpad(scratch.get_size())));
  prim.execute(cpu_stream(), args);
  cpu_stream().wait();
}

template <class Fn>
auto dnnl_call(const std::string& what, Fn&& fn) {
  try {
    return fn();
  } catch (const dnnl::error& e) {
    UNET_THROW("oneDNN " + what,
               trf("{} (status {})", std::string(e.what()), std::to_string(static_cast<int>(e.status))));
  }
}

// A tensor argument in the layout oneDNN chose for speed (blocked, e.g. nChw16c or
// OIhw16i16o) while the tensor is in another (the weights are plain; activations are plain or
// blocked): reorders in and out, through a temporary from the caching allocator. When the two
// layouts agree, as they do between the CPU layers of a model, nothing is copied.
class Relayout {
 public:
  Relayout() = default;
  Relayout(const memory::desc& actual, const memory::desc& chosen) : actual_(actual), chosen_(chosen) {
    if (actual == chosen) return;
    auto& eng = cpu_engine();
    to_chosen_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, actual, eng, chosen));
    to_actual_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, chosen, eng, actual));
    needed_ = true;
  }
  const memory::desc& chosen() const { return chosen_; }
  // An input: the pointer to hand to the primitive.
  const void* in(const void* tensor, Tensor& tmp) const {
    if (!needed_) return tensor;
    tmp = Tensor::empty({static_cast<int64_t>((chosen_.get_size() + 3) / 4)});
    memory from = wrap(actual_, tensor), to = wrap(chosen_, tmp.data());
    to_chosen_.execute(cpu_stream(), from, to);
    return tmp.data();
  }
  // An output: where the primitive writes; finish() moves it into the tensor.
  void* out(void* tensor, Tensor& tmp) const {
    if (!needed_) return tensor;
    tmp = Tensor::empty({static_cast<int64_t>((chosen_.get_size() + 3) / 4)});
    return tmp.data();
  }
  void finish(void* tensor, const Tensor& tmp) const {
    if (!needed_) return;
    memory from = wrap(chosen_, tmp.data()), to = wrap(actual_, tensor);
    to_actual_.execute(cpu_stream(), from, to);
  }

 private:
  memory::desc actual_, chosen_;
  dnnl::reorder to_chosen_, to_actual_;
  bool needed_ = false;
};

// Convolution and deconvolution share descriptor shapes in oneDNN; one template serves both.
// The primitives are created with format `any`, so oneDNN picks its fastest (blocked)
// layouts; Relayout converts at the boundary.
template <class Fwd, class BwdData, class BwdWeights>
class DnnlConv final : public ConvPrimitive {
 public:
  DnnlConv(const ConvSpec& s, dnnl::algorithm algo) : spec_(s) {
    dnnl_call("convolution setup " + s.str(), [&] {
      const auto rank = static_cast<std::size_t>(s.rank());
      const memory::dims strides(rank, s.stride), pad(rank, s.pad);
      const memory::dims src_dims = dims_of(s.input_shape()), dst_dims = dims_of(s.output_shape());
      // Logical weight dims are {out, in, k, ...} for both; PyTorch's transposed layout
      // [in, out, k, ...] is oneDNN's iohw / iodhw.
      memory::dims wei_dims{s.c_out, s.c_in};
      wei_dims.insert(wei_dims.end(), rank, s.kernel);
      const memory::desc src = layout_desc(src_dims, s.src_block);
      const memory::desc wei = s.transposed ? transposed_weights(wei_dims) : plain(wei_dims);
      const memory::desc src_any(src_dims, dt::f32, tag::any), dst_any(dst_dims, dt::f32, tag::any);
      const memory::desc wei_any(wei_dims, dt::f32, tag::any);
      bias_ = s.bias ? memory::desc({s.c_out}, dt::f32, tag::x) : memory::desc();
      auto& eng = cpu_engine();
      const auto attr = shared_scratchpad_attr();
      fwd_pd_ = typename Fwd::primitive_desc(
          typename Fwd::desc(dnnl::prop_kind::forward_training, algo, src_any, wei_any, bias_, dst_any, strides, pad, pad),
          attr, eng);
      // The output stays in the layout the convolution writes when a Tensor can carry it. Where
      // oneDNN writes NCHW (its GEMM-based 3D transposed convolution) the output is still put in
      // the input's blocking, so that the next op (a concatenation with a blocked skip) needs no
      // conversion that it would have to keep until backward.
      out_block_ = s.blocked_out ? channel_block_of(fwd_pd_.dst_desc(), dst_dims) : 0;
      if (s.blocked_out && out_block_ == 0 && s.src_block > 0 && s.c_out % s.src_block == 0) out_block_ = s.src_block;
      const memory::desc dst = layout_desc(dst_dims, out_block_);
      bwd_data_pd_ = typename BwdData::primitive_desc(
          typename BwdData::desc(algo, src_any, wei_any, dst_any, strides, pad, pad), attr, eng, fwd_pd_);
      bwd_weights_pd_ = typename BwdWeights::primitive_desc(
          typename BwdWeights::desc(algo, src_any, wei_any, bias_, dst_any, strides, pad, pad), attr, eng, fwd_pd_);
      fwd_src_ = Relayout(src, fwd_pd_.src_desc());
      fwd_wei_ = Relayout(wei, fwd_pd_.weights_desc());
      fwd_dst_ = Relayout(dst, fwd_pd_.dst_desc());
      bd_dsrc_ = Relayout(src, bwd_data_pd_.diff_src_desc());
      bd_wei_ = Relayout(wei, bwd_data_pd_.weights_desc());
      bd_ddst_ = Relayout(dst, bwd_data_pd_.diff_dst_desc());
      bw_src_ = Relayout(src, bwd_weights_pd_.src_desc());
      bw_dwei_ = Relayout(wei, bwd_weights_pd_.diff_weights_desc());
      bw_ddst_ = Relayout(dst, bwd_weights_pd_.diff_dst_desc());
      fwd_ = Fwd(fwd_pd_);
      bwd_data_ = BwdData(bwd_data_pd_);
      bwd_weights_ = BwdWeights(bwd_weights_pd_);
      return 0;
    });
  }

  int64_t output_block() const override { return out_block_; }

  void forward(const float* x, const float* w, const float* b, float* y) override {
    dnnl_call("convolution forward " + spec_.str(), [&] {
      Tensor ts, tw, td;
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(fwd_src_.chosen(), fwd_src_.in(x, ts))},
                                           {DNNL_ARG_WEIGHTS, wrap(fwd_wei_.chosen(), fwd_wei_.in(w, tw))},
                                           {DNNL_ARG_DST, wrap(fwd_dst_.chosen(), fwd_dst_.out(y, td))}};
      if (spec_.bias) args.emplace(DNNL_ARG_BIAS, wrap(bias_, b));
      execute(fwd_, fwd_pd_, args);
      fwd_dst_.finish(y, td);
      return 0;
    });
  }

  void backward_data(const float* dy, const float* w, float* dx) override {
    dnnl_call("convolution backward data " + spec_.str(), [&] {
      Tensor tdy, tw, tdx;
      execute(bwd_data_, bwd_data_pd_,
              {{DNNL_ARG_DIFF_DST, wrap(bd_ddst_.chosen(), bd_ddst_.in(dy, tdy))},
               {DNNL_ARG_WEIGHTS, wrap(bd_wei_.chosen(), bd_wei_.in(w, tw))},
               {DNNL_ARG_DIFF_SRC, wrap(bd_dsrc_.chosen(), bd_dsrc_.out(dx, tdx))}});
      bd_dsrc_.finish(dx, tdx);
      return 0;
    });
  }

  void backward_weights(const float* x, const float* dy, float* dw, float* db) override {
    dnnl_call("convolution backward weights " + spec_.str(), [&] {
      Tensor ts, tdy, tdw;
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(bw_src_.chosen(), bw_src_.in(x, ts))},
                                           {DNNL_ARG_DIFF_DST, wrap(bw_ddst_.chosen(), bw_ddst_.in(dy, tdy))},
                                           {DNNL_ARG_DIFF_WEIGHTS, wrap(bw_dwei_.chosen(), bw_dwei_.out(dw, tdw))}};
      if (spec_.bias) args.emplace(DNNL_ARG_DIFF_BIAS, wrap(bias_, db));
      execute(bwd_weights_, bwd_weights_pd_, args);
      bw_dwei_.finish(dw, tdw);
      return 0;
    });
  }

 private:
  ConvSpec spec_;
  int64_t out_block_ = 0;
  memory::desc bias_;
  typename Fwd::primitive_desc fwd_pd_;
  typename BwdData::primitive_desc bwd_data_pd_;
  typename BwdWeights::primitive_desc bwd_weights_pd_;
  Relayout fwd_src_, fwd_wei_, fwd_dst_, bd_dsrc_, bd_wei_, bd_ddst_, bw_src_, bw_dwei_, bw_ddst_;
  Fwd fwd_;
  BwdData bwd_data_;
  BwdWeights bwd_weights_;
};

using DnnlDeconv = DnnlConv<dnnl::deconvolution_forward, dnnl::deconvolution_backward_data,
                            dnnl::deconvolution_backward_weights>;

// A transposed convolution whose kernel equals its stride, without padding (the U-Net's 2x2(x2)
// stride 2): output patches do not overlap, so its forward is a 1x1 convolution to K^r * Cout
// channels, z[n, (a, co), i] = sum_ci w[ci, co, a] x[n, ci, i] + b[co] (a: the position in the
// patch), followed by a reorder that puts channel group a at y[n, co, K i + a]. oneDNN's own
// deconvolution forward runs this as a strided backward-data pass at 22-47 GFLOP/s on AVX2; the
// 1x1 convolution runs at the GEMM rate. The backward passes are oneDNN's deconvolution's.
class DnnlPatchDeconv final : public ConvPrimitive {
 public:
  explicit DnnlPatchDeconv(const ConvSpec& s)
      : spec_(s), general_(std::make_unique<DnnlDeconv>(s, dnnl::algorithm::deconvolution_direct)) {
    dnnl_call("convolution setup " + s.str(), [&] {
      const auto rank = static_cast<std::size_t>(s.rank());
      const int64_t k = s.kernel, co = s.c_out;
      groups_ = 1;
      for (std::size_t t = 0; t < rank; ++t) groups_ *= k;
      const int64_t out_block = general_->output_block();
      // The 1x1 convolution, in the layouts of x and y: no conversion of activations.
      const memory::dims src_dims = dims_of(s.input_shape());
      memory::dims z_dims = src_dims;
      z_dims[1] = groups_ * co;
      memory::dims wei_dims{groups_ * co, s.c_in};
      wei_dims.insert(wei_dims.end(), rank, 1);
      const memory::dims ones(rank, 1), zeros(rank, 0);
      auto& eng = cpu_engine();
      pw_pd_ = dnnl::convolution_forward::primitive_desc(
          {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, layout_desc(src_dims, s.src_block),
           memory::desc(wei_dims, dt::f32, tag::any), s.bias ? memory::desc({groups_ * co}, dt::f32, tag::x) : memory::desc(),
           layout_desc(z_dims, out_block), ones, zeros, zeros},
          shared_scratchpad_attr(), eng);
      pw_ = dnnl::convolution_forward(pw_pd_);
      pw_wei_ = Relayout(plain(wei_dims), pw_pd_.weights_desc());
      // PyTorch's w [ci, co, a_1..a_r] seen as [a_1..a_r, co, ci]; written plain, that is the 1x1
      // weight [(a, co), ci].
      memory::dims patch_dims(rank, k), patch_strides(rank, 1);
      for (std::size_t t = rank - 1; t > 0; --t) patch_strides[t - 1] = patch_strides[t] * k;
      patch_dims.insert(patch_dims.end(), {co, s.c_in});
      patch_strides.insert(patch_strides.end(), {groups_, groups_ * co});
      patch_view_ = memory::desc(patch_dims, dt::f32, patch_strides);
      patch_plain_ = plain(patch_dims);
      to_patch_major_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, patch_view_, eng, patch_plain_));
      // z and y as one set of dims [N, Cout / b, b, (S_t, K) for each axis t] (b: the channel
      // block, 1 when plain): y's position K i + a and z's channel group a become strides.
      const int64_t b = out_block > 0 ? out_block : 1, cb = co / b;
      int64_t in_voxels = 1, out_voxels = 1;
      for (std::size_t t = 0; t < rank; ++t) in_voxels *= s.in[t], out_voxels *= s.in[t] * k;
      memory::dims dims{s.n, cb, b};
      memory::dims y_strides{co * out_voxels, out_voxels * b, 1}, z_strides{groups_ * co * in_voxels, in_voxels * b, 1};
      int64_t y_after = out_voxels, z_after = in_voxels, group_after = groups_;
      for (std::size_t t = 0; t < rank; ++t) {
        y_after /= s.in[t] * k, z_after /= s.in[t], group_after /= k;
        dims.insert(dims.end(), {s.in[t], k});
        y_strides.insert(y_strides.end(), {k * y_after * b, y_after * b});
        z_strides.insert(z_strides.end(), {z_after * b, group_after * cb * in_voxels * b});
      }
      z_view_ = memory::desc(dims, dt::f32, z_strides);
      y_view_ = memory::desc(dims, dt::f32, y_strides);
      unfold_ = dnnl::reorder(dnnl::reorder::primitive_desc(eng, z_view_, eng, y_view_));
      z_desc_ = layout_desc(z_dims, out_block);
      return 0;
    });
  }

  int64_t output_block() const override { return general_->output_block(); }

  void forward(const float* x, const float* w, const float* b, float* y) override {
    dnnl_call("convolution forward " + spec_.str(), [&] {
      const int64_t co = spec_.c_out;
      const Tensor w_patch = Tensor::empty({groups_ * co * spec_.c_in});  // [(a, co), ci]
      const Tensor z = Tensor::empty({static_cast<int64_t>(z_desc_.get_size() / sizeof(float))});  // [N, (a, co), *in]
      Tensor tw, bias;
      memory from = wrap(patch_view_, w), to = wrap(patch_plain_, w_patch.data());
      to_patch_major_.execute(cpu_stream(), from, to);
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(pw_pd_.src_desc(), x)},
                                           {DNNL_ARG_WEIGHTS, wrap(pw_wei_.chosen(), pw_wei_.in(w_patch.data(), tw))},
                                           {DNNL_ARG_DST, wrap(z_desc_, z.data())}};
      if (spec_.bias) {
        bias = Tensor::empty({groups_ * co});
        for (int64_t g = 0; g < groups_; ++g) std::copy(b, b + co, bias.data() + g * co);
        args.emplace(DNNL_ARG_BIAS, wrap(pw_pd_.bias_desc(), bias.data()));
      }
      execute(pw_, pw_pd_, args);
      memory zm = wrap(z_view_, z.data()), ym = wrap(y_view_, y);
      unfold_.execute(cpu_stream(), zm, ym);
      cpu_stream().wait();
      return 0;
    });
  }

  void backward_data(const float* dy, const float* w, float* dx) override { general_->backward_data(dy, w, dx); }
  void backward_weights(const float* x, const float* dy, float* dw, float* db) override {
    general_->backward_weights(x, dy, dw, db);
  }

 private:
  ConvSpec spec_;
  std::unique_ptr<ConvPrimitive> general_;
  int64_t groups_ = 1;  // K^rank positions in a patch
  dnnl::convolution_forward::primitive_desc pw_pd_;
  dnnl::convolution_forward pw_;
  Relayout pw_wei_;
  dnnl::reorder to_patch_major_, unfold_;
  memory::desc z_desc_, y_view_, z_view_, patch_view_, patch_plain_;
};

class DnnlBatchNorm final : public BatchNormPrimitive {
 public:
  explicit DnnlBatchNorm(const BatchNormSpec& s) : spec_(s) {
    dnnl_call("batch norm setup", [&] {
      using nf = dnnl::normalization_flags;
      data_ = layout_desc(dims_of(s.shape()), s.block);
      stat_ = memory::desc({s.c}, dt::f32, tag::x);
      auto& eng = cpu_engine();
      const auto flags = nf::use_scale | nf::use_shift | (s.relu ? nf::fuse_norm_relu : nf::none);
      const auto attr = shared_scratchpad_attr();
      train_pd_ = dnnl::batch_normalization_forward::primitive_desc(
          {dnnl::prop_kind::forward_training, data_, s.eps, flags}, attr, eng);
      eval_pd_ = dnnl::batch_normalization_forward::primitive_desc(
          {dnnl::prop_kind::forward_inference, data_, s.eps, flags | nf::use_global_stats}, attr, eng);
      bwd_pd_ = dnnl::batch_normalization_backward::primitive_desc(
          {dnnl::prop_kind::backward, data_, data_, s.eps, flags}, attr, eng, train_pd_);
      ws_ = train_pd_.workspace_desc();
      train_ = dnnl::batch_normalization_forward(train_pd_);
      eval_ = dnnl::batch_normalization_forward(eval_pd_);
      bwd_ = dnnl::batch_normalization_backward(bwd_pd_);
      return 0;
    });
  }

  std::size_t workspace_bytes() const override { return ws_.get_size(); }

  void forward_train(const float* x, const float* gamma, const float* beta, float* y, float* saved,
                     float* running_mean, float* running_var, float momentum, void* workspace) override {
    float* mean = saved;
    float* var = saved + spec_.c;
    dnnl_call("batch norm forward", [&] {
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(data_, x)},
                                           {DNNL_ARG_DST, wrap(data_, y)},
                                           {DNNL_ARG_SCALE, wrap(stat_, gamma)},
                                           {DNNL_ARG_SHIFT, wrap(stat_, beta)},
                                           {DNNL_ARG_MEAN, wrap(stat_, mean)},
                                           {DNNL_ARG_VARIANCE, wrap(stat_, var)}};
      if (ws_.get_size() > 0) args.emplace(DNNL_ARG_WORKSPACE, wrap(ws_, workspace));
      execute(train_, train_pd_, args);
      return 0;
    });
    kernels::batchnorm_running_stats(Device::CPU, spec_.c, mean, var, momentum,
                                     spec_.values_per_channel(), running_mean, running_var);
  }

  void forward_eval(const float* x, const float* gamma, const float* beta, const float* running_mean,
                    const float* running_var, float* y) override {
    dnnl_call("batch norm forward (eval)", [&] {
      execute(eval_, eval_pd_, {{DNNL_ARG_SRC, wrap(data_, x)},
                      {DNNL_ARG_DST, wrap(data_, y)},
                      {DNNL_ARG_SCALE, wrap(stat_, gamma)},
                      {DNNL_ARG_SHIFT, wrap(stat_, beta)},
                      {DNNL_ARG_MEAN, wrap(stat_, running_mean)},
                      {DNNL_ARG_VARIANCE, wrap(stat_, running_var)}});
      return 0;
    });
  }

  void backward(const float* x, const float* dy, const float* gamma, const float* beta, const float* saved,
                const void* workspace, float* dx, float* dgamma, float* dbeta) override {
    dnnl_call("batch norm backward", [&] {
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(data_, x)},
                                           {DNNL_ARG_DIFF_DST, wrap(data_, dy)},
                                           {DNNL_ARG_SCALE, wrap(stat_, gamma)},
                                           {DNNL_ARG_SHIFT, wrap(stat_, beta)},
                                           {DNNL_ARG_MEAN, wrap(stat_, saved)},
                                           {DNNL_ARG_VARIANCE, wrap(stat_, saved + spec_.c)},
                                           {DNNL_ARG_DIFF_SRC, wrap(data_, dx)},
                                           {DNNL_ARG_DIFF_SCALE, wrap(stat_, dgamma)},
                                           {DNNL_ARG_DIFF_SHIFT, wrap(stat_, dbeta)}};
      if (ws_.get_size() > 0) args.emplace(DNNL_ARG_WORKSPACE, wrap(ws_, workspace));  // the ReLU's mask
      execute(bwd_, bwd_pd_, args);
      return 0;
    });
  }

 private:
  BatchNormSpec spec_;
  memory::desc data_, stat_, ws_;
  dnnl::batch_normalization_forward::primitive_desc train_pd_, eval_pd_;
  dnnl::batch_normalization_backward::primitive_desc bwd_pd_;
  dnnl::batch_normalization_forward train_, eval_;
  dnnl::batch_normalization_backward bwd_;
};

class DnnlPool final : public PoolPrimitive {
 public:
  explicit DnnlPool(const PoolSpec& s) {
    dnnl_call("max pool setup", [&] {
      src_ = layout_desc(dims_of(s.input_shape()), s.block);
      dst_ = layout_desc(dims_of(s.output_shape()), s.block);
      const memory::dims k(s.in.size(), s.kernel), zero(s.in.size(), 0);
      auto& eng = cpu_engine();
      const auto attr = shared_scratchpad_attr();
      fwd_pd_ = dnnl::pooling_forward::primitive_desc(
          {dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max, src_, dst_, k, k, zero, zero}, attr, eng);
      bwd_pd_ = dnnl::pooling_backward::primitive_desc(
          {dnnl::algorithm::pooling_max, src_, dst_, k, k, zero, zero}, attr, eng, fwd_pd_);
      ws_ = fwd_pd_.workspace_desc();
      fwd_ = dnnl::pooling_forward(fwd_pd_);
      bwd_ = dnnl::pooling_backward(bwd_pd_);
      return 0;
    });
  }

  std::size_t workspace_bytes() const override { return ws_.get_size(); }
  bool backward_reads_values() const override { return false; }  // the argmax is in the workspace

  void forward(const float* x, float* y, void* workspace) override {
    dnnl_call("max pool forward", [&] {
      execute(fwd_, fwd_pd_, {{DNNL_ARG_SRC, wrap(src_, x)}, {DNNL_ARG_DST, wrap(dst_, y)}, {DNNL_ARG_WORKSPACE, wrap(ws_, workspace)}});
      return 0;
    });
  }

  void backward(const float*, const float*, const float* dy, const void* workspace, float* dx) override {
    dnnl_call("max pool backward", [&] {
      execute(bwd_, bwd_pd_, {{DNNL_ARG_DIFF_DST, wrap(dst_, dy)}, {DNNL_ARG_DIFF_SRC, wrap(src_, dx)}, {DNNL_ARG_WORKSPACE, wrap(ws_, workspace)}});
      return 0;
    });
  }

 private:
  memory::desc src_, dst_, ws_;
  dnnl::pooling_forward::primitive_desc fwd_pd_;
  dnnl::pooling_backward::primitive_desc bwd_pd_;
  dnnl::pooling_forward fwd_;
  dnnl::pooling_backward bwd_;
};

}  // namespace

void reorder_channels(const Shape& shape, const float* src, int64_t src_block, float* dst, int64_t dst_block) {
  dnnl_call("reorder " + shape_str(shape), [&] {
    const memory::dims dims = dims_of(shape);
    const memory::desc from = layout_desc(dims, src_block), to = layout_desc(dims, dst_block);
    auto& eng = cpu_engine();
    // Made per call: oneDNN's primitive cache returns the same reorder for the same layouts.
    dnnl::reorder r(dnnl::reorder::primitive_desc(eng, from, eng, to));
    memory a = wrap(from, src), b = wrap(to, dst);
    r.execute(cpu_stream(), a, b);
    cpu_stream().wait();
    return 0;
  });
}

std::unique_ptr<ConvPrimitive> make_conv(const ConvSpec& spec) {
  if (spec.transposed && spec.kernel == spec.stride && spec.pad == 0) return std::make_unique<DnnlPatchDeconv>(spec);
  if (spec.transposed) return std::make_unique<DnnlDeconv>(spec, dnnl::algorithm::deconvolution_direct);
  return std::make_unique<DnnlConv<dnnl::convolution_forward, dnnl::convolution_backward_data,
                                   dnnl::convolution_backward_weights>>(spec, dnnl::algorithm::convolution_direct);
}

std::unique_ptr<BatchNormPrimitive> make_batchnorm(const BatchNormSpec& spec) {
  return std::make_unique<DnnlBatchNorm>(spec);
}

std::unique_ptr<PoolPrimitive> make_pool(const PoolSpec& spec) { return std::make_unique<DnnlPool>(spec); }

}  // namespace unet::cpu
