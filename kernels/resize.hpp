// Resizing one image plane: bilinear for intensities, nearest for label masks. Pixel
// centres are aligned as in PyTorch's align_corners=False and skimage: source coordinate
// = (dst + 0.5) * in / out - 0.5, clamped to the image.
#pragma once

#include <cstdint>

#include "base/hd.hpp"

namespace unet::kernels {

// y [oh, ow] from x [ih, iw]; i indexes y.
template <class In>
struct ResizeBilinearOp {
  const In* x;
  int64_t ih, iw, oh, ow;
  float* y;
  UNET_HD void operator()(int64_t i) const {
    const int64_t oy = i / ow, ox = i - oy * ow;
    float sy = (static_cast<float>(oy) + 0.5f) * static_cast<float>(ih) / static_cast<float>(oh) - 0.5f;
    float sx = (static_cast<float>(ox) + 0.5f) * static_cast<float>(iw) / static_cast<float>(ow) - 0.5f;
    sy = sy < 0.0f ? 0.0f : (sy > static_cast<float>(ih - 1) ? static_cast<float>(ih - 1) : sy);
    sx = sx < 0.0f ? 0.0f : (sx > static_cast<float>(iw - 1) ? static_cast<float>(iw - 1) : sx);
    const int64_t y0 = static_cast<int64_t>(sy), x0 = static_cast<int64_t>(sx);
    const int64_t y1 = y0 + 1 < ih ? y0 + 1 : y0, x1 = x0 + 1 < iw ? x0 + 1 : x0;
    const float fy = sy - static_cast<float>(y0), fx = sx - static_cast<float>(x0);
    const float top = static_cast<float>(x[y0 * iw + x0]) * (1.0f - fx) + static_cast<float>(x[y0 * iw + x1]) * fx;
    const float bottom = static_cast<float>(x[y1 * iw + x0]) * (1.0f - fx) + static_cast<float>(x[y1 * iw + x1]) * fx;
    y[i] = top * (1.0f - fy) + bottom * fy;
  }
};

// Nearest neighbour: the source pixel whose centre is closest (ties to the lower index).
template <class T>
struct ResizeNearestOp {
  const T* x;
  int64_t ih, iw, oh, ow;
  T* y;
  UNET_HD void operator()(int64_t i) const {
    const int64_t oy = i / ow, ox = i - oy * ow;
    int64_t sy = (2 * oy + 1) * ih / (2 * oh);
    int64_t sx = (2 * ox + 1) * iw / (2 * ow);
    sy = sy < ih ? sy : ih - 1;
    sx = sx < iw ? sx : iw - 1;
    y[i] = x[sy * iw + sx];
  }
};

}  // namespace unet::kernels
