#include "unet/class_ops.hpp"

#include "base/error.hpp"
#include "base/i18n.hpp"
#include "kernels/kernels.hpp"

namespace unet {

ClassLayout class_layout(const char* op, const Tensor& logits) {
  UNET_CHECK(logits.ndim() >= 2, op,
             trf("logits {} must be [N, C, spatial...] with a channel axis", shape_str(logits.shape())));
  UNET_CHECK(
      logits.dim(1) >= 2, op,
      trf("logits {} have {} channel(s); a softmax over classes needs at least 2 (use the binary losses for one)",
          shape_str(logits.shape()), std::to_string(logits.dim(1))));
  UNET_CHECK(logits.numel() > 0, op, trf("empty logits {}", shape_str(logits.shape())));
  ClassLayout l;
  l.n = logits.dim(0);
  l.c = logits.dim(1);
  l.s = logits.numel() / (l.n * l.c);
  return l;
}

ClassLayout check_class_map(const char* op, const Tensor& logits, const Tensor& classes) {
  const ClassLayout l = class_layout(op, logits);
  check_same_device(op, logits, classes);
  Shape without_channels = logits.shape(), single_channel = logits.shape();
  without_channels.erase(without_channels.begin() + 1);
  single_channel[1] = 1;
  UNET_CHECK(classes.shape() == without_channels || classes.shape() == single_channel, op,
             trf("class map {} does not fit logits {}; expected {} or {}", shape_str(classes.shape()),
                 shape_str(logits.shape()), shape_str(without_channels), shape_str(single_channel)));
  return l;
}

Tensor softmax_channels(const Tensor& logits) {
  const ClassLayout l = class_layout("softmax_channels", logits);
  Tensor p = Tensor::empty(logits.shape(), logits.device());
  kernels::softmax_channels(logits.device(), l.n, l.c, l.s, logits.data(), p.data());
  return p;
}

Tensor argmax_channels(const Tensor& logits) {
  const ClassLayout l = class_layout("argmax_channels", logits);
  Shape out_shape = logits.shape();
  out_shape.erase(out_shape.begin() + 1);
  Tensor y = Tensor::empty(out_shape, logits.device());
  kernels::argmax_channels(logits.device(), l.n, l.c, l.s, logits.data(), y.data());
  return y;
}

Tensor one_hot_channels(const Tensor& classes, int64_t num_classes) {
  UNET_CHECK(classes.ndim() >= 1 && classes.numel() > 0, "one_hot_channels",
             trf("class map {} must be a non-empty [N, spatial...] tensor", shape_str(classes.shape())));
  UNET_CHECK(num_classes >= 1, "one_hot_channels",
             trf("num_classes is {}; it must be at least 1", std::to_string(num_classes)));
  // [N, 1, spatial...] is read as [N, spatial...]: its channel axis is replaced.
  Shape out_shape = classes.shape();
  if (out_shape.size() >= 2 && out_shape[1] == 1)
    out_shape[1] = num_classes;
  else
    out_shape.insert(out_shape.begin() + 1, num_classes);
  const int64_t n = classes.dim(0), s = classes.numel() / n;
  Tensor y = Tensor::empty(out_shape, classes.device());
  kernels::one_hot(classes.device(), n, num_classes, s, classes.data(), y.data());
  return y;
}

}  // namespace unet
