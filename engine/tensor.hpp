// Tensor: float32, contiguous, row-major (NCHW for images), on the CPU or a CUDA device.
// Between the CPU layers of a model an activation may instead be in oneDNN's channel-blocked
// layout (see TensorImpl::channel_block); data() refuses such a tensor, so no code that
// indexes NCHW can read one by mistake.
// Storage is shared: views (reshape, parameter views into one flat buffer) alias it.
// A tensor may also carry autograd state (AutogradMeta): requires_grad, the accumulated
// gradient and the node that produced it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "base/device.hpp"
#include "base/host_buffer.hpp"

namespace unet {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s);  // "[2, 3, 64, 64]"
int64_t shape_numel(const Shape& s);

// Raw memory from the device's caching allocator, returned to it on destruction.
class Storage {
 public:
  Storage(std::size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
  Device device_;
};

struct Node;  // autograd, see engine/autograd.hpp
struct TensorImpl;

// A tensor's autograd state, apart from its storage. An autograd node's edges point here, not
// at the tensor: an input whose values no backward reads (a concatenation's, the skip under a
// max pooling that kept its argmax) is freed with its last handle, as in PyTorch, while its
// gradient still has a place to accumulate.
struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient, the tensor's shape, device and layout
  std::shared_ptr<Node> grad_fn;     // the op that produced the tensor, if recorded
  // The tensor's shape and layout, which a gradient arriving here must have.
  Shape shape;
  int64_t channel_block = 0;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Device device = Device::CPU;
  // 0: plain row-major. b > 0: oneDNN's nC[d]hw{b}c, [N, C/b, *spatial, b] in memory (CPU only,
  // C % b == 0, so still numel() floats). Set by layers/ops between CPU layers.
  int64_t channel_block = 0;
  std::shared_ptr<AutogradMeta> autograd;  // null: no gradient wanted and no op recorded

  AutogradMeta& ensure_autograd();  // creates the state on first use
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Factories. Contents of empty() are unspecified.
  static Tensor empty(const Shape& shape, Device device = Device::CPU, int64_t channel_block = 0);
  // Same shape, device and memory layout as t.
  static Tensor empty_like(const Tensor& t);
  static Tensor zeros(const Shape& shape, Device device = Device::CPU);
  static Tensor full(const Shape& shape, float value, Device device = Device::CPU);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values,
                            Device device = Device::CPU);
  // Copies shape_numel(shape) floats from host memory (pinned or not).
  static Tensor from_host(const Shape& shape, const float* values, Device device = Device::CPU);
  void copy_to_host(float* out) const;  // numel() floats
  // Queued on the device's stream without waiting for it (a plain copy on the CPU): `source`
  // must stay unchanged until the stream is next synchronised (a training step reads its loss),
  // because page-locked memory is read by DMA while the host runs on.
  static Tensor from_host_async(const Shape& shape, const HostBuffer& source, Device device);
  // Queued likewise: `out` (at least numel() floats) holds the values after the next synchronisation.
  void copy_to_host_async(HostBuffer& out) const;

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t ndim() const { return static_cast<int64_t>(shape().size()); }
  int64_t numel() const { return shape_numel(shape()); }
  Device device() const;

  int64_t channel_block() const;  // 0 when plain (TensorImpl::channel_block)
  bool is_plain() const { return channel_block() == 0; }
  // The elements in row-major order: a device pointer for CUDA tensors. Throws for a tensor in
  // a blocked layout (convert it with ops::to_plain).
  float* data() const;
  // The storage in whatever layout the tensor has: for layout-aware code (the backends and the
  // elementwise kernels, which are indifferent to the order of the elements).
  float* raw_data() const;
  std::vector<float> to_vector() const;  // copies to the host
  float item() const;                    // the value of a one-element tensor
  Tensor to(Device device) const;        // a copy on `device` (shares when already there)
  Tensor clone() const;  // same layout
  // Writes through the handle: a const Tensor is a const handle, not const data.
  void copy_from(const Tensor& src) const;  // same numel and layout; any devices
  void fill_(float value) const;

  // A view with another shape over the same storage (same numel).
  Tensor reshape(const Shape& shape) const;
  // A view of `count` elements starting at `offset` elements, with `shape`.
  Tensor view_range(int64_t offset, const Shape& shape) const;

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool value);
  Tensor grad() const;  // undefined when no gradient has been accumulated
  void zero_grad();
  void backward() const;  // from a one-element loss

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// Throws an unet::Error naming `op` and both shapes when they differ.
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_ndim(const char* op, const Tensor& t, int64_t ndim, const char* what);

}  // namespace unet
