#include "engine/tensor.hpp"

#include <cstring>
#include <sstream>

#include "base/allocator.hpp"
#include "engine/autograd.hpp"
#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"
#ifdef UNET_HAS_CUDA
#include "base/cuda_context.hpp"
#endif

namespace unet {

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << ']';
  return os.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Storage::Storage(std::size_t bytes, Device device) : bytes_(bytes), device_(device) {
  ptr_ = allocator_for(device).allocate(bytes);
}

Storage::~Storage() { allocator_for(device_).release(ptr_); }

namespace {
// Copies between any two devices; synchronous with respect to the host when the host
// reads or writes, so the caller may use host memory right after.
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, std::size_t bytes, bool wait = true) {
  if (bytes == 0) return;
  if (dst_dev == Device::CPU && src_dev == Device::CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef UNET_HAS_CUDA
  auto& ctx = CudaContext::get();
  UNET_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, ctx.stream()));
  if (wait && (dst_dev == Device::CPU || src_dev == Device::CPU)) ctx.synchronize();
#else
  (void)wait;
  UNET_THROW("copy", tr("CUDA tensor in a binary built without CUDA"));
#endif
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, Device device, int64_t channel_block) {
  for (int64_t d : shape) UNET_CHECK(d >= 0, "Tensor::empty", trf("negative dimension in shape {}", shape_str(shape)));
  UNET_CHECK(channel_block == 0 || (device == Device::CPU && shape.size() >= 3 && channel_block > 0 &&
                                    shape[1] % channel_block == 0),
             "Tensor::empty",
             trf("a layout of {} channels per block does not fit shape {} on {}", std::to_string(channel_block),
                 shape_str(shape), device_name(device)));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->device = device;
  impl->channel_block = channel_block;
  impl->storage = std::make_shared<Storage>(static_cast<std::size_t>(shape_numel(shape)) * sizeof(float), device);
  return Tensor(impl);
}

Tensor Tensor::empty_like(const Tensor& t) { return empty(t.shape(), t.device(), t.channel_block()); }

Tensor Tensor::zeros(const Shape& shape, Device device) { return full(shape, 0.0f, device); }

Tensor Tensor::full(const Shape& shape, float value, Device device) {
  Tensor t = empty(shape, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values, Device device) {
  UNET_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "Tensor::from_vector",
             trf("{} values for shape {}", std::to_string(values.size()), shape_str(shape)));
  Tensor t = empty(shape, device);
  copy_bytes(t.data(), device, values.data(), Device::CPU, values.size() * sizeof(float));
  return t;
}

Tensor Tensor::from_host(const Shape& shape, const float* values, Device device) {
  Tensor t = empty(shape, device);
  copy_bytes(t.data(), device, values, Device::CPU, static_cast<std::size_t>(t.numel()) * sizeof(float));
  return t;
}

Tensor Tensor::from_host_async(const Shape& shape, const HostBuffer& source, Device device) {
  Tensor t = empty(shape, device);
  UNET_CHECK(source.size() >= static_cast<std::size_t>(t.numel()), "Tensor::from_host_async",
             trf("the host buffer holds {} floats; shape {} needs {}", std::to_string(source.size()), shape_str(shape),
                 std::to_string(t.numel())));
  copy_bytes(t.data(), device, source.data(), Device::CPU, static_cast<std::size_t>(t.numel()) * sizeof(float), false);
  return t;
}

void Tensor::copy_to_host_async(HostBuffer& out) const {
  UNET_CHECK(
      out.size() >= static_cast<std::size_t>(numel()), "Tensor::copy_to_host_async",
      trf("the host buffer holds {} floats; the tensor has {}", std::to_string(out.size()), std::to_string(numel())));
  copy_bytes(out.data(), Device::CPU, data(), device(), static_cast<std::size_t>(numel()) * sizeof(float), false);
}

void Tensor::copy_to_host(float* out) const {
  copy_bytes(out, Device::CPU, data(), device(), static_cast<std::size_t>(numel()) * sizeof(float));
}

const Shape& Tensor::shape() const {
  UNET_CHECK(defined(), "Tensor::shape", tr("undefined tensor"));
  return impl_->shape;
}

int64_t Tensor::dim(int i) const {
  const int64_t n = ndim();
  const int64_t k = i < 0 ? n + i : i;
  UNET_CHECK(k >= 0 && k < n, "Tensor::dim",
             trf("dimension {} out of range for shape {}", std::to_string(i), shape_str(shape())));
  return impl_->shape[static_cast<size_t>(k)];
}

Device Tensor::device() const {
  UNET_CHECK(defined(), "Tensor::device", tr("undefined tensor"));
  return impl_->device;
}

int64_t Tensor::channel_block() const {
  UNET_CHECK(defined(), "Tensor::channel_block", tr("undefined tensor"));
  return impl_->channel_block;
}

float* Tensor::data() const {
  UNET_CHECK(defined(), "Tensor::data", tr("undefined tensor"));
  UNET_CHECK(impl_->channel_block == 0, "Tensor::data",
             trf("tensor {} is in a layout of {} channels per block, not row-major; convert it with ops::to_plain",
                 shape_str(impl_->shape), std::to_string(impl_->channel_block)));
  return raw_data();
}

float* Tensor::raw_data() const {
  UNET_CHECK(defined(), "Tensor::raw_data", tr("undefined tensor"));
  return static_cast<float*>(impl_->storage->data()) + impl_->offset;
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  copy_bytes(out.data(), Device::CPU, data(), device(), out.size() * sizeof(float));
  return out;
}

float Tensor::item() const {
  UNET_CHECK(numel() == 1, "Tensor::item", trf("needs one element, shape is {}", shape_str(shape())));
  return to_vector()[0];
}

Tensor Tensor::to(Device device) const {
  if (device == this->device()) return *this;
  Tensor t = empty(shape(), device);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty_like(*this);
  t.copy_from(*this);
  return t;
}

void Tensor::copy_from(const Tensor& src) const {
  UNET_CHECK(numel() == src.numel(), "Tensor::copy_from",
             trf("shape mismatch {} vs {}", shape_str(shape()), shape_str(src.shape())));
  UNET_CHECK(channel_block() == src.channel_block(), "Tensor::copy_from",
             trf("layout mismatch: {} vs {} channels per block", std::to_string(channel_block()),
                 std::to_string(src.channel_block())));
  copy_bytes(raw_data(), device(), src.raw_data(), src.device(), static_cast<std::size_t>(numel()) * sizeof(float));
}

// Every element takes the value, whatever their order.
void Tensor::fill_(float value) const { kernels::fill(device(), numel(), value, raw_data()); }

Tensor Tensor::reshape(const Shape& shape) const {
  (void)data();  // a view of other dimensions is row-major; refuses a blocked tensor
  UNET_CHECK(shape_numel(shape) == numel(), "reshape",
             trf("cannot view {} as {}", shape_str(this->shape()), shape_str(shape)));
  Tensor t = detached(*this);
  t.impl()->shape = shape;
  return t;
}

Tensor Tensor::view_range(int64_t offset, const Shape& shape) const {
  (void)data();  // as reshape
  UNET_CHECK(offset >= 0 && offset + shape_numel(shape) <= numel(), "view_range",
             trf("range [{}, +{}) outside a tensor of {} elements", std::to_string(offset),
                 std::to_string(shape_numel(shape)), std::to_string(numel())));
  Tensor t = detached(*this);
  t.impl()->offset += offset;
  t.impl()->shape = shape;
  return t;
}

AutogradMeta& TensorImpl::ensure_autograd() {
  if (autograd == nullptr) {
    autograd = std::make_shared<AutogradMeta>();
    autograd->shape = shape;
    autograd->channel_block = channel_block;
  }
  return *autograd;
}

bool Tensor::requires_grad() const { return defined() && impl_->autograd && impl_->autograd->requires_grad; }

Tensor& Tensor::set_requires_grad(bool value) {
  UNET_CHECK(defined(), "set_requires_grad", tr("undefined tensor"));
  if (value || impl_->autograd) impl_->ensure_autograd().requires_grad = value;
  return *this;
}

Tensor Tensor::grad() const {
  return defined() && impl_->autograd && impl_->autograd->grad ? Tensor(impl_->autograd->grad) : Tensor();
}

void Tensor::zero_grad() {
  if (const Tensor g = grad(); g.defined()) g.fill_(0.0f);
}

void Tensor::backward() const { run_backward(*this); }

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  UNET_CHECK(a.shape() == b.shape(), op, trf("shape mismatch: {} vs {}", shape_str(a.shape()), shape_str(b.shape())));
}

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  UNET_CHECK(a.device() == b.device(), op,
             trf("device mismatch: {} vs {}", device_name(a.device()), device_name(b.device())));
}

void check_ndim(const char* op, const Tensor& t, int64_t ndim, const char* what) {
  UNET_CHECK(
      t.ndim() == ndim, op,
      trf("{} must have {} dimensions, got shape {}", std::string(what), std::to_string(ndim), shape_str(t.shape())));
}

}  // namespace unet
