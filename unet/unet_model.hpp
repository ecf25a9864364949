// The U-Net, 2D or 3D: `depth` encoder stages (DoubleConv then 2x2 max-pool), a bottleneck
// DoubleConv, `depth` decoder stages (2x2 stride-2 transposed conv, skip concatenation,
// DoubleConv) and a 1x1 output conv. DoubleConv = (3x3 conv, BN, ReLU) twice.
//
// Two layouts, named exactly as the PyTorch programs name them in state_dict():
//  - reference (mateuszbuda/brain-segmentation-pytorch, base 32, 7,763,041 parameters):
//    bias-free 3x3 convs, cat((up, skip)), names encoder1.enc1conv1.weight, upconv4.bias...
//  - classic (the spec's notebook, base 64, 31,043,521 parameters): biased 3x3 convs,
//    cat((skip, up)), names inc.double_conv.0.weight, down1.maxpool_conv.1..., up1.up, outc.
//  - brats3d (the BraTS reference program's UNet3D, base 32, depth 2, 4 -> 4 channels): 3D
//    layers, biased 3x3x3 convs, cat((up, skip)), names enc1.layers.0.weight (convs at 0 and
//    3, norms at 1 and 4), ..., enc{depth+1} as the bottleneck, up1 / dec1 the deepest
//    decoder stage, final.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/modules.hpp"

namespace unet {

enum class UNetLayout { Reference, Classic, Brats3d };

struct UNetConfig {
  // What this U-Net supports (validate() says why each limit is where it is).
  static constexpr int64_t kMaxChannels = 1024;  // in_channels, out_channels and base
  static constexpr int64_t kMaxDepth = 10;       // inputs must be multiples of 2^depth pixels
  static constexpr int64_t kMaxParameters = int64_t{1} << 30;

  int64_t in_channels = 3;
  int64_t out_channels = 1;
  int64_t base = 32;
  int64_t depth = 4;
  UNetLayout layout = UNetLayout::Reference;

  std::string layout_name() const;
  int64_t rank() const { return layout == UNetLayout::Brats3d ? 3 : 2; }  // spatial dims
  // The BraTS reference program's UNet3D(in_channels=4, out_channels=4).
  static UNetConfig brats3d();
  static UNetLayout parse_layout(const std::string& name);
  // The spec's two models: base 32 -> reference layout, base 64 -> classic layout.
  static UNetConfig for_base(int64_t base);
  // Parameters of the model this config builds, computed without allocating (for a config
  // whose fields are within the ranges below, which keep every product far from overflow).
  int64_t parameter_count() const;
  // Throws an error naming `what` and the allowed range when a value is out of range.
  void validate(const std::string& what) const;
  bool operator==(const UNetConfig&) const = default;
};

class DoubleConv {
 public:
  // `conv_names` / `norm_names`: the two convs' and norms' state_dict prefixes.
  DoubleConv(ModuleRegistry& reg, const std::string conv_names[2], const std::string norm_names[2],
             int64_t rank, int64_t c_in, int64_t c_out, bool bias);
  // [N, Cin, *S] -> [N, Cout, *S]. Takes x by value so that, in evaluation, it is
  // freed as soon as the first conv has read it.
  Tensor forward(Tensor x);

  // Declared in PyTorch's registration order: conv1, norm1, conv2, norm2.
  Conv conv1;
  BatchNorm norm1;
  Conv conv2;
  BatchNorm norm2;
};

class UNet {
 public:
  explicit UNet(const UNetConfig& config, Device device = Device::CPU, uint64_t seed = 0);

  // x [N, in_channels, *S] (S = H, W or D, H, W as rank()) with every size divisible by
  // 2^depth -> logits [N, out_channels, *S]
  Tensor forward(const Tensor& x);

  void train(bool on = true);
  bool training() const { return training_; }
  // Every BatchNorm takes its training statistics over all ranks' batches (--sync-bn); null:
  // each rank's own, as PyTorch DDP by default. `sync` must outlive its use.
  void set_batch_norm_sync(const ops::BatchNormSync* sync);
  // On the CPU, the layers inside forward() hand each other activations in oneDNN's blocked
  // layout (layers/layout.hpp); the output is plain either way. On by default; off computes the
  // same values in NCHW throughout (tests compare the two).
  void set_blocked_layouts(bool on) { blocked_layouts_ = on; }
  // Re-draws every parameter from `seed` (PyTorch's default init) and resets BN state.
  void reset_parameters(uint64_t seed);
  void to(Device device);  // moves parameters, buffers and gradients
  void zero_grad();

  const UNetConfig& config() const { return config_; }
  Device device() const { return device_; }
  FlatTensorSet& parameters() { return reg_.parameters; }
  FlatTensorSet& buffers() { return reg_.buffers; }
  const std::vector<StateEntry>& state() const { return reg_.state; }
  int64_t parameter_count() const { return reg_.parameters.numel(); }
  // Floating-point operations of one forward pass of one input of spatial `size` ({h, w} or
  // {d, h, w}; 2 per multiply-add, convolutions only: they are > 99% of the work).
  double forward_flops(const std::vector<int64_t>& size) const;

  // Called by forward() before each decoder level (depth-1 down to 0), when set. Inference
  // uses it to manage memory between levels (unet/inference_memory.hpp).
  std::function<void(int64_t level)> before_decoder_level;

 private:
  UNetConfig config_;
  Device device_;
  bool training_ = true;
  bool blocked_layouts_ = true;
  ModuleRegistry reg_;
  std::vector<std::unique_ptr<DoubleConv>> encoders_;  // level 0 (full size) .. depth-1
  std::unique_ptr<DoubleConv> bottleneck_;
  std::vector<std::unique_ptr<Conv>> upconvs_;       // indexed by level
  std::vector<std::unique_ptr<DoubleConv>> decoders_;  // indexed by level
  std::unique_ptr<Conv> out_conv_;
  std::vector<Conv*> convs_;
  std::vector<BatchNorm*> norms_;
};

}  // namespace unet
