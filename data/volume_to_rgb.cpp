#include "data/volume_to_rgb.hpp"

#include <algorithm>
#include <cmath>

#include "base/error.hpp"
#include "base/i18n.hpp"

namespace unet::data {

namespace {

// The 0.5th and 99.5th percentiles, from at most ~1M evenly strided voxels (enough for
// percentiles at this precision, and bounded memory for 512 x 512 x 400 series).
std::pair<float, float> window(const std::vector<float>& v) {
  const size_t stride = std::max<size_t>(1, v.size() / (1u << 20));
  std::vector<float> sample;
  sample.reserve(v.size() / stride + 1);
  for (size_t i = 0; i < v.size(); i += stride) sample.push_back(v[i]);
  auto at = [&](double q) {
    const auto k = static_cast<size_t>(std::llround(q * static_cast<double>(sample.size() - 1)));
    std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(k), sample.end());
    return sample[k];
  };
  const float lo = at(0.005), hi = at(0.995);
  return {lo, hi};
}

}  // namespace

std::vector<Image> volume_to_rgb_slices(const std::vector<std::vector<float>>& channels, int64_t slices, int64_t rows,
                                        int64_t cols) {
  UNET_CHECK(channels.size() == 1 || channels.size() == 3, "volume_to_rgb_slices",
             trf("needs 1 series (grey, replicated to 3 channels) or 3 series (one per channel); got {}",
                 std::to_string(channels.size())));
  const int64_t plane = rows * cols;
  for (const auto& c : channels)
    UNET_CHECK(static_cast<int64_t>(c.size()) == slices * plane, "volume_to_rgb_slices", tr("channel size mismatch"));
  std::vector<Image> out(static_cast<size_t>(slices));
  for (auto& im : out) {
    im.height = rows;
    im.width = cols;
    im.channels = 3;
    im.bits = 8;
    im.pixels.resize(static_cast<size_t>(plane * 3));
  }
  for (size_t ch = 0; ch < 3; ++ch) {
    const std::vector<float>& v = channels[channels.size() == 1 ? 0 : ch];
    if (ch > 0 && channels.size() == 1) {
      for (auto& im : out)
        for (int64_t i = 0; i < plane; ++i)
          im.pixels[static_cast<size_t>(i * 3) + ch] = im.pixels[static_cast<size_t>(i * 3)];
      continue;
    }
    const auto [lo, hi] = window(v);
    const float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;  // a constant volume becomes black
    for (int64_t k = 0; k < slices; ++k)
      for (int64_t i = 0; i < plane; ++i) {
        const float x = (v[static_cast<size_t>(k * plane + i)] - lo) * scale;
        out[static_cast<size_t>(k)].pixels[static_cast<size_t>(i * 3) + ch] =
            static_cast<uint16_t>(std::lround(std::clamp(x, 0.0f, 255.0f)));
      }
  }
  return out;
}

}  // namespace unet::data
