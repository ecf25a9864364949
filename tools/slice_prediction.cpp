#include "tools/slice_prediction.hpp"

#include <algorithm>
#include <cmath>

#include "data/augment.hpp"
#include "engine/autograd.hpp"
#include "unet/inference_memory.hpp"

namespace unet::tools {

std::vector<std::vector<uint8_t>> predict_slice_masks(UNet& model, const std::string& volume_name,
                                                      const std::vector<int>& numbers,
                                                      const std::vector<data::Image>& images,
                                                      const std::vector<std::vector<uint8_t>>& truths,
                                                      const SlicePredictionSettings& settings) {
  const int64_t s = settings.size, plane = s * s;
  data::VolumeGeometry geo;
  const data::Volume v = data::preprocess_volume(volume_name, numbers, images, truths, settings.preprocess, s, &geo);
  // Logits on the model grid, then back onto each original image.
  std::vector<float> logits(static_cast<size_t>(v.depth() * plane));
  {
    NoGradGuard no_grad;
    const InferenceMemoryPolicy memory(model);
    for (int64_t d0 = 0; d0 < v.depth(); d0 += settings.batch) {
      const int64_t n = std::min(settings.batch, v.depth() - d0);
      std::vector<float> img(static_cast<size_t>(n * 3 * plane)), msk(static_cast<size_t>(n * plane));
      for (int64_t i = 0; i < n; ++i)
        data::render_sample(v, d0 + i, data::Affine::identity(), img.data() + i * 3 * plane, msk.data() + i * plane);
      model.forward(Tensor::from_host({n, 3, s, s}, img.data(), settings.device))
          .copy_to_host(logits.data() + d0 * plane);
    }
  }
  const float logit_threshold = std::log(settings.threshold / (1.0f - settings.threshold));
  const int64_t h = geo.height, w = geo.width, ch = geo.y1 - geo.y0, cw = geo.x1 - geo.x0;
  std::vector<std::vector<uint8_t>> masks(images.size());
  for (size_t k = 0; k < images.size(); ++k) {
    std::vector<uint8_t>& pred = masks[k];
    pred.assign(static_cast<size_t>(h * w), 0);
    const int64_t z = static_cast<int64_t>(k);
    if (z < geo.z0 || z >= geo.z1) continue;
    const auto up = data::resize_bilinear(logits.data() + (z - geo.z0) * plane, s, s, geo.square_h, geo.square_w);
    for (int64_t y = 0; y < ch; ++y)
      for (int64_t x = 0; x < cw; ++x)
        pred[static_cast<size_t>((geo.y0 + y) * w + geo.x0 + x)] =
            up[static_cast<size_t>((y + geo.pad_y) * geo.square_w + x + geo.pad_x)] > logit_threshold;
  }
  return masks;
}

std::vector<uint8_t> display_rgb(const data::Image& im, float vmax) {
  std::vector<uint8_t> rgb(static_cast<size_t>(im.height * im.width * 3));
  const float scale = im.bits == 8 ? 1.0f : 255.0f / std::max(vmax, 1.0f);
  for (int64_t i = 0; i < im.height * im.width; ++i)
    for (int c = 0; c < 3; ++c)
      rgb[static_cast<size_t>(i * 3 + c)] = static_cast<uint8_t>(
          std::min(255.0f, im.pixels[static_cast<size_t>(i * im.channels + (im.channels == 3 ? c : 0))] * scale));
  return rgb;
}

}  // namespace unet::tools
