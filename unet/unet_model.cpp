#include "unet/unet_model.hpp"

#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "layers/layout.hpp"
#include "layers/ops.hpp"

namespace unet {

std::string UNetConfig::layout_name() const {
  switch (layout) {
    case UNetLayout::Reference: return "reference";
    case UNetLayout::Classic: return "classic";
    case UNetLayout::Brats3d: return "brats3d";
  }
  return "?";
}

UNetLayout UNetConfig::parse_layout(const std::string& name) {
  if (name == "reference") return UNetLayout::Reference;
  if (name == "classic") return UNetLayout::Classic;
  if (name == "brats3d") return UNetLayout::Brats3d;
  UNET_THROW("layout", trf("'{}' is not a U-Net layout; use reference, classic or brats3d", name));
}

UNetConfig UNetConfig::brats3d() {
  UNetConfig c;
  c.in_channels = 4;
  c.out_channels = 4;
  c.base = 32;
  c.depth = 2;
  c.layout = UNetLayout::Brats3d;
  return c;
}

UNetConfig UNetConfig::for_base(int64_t base) {
  UNetConfig c;
  c.base = base;
  c.layout = base == 64 ? UNetLayout::Classic : UNetLayout::Reference;
  return c;
}

int64_t UNetConfig::parameter_count() const {
  const int64_t bias = layout == UNetLayout::Reference ? 0 : 1;
  const int64_t k3 = rank() == 3 ? 27 : 9, k2 = rank() == 3 ? 8 : 4;  // 3x3(x3) and 2x2(x2) kernels
  auto width = [&](int64_t level) {
    return base << level;
  };
  // (3x3 conv, BN) twice; a BN has a weight and a bias per channel.
  auto double_conv = [&](int64_t c_in, int64_t c_out) {
    return c_in * c_out * k3 + c_out * c_out * k3 + 2 * bias * c_out + 4 * c_out;
  };
  int64_t n = 0;
  for (int64_t i = 0; i < depth; ++i) {
    n += double_conv(i == 0 ? in_channels : width(i - 1), width(i));  // encoder
    n += width(i + 1) * width(i) * k2 + width(i);                     // 2x2 transposed conv with bias
    n += double_conv(width(i + 1), width(i));                         // decoder (up + skip channels)
  }
  n += double_conv(width(depth - 1), width(depth));   // bottleneck
  return n + width(0) * out_channels + out_channels;  // 1x1 output conv with bias
}

void UNetConfig::validate(const std::string& what) const {
  // Channels and base up to 1024: the spec's models use 3 -> 1 channels and base 32 or 64;
  // 1024 is 16 times the widest. Depth up to 10: an input must be a multiple of 2^depth
  // pixels a side (1024 at depth 10, four times the data's 256), and base << depth stays
  // far below 2^63, so every count below is exact in 64 bits.
  auto check_range = [&](const char* name, int64_t v, int64_t hi) {
    UNET_CHECK(v >= 1 && v <= hi, what,
               trf("model config: {} {} is out of range; this U-Net supports {} 1 to {}", name, std::to_string(v), name,
                   std::to_string(hi)));
  };
  check_range("in_channels", in_channels, kMaxChannels);
  check_range("out_channels", out_channels, kMaxChannels);
  check_range("base", base, kMaxChannels);
  check_range("depth", depth, kMaxDepth);
  // The ranges alone allow ~10^13 parameters (base 1024, depth 10). 2^30 parameters are
  // 4 GiB of weights and 16 GiB with gradients and Adam's moments, 35 times the spec's
  // largest model (31 M): more is a damaged config, refused before anything is allocated.
  const int64_t n = parameter_count();
  UNET_CHECK(
      n <= kMaxParameters, what,
      trf("model config: base {}, depth {} and {} -> {} channels make {} parameters; this U-Net supports at most {}",
          std::to_string(base), std::to_string(depth), std::to_string(in_channels), std::to_string(out_channels),
          std::to_string(n), std::to_string(kMaxParameters)));
}

DoubleConv::DoubleConv(ModuleRegistry& reg, const std::string conv_names[2], const std::string norm_names[2],
                       int64_t rank, int64_t c_in, int64_t c_out, bool bias)
    : conv1(reg, conv_names[0], rank, c_in, c_out, 3, 1, 1, bias),
      norm1(reg, norm_names[0], c_out),
      conv2(reg, conv_names[1], rank, c_out, c_out, 3, 1, 1, bias),
      norm2(reg, norm_names[1], c_out) {}

Tensor DoubleConv::forward(Tensor x) {
  // Each intermediate is dropped as soon as the next one exists: during evaluation nothing
  // else holds them, so the peak is a few activations (in training the autograd graph keeps
  // what backward needs). Each ReLU is fused into its batch norm (on a GPU: in place on its output).
  Tensor h = conv1.forward(x);
  x = Tensor();
  h = norm1.forward_relu(h);
  h = conv2.forward(h);
  return norm2.forward_relu(h);
}

namespace {
// The state_dict names of one DoubleConv in each layout.
struct BlockNames {
  std::string conv[2], norm[2];
};

BlockNames reference_block(const std::string& module, const std::string& prefix) {
  // e.g. encoder1.enc1conv1 / encoder1.enc1norm1 (the reference's _block(name=...)).
  return {{module + "." + prefix + "conv1", module + "." + prefix + "conv2"},
          {module + "." + prefix + "norm1", module + "." + prefix + "norm2"}};
}

// nn.Sequential(conv, bn, relu, conv, bn, relu) named `sequential`: indices 0, 1, 3, 4.
BlockNames sequential_block(const std::string& sequential) {
  const std::string p = sequential + ".";
  return {{p + "0", p + "3"}, {p + "1", p + "4"}};
}

BlockNames classic_block(const std::string& module) { return sequential_block(module + ".double_conv"); }
}  // namespace

UNet::UNet(const UNetConfig& config, Device device, uint64_t seed) : config_(config), device_(device) {
  config.validate("UNet");
  const bool ref = config.layout == UNetLayout::Reference, brats = config.layout == UNetLayout::Brats3d;
  const bool bias = !ref;
  const int64_t depth = config.depth, rank = config.rank();
  auto width = [&](int64_t level) { return config.base << level; };
  auto make_block = [&](const BlockNames& n, int64_t c_in, int64_t c_out) {
    return std::make_unique<DoubleConv>(reg_, n.conv, n.norm, rank, c_in, c_out, bias);
  };
  // The names of encoder level i (0 = full size; depth = the bottleneck), its transposed
  // conv and its decoder, in each layout.
  auto encoder_names = [&](int64_t i) {
    const std::string k = std::to_string(i + 1);
    if (brats) return sequential_block("enc" + k + ".layers");
    if (i == depth) return ref ? reference_block("bottleneck", "bottleneck") : classic_block("down" + std::to_string(depth) + ".maxpool_conv.1");
    return ref ? reference_block("encoder" + k, "enc" + k) : classic_block(i == 0 ? "inc" : "down" + std::to_string(i) + ".maxpool_conv.1");
  };
  auto up_name = [&](int64_t i) {
    if (brats) return "up" + std::to_string(depth - i);
    return ref ? "upconv" + std::to_string(i + 1) : "up" + std::to_string(depth - i) + ".up";
  };
  auto decoder_names = [&](int64_t i) {
    if (brats) return sequential_block("dec" + std::to_string(depth - i) + ".layers");
    return ref ? reference_block("decoder" + std::to_string(i + 1), "dec" + std::to_string(i + 1))
               : classic_block("up" + std::to_string(depth - i) + ".conv");
  };

  // Registration order is PyTorch's module order, so state() is state_dict() order.
  // reference: encoder1, (pool1), encoder2, ..., bottleneck, upconv4, decoder4, ..., conv
  // classic:   inc, down1..down4, up1 (up, conv), ..., up4, outc
  // brats3d:   enc1, enc2, enc3, (pool), up1, dec1, up2, dec2, final
  for (int64_t i = 0; i < depth; ++i)
    encoders_.push_back(make_block(encoder_names(i), i == 0 ? config.in_channels : width(i - 1), width(i)));
  bottleneck_ = make_block(encoder_names(depth), width(depth - 1), width(depth));
  upconvs_.resize(static_cast<size_t>(depth));
  decoders_.resize(static_cast<size_t>(depth));
  for (int64_t i = depth - 1; i >= 0; --i) {
    upconvs_[static_cast<size_t>(i)] =
        std::make_unique<Conv>(reg_, up_name(i), rank, width(i + 1), width(i), 2, 2, 0, true, /*transposed=*/true);
    decoders_[static_cast<size_t>(i)] = make_block(decoder_names(i), width(i + 1), width(i));
  }
  const std::string out_name = brats ? "final" : ref ? "conv" : "outc";
  out_conv_ = std::make_unique<Conv>(reg_, out_name, rank, width(0), config.out_channels, 1, 1, 0, true);

  for (auto* blocks : {&encoders_, &decoders_}) {
    for (auto& b : *blocks) {
      convs_.insert(convs_.end(), {&b->conv1, &b->conv2});
      norms_.insert(norms_.end(), {&b->norm1, &b->norm2});
    }
  }
  convs_.insert(convs_.end(), {&bottleneck_->conv1, &bottleneck_->conv2, out_conv_.get()});
  norms_.insert(norms_.end(), {&bottleneck_->norm1, &bottleneck_->norm2});
  for (auto& u : upconvs_) convs_.push_back(u.get());

  reg_.parameters.materialize(device, /*with_grad=*/true);
  reg_.buffers.materialize(device, /*with_grad=*/false);
  reset_parameters(seed);
}

void UNet::reset_parameters(uint64_t seed) {
  // Each parameter draws from the seed's stream at its offset in the flat buffer, so the
  // initial weights depend on the seed only, not on the device or the order of calls.
  auto offset_of = [](const Tensor& t) { return t.defined() ? t.impl()->offset : int64_t{0}; };
  for (Conv* c : convs_) c->reset_parameters(seed, offset_of(c->weight), offset_of(c->bias));
  for (BatchNorm* n : norms_) n->reset_parameters();
}

Tensor UNet::forward(const Tensor& x) {
  check_ndim("UNet.forward", x, config_.rank() + 2, config_.rank() == 3 ? "input [N, C, D, H, W]" : "input [N, C, H, W]");
  const int64_t multiple = int64_t{1} << config_.depth;
  UNET_CHECK(x.dim(1) == config_.in_channels, "UNet.forward",
             trf("input {} has {} channels, the model expects {}", shape_str(x.shape()), std::to_string(x.dim(1)),
                 std::to_string(config_.in_channels)));
  for (int64_t i = 2; i < x.ndim(); ++i)
    UNET_CHECK(x.dim(i) % multiple == 0, "UNet.forward",
               config_.rank() == 3 ? trf("input {}: depth, height and width must be multiples of {}",
                                         shape_str(x.shape()), std::to_string(multiple))
                                   : trf("input {}: height and width must be multiples of {}", shape_str(x.shape()),
                                         std::to_string(multiple)));
  UNET_CHECK(x.device() == device_, "UNet.forward",
             trf("input is on {}, the model on {}", device_name(x.device()), device_name(device_)));
  const BlockedLayoutScope layouts(blocked_layouts_);
  std::vector<Tensor> skips;
  Tensor h = x;
  for (auto& enc : encoders_) {
    h = enc->forward(std::move(h));
    skips.push_back(h);
    h = ops::max_pool(h, 2);
  }
  h = bottleneck_->forward(std::move(h));
  const bool up_first = config_.layout != UNetLayout::Classic;  // cat((up, skip)) or cat((skip, up))
  for (int64_t i = config_.depth - 1; i >= 0; --i) {
    if (before_decoder_level) before_decoder_level(i);
    Tensor cat;
    {
      const Tensor up = upconvs_[static_cast<size_t>(i)]->forward(h);
      h = Tensor();
      Tensor& skip = skips[static_cast<size_t>(i)];
      cat = up_first ? ops::concat_channels(up, skip) : ops::concat_channels(skip, up);
      skip = Tensor();  // the concatenation holds its copy
    }
    h = decoders_[static_cast<size_t>(i)]->forward(std::move(cat));
  }
  return ops::to_plain(out_conv_->forward(h));
}

double UNet::forward_flops(const std::vector<int64_t>& size) const {
  const auto& c = config_;
  UNET_CHECK(static_cast<int64_t>(size.size()) == c.rank(), "UNet.forward_flops",
             trf("the input size needs {} dims, got {}", std::to_string(c.rank()), shape_str(size)));
  const double k3 = c.rank() == 3 ? 27 : 9, k2 = c.rank() == 3 ? 8 : 4;  // 3x3(x3) and 2x2(x2) kernels
  auto width = [&](int64_t level) { return static_cast<double>(c.base << level); };
  auto positions = [&](int64_t level) {
    double p = 1.0;
    for (int64_t s : size) p *= static_cast<double>(s >> level);
    return p;
  };
  double macs = 0.0;
  for (int64_t i = 0; i < c.depth; ++i) {
    const double cin = i == 0 ? static_cast<double>(c.in_channels) : width(i - 1);
    macs += (cin * width(i) + width(i) * width(i)) * k3 * positions(i);          // encoder DoubleConv
    macs += width(i + 1) * width(i) * k2 * positions(i + 1);                      // transposed conv
    macs += (2 * width(i) * width(i) + width(i) * width(i)) * k3 * positions(i);  // decoder DoubleConv
  }
  macs += (width(c.depth - 1) * width(c.depth) + width(c.depth) * width(c.depth)) * k3 * positions(c.depth);  // bottleneck
  macs += width(0) * static_cast<double>(c.out_channels) * positions(0);  // 1x1 output conv
  return 2.0 * macs;
}

void UNet::train(bool on) {
  training_ = on;
  for (BatchNorm* n : norms_) n->training = on;
}

void UNet::set_batch_norm_sync(const ops::BatchNormSync* sync) {
  for (BatchNorm* n : norms_) n->sync = sync;
}

void UNet::to(Device device) {
  if (device == device_) return;
  reg_.parameters.materialize(device, true);
  reg_.buffers.materialize(device, false);
  device_ = device;
}

void UNet::zero_grad() { reg_.parameters.flat_grad().fill_(0.0f); }

}  // namespace unet
