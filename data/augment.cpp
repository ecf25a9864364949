#include "data/augment.hpp"

#include <cmath>

namespace unet::data {

Affine Affine::draw(Rng& rng, const AugmentConfig& c) {
  Affine a;
  a.scale = rng.uniform(1.0f - c.scale, 1.0f + c.scale);
  a.degrees = rng.uniform(-c.max_degrees, c.max_degrees);
  a.flip = rng.uniform() < c.flip_p;
  return a;
}

void render_sample(const Volume& v, int64_t slice, const Affine& a, float* image, float* mask) {
  const int64_t s = v.size, plane = s * s;
  const uint8_t* img = v.images.data() + slice * 3 * plane;
  const uint8_t* msk = v.masks.data() + slice * plane;
  const bool identity = a.scale == 1.0f && a.degrees == 0.0f && !a.flip;
  float scale_c[3], shift_c[3];  // normalised = u8 * scale + shift
  for (int c = 0; c < 3; ++c) {
    scale_c[c] = 1.0f / (255.0f * v.stdev[c]);
    shift_c[c] = -v.mean[c] / v.stdev[c];
  }
  if (identity) {
    for (int c = 0; c < 3; ++c)
      for (int64_t i = 0; i < plane; ++i) image[c * plane + i] = img[c * plane + i] * scale_c[c] + shift_c[c];
    for (int64_t i = 0; i < plane; ++i) mask[i] = msk[i];
    return;
  }
  // Inverse map: output pixel p -> source centre + R(-theta) (p - centre) / scale, after the flip.
  const float rad = a.degrees * 3.14159265358979f / 180.0f;
  const float cs = std::cos(rad) / a.scale, sn = std::sin(rad) / a.scale;
  const float centre = (static_cast<float>(s) - 1.0f) / 2.0f;
  for (int64_t y = 0; y < s; ++y) {
    for (int64_t x = 0; x < s; ++x) {
      const float dx = (a.flip ? static_cast<float>(s - 1 - x) : static_cast<float>(x)) - centre;
      const float dy = static_cast<float>(y) - centre;
      const float sx = centre + cs * dx + sn * dy;
      const float sy = centre - sn * dx + cs * dy;
      const int64_t o = y * s + x;
      // mask: nearest
      const int64_t nx = std::lround(sx), ny = std::lround(sy);
      mask[o] = (nx >= 0 && nx < s && ny >= 0 && ny < s) ? msk[ny * s + nx] : 0.0f;
      // image: bilinear over the normalised values, 0 outside
      const float fx0 = std::floor(sx), fy0 = std::floor(sy);
      const int64_t x0 = static_cast<int64_t>(fx0), y0 = static_cast<int64_t>(fy0);
      const float fx = sx - fx0, fy = sy - fy0;
      const float w[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
      const int64_t xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
      for (int c = 0; c < 3; ++c) {
        float acc = 0.0f;
        for (int k = 0; k < 4; ++k)
          if (xs[k] >= 0 && xs[k] < s && ys[k] >= 0 && ys[k] < s)
            acc += w[k] * (img[c * plane + ys[k] * s + xs[k]] * scale_c[c] + shift_c[c]);
        image[c * plane + o] = acc;
      }
    }
  }
}

}  // namespace unet::data
