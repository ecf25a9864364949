// Where activations may live in oneDNN's channel-blocked layout (TensorImpl::channel_block).
//
// A CPU convolution reads and writes nChw8c (nChw16c with AVX-512) fastest, and batch norm and
// max pooling have JIT kernels only for blocked layouts; converting to plain NCHW around every
// layer cost more than some layers. Within a BlockedLayoutScope the CPU layers hand each other
// tensors in the layout the convolutions chose. A model opens one around its forward pass and
// returns its output plain (ops::to_plain); outside any scope every op returns plain tensors, so
// code that calls ops directly sees NCHW. The GPU path is always plain (cuDNN's NCHW).
#pragma once

namespace unet {

bool blocked_layout_allowed();

class BlockedLayoutScope {
 public:
  explicit BlockedLayoutScope(bool allow = true);
  ~BlockedLayoutScope();
  BlockedLayoutScope(const BlockedLayoutScope&) = delete;
  BlockedLayoutScope& operator=(const BlockedLayoutScope&) = delete;

 private:
  bool previous_;
};

}  // namespace unet
