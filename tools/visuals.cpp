#include "tools/visuals.hpp"

#include "base/i18n.hpp"
#include "tools/cjk_text.hpp"

namespace unet::tools {

namespace {
bool on_edge(const uint8_t* m, int h, int w, int y, int x) {
  if (!m[y * w + x]) return false;
  const int nb[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
  for (const auto& d : nb) {
    const int yy = y + d[0], xx = x + d[1];
    if (yy < 0 || yy >= h || xx < 0 || xx >= w || !m[yy * w + xx]) return true;
  }
  return false;
}

// The image with `mask` tinted in `color` (or left as is where mask is null).
void panel(Canvas& c, int ox, const std::vector<uint8_t>& rgb, int h, int w, const uint8_t* mask, Rgb color) {
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const uint8_t* p = &rgb[static_cast<size_t>((y * w + x) * 3)];
      Rgb v{p[0], p[1], p[2]};
      if (mask != nullptr && mask[y * w + x])
        v = Rgb{static_cast<uint8_t>((v.r + color.r) / 2), static_cast<uint8_t>((v.g + color.g) / 2),
                static_cast<uint8_t>((v.b + color.b) / 2)};
      if (mask != nullptr && on_edge(mask, h, w, y, x)) v = color;
      c.set(ox + x, y + 20, v);
    }
}
}  // namespace

Canvas triptych(const std::vector<uint8_t>& rgb, int h, int w, const uint8_t* truth, const uint8_t* pred) {
  const int gap = 4;
  const PngTextScope png_text;
  Canvas c(3 * w + 2 * gap, h + 20, Rgb{255, 255, 255});
  panel(c, 0, rgb, h, w, nullptr, {0, 0, 0});
  c.text(w / 2.0, 10, tr("image"), Rgb{0, 0, 0}, 1);
  if (truth != nullptr) {
    panel(c, w + gap, rgb, h, w, truth, Rgb{0, 200, 0});
    c.text(w + gap + w / 2.0, 10, tr("ground truth"), Rgb{0, 120, 0}, 1);
  } else {
    c.rect(w + gap, 20, w, h, Rgb{235, 235, 235});
    c.text(w + gap + w / 2.0, 10, tr("no ground truth"), Rgb{90, 90, 90}, 1);
  }
  panel(c, 2 * (w + gap), rgb, h, w, pred, Rgb{230, 0, 0});
  c.text(2 * (w + gap) + w / 2.0, 10, tr("prediction"), Rgb{180, 0, 0}, 1);
  return c;
}

Canvas overlay(const std::vector<uint8_t>& rgb, int h, int w, const uint8_t* truth, const uint8_t* pred) {
  Canvas c(w, h);
  c.blit(0, 0, w, h, rgb.data());
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      if (truth != nullptr && on_edge(truth, h, w, y, x)) c.set(x, y, Rgb{0, 255, 0});
      if (pred != nullptr && on_edge(pred, h, w, y, x)) c.set(x, y, Rgb{255, 0, 0});
    }
  return c;
}

Canvas slice_panels(const std::vector<uint8_t>& rgb, int h, int w, const uint8_t* truth, const uint8_t* pred) {
  const int gap = 4;
  const Canvas t = triptych(rgb, h, w, truth, pred);
  Canvas c(t.width() + gap + w, h + 20, Rgb{255, 255, 255});
  c.blit(0, 0, t.width(), t.height(), t.pixels().data());
  const Canvas o = overlay(rgb, h, w, truth, pred);
  c.blit(t.width() + gap, 20, w, h, o.pixels().data());
  const PngTextScope png_text;
  c.text(t.width() + gap + w / 2.0, 10, tr("overlay"), Rgb{0, 0, 0}, 1);
  return c;
}

}  // namespace unet::tools
