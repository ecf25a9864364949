// Chinese in the PNG pictures: FreeType draws it from the installed CJK font (fonts-noto-cjk
// is a dependency, so a missing font fails here rather than passing on tofu or blanks).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "base/i18n.hpp"
#include "tools/canvas.hpp"
#include "tools/charts.hpp"
#include "tools/cjk_text.hpp"

using namespace unet;
using namespace unet::tools;

namespace {
int dark_pixels(const Canvas& c) {
  int n = 0;
  for (size_t i = 0; i + 2 < c.pixels().size(); i += 3) n += c.pixels()[i] < 128 && c.pixels()[i + 1] < 128;
  return n;
}
int differing_pixels(const Canvas& a, const Canvas& b) {
  int n = 0;
  for (size_t i = 0; i < a.pixels().size(); ++i) n += a.pixels()[i] != b.pixels()[i];
  return n;
}
Canvas written(const std::string& text) {
  Canvas c(120, 30);
  c.text(60, 15, text, Rgb{0, 0, 0}, 1);
  return c;
}
}  // namespace

TEST_CASE("a CJK font is installed and draws Chinese glyphs") {
  REQUIRE_MESSAGE(cjk_font_available(), "no CJK font found: install fonts-noto-cjk (scripts/install_deps.sh)");
  const TextBitmap t = render_cjk_text("曲线", 14);
  CHECK(t.width >= 24);  // two full-width glyphs of 14 px
  CHECK(t.height >= 14);
  int ink = 0;
  for (uint8_t v : t.coverage) ink += v > 128;
  CHECK(ink > 20);
}

TEST_CASE("the PNG canvas draws different Chinese words differently, and ASCII as before") {
  REQUIRE(cjk_font_available());
  const Canvas a = written("曲线"), b = written("配置"), blank(120, 30);
  CHECK(dark_pixels(a) > 20);
  CHECK(dark_pixels(b) > 20);
  // Missing glyphs would all be the same box: two words alike would mean tofu.
  CHECK(differing_pixels(a, b) > 50);
  CHECK(differing_pixels(a, blank) > 50);
  // ASCII keeps the bitmap font: the same pixels with or without a CJK font.
  const Canvas e = written("Loss");
  CHECK(dark_pixels(e) > 10);
}

TEST_CASE("a chart drawn in Chinese puts CJK glyphs into its PNG title") {
  REQUIRE(cjk_font_available());
  const std::vector<double> x{1, 2, 3};
  const std::vector<Series> s{{"训练损失", {0.9, 0.5, 0.3}, Rgb{31, 119, 180}}};
  Canvas zh(360, 200), en(360, 200);
  line_chart(zh, 360, 200, "损失", x, s, "轮次");
  line_chart(en, 360, 200, "Loss", x, {{"train loss", {0.9, 0.5, 0.3}, Rgb{31, 119, 180}}}, "epoch");
  // The title row (y < 30) holds text in both and differs between them.
  int zh_ink = 0, changed = 0;
  for (int y = 0; y < 30; ++y)
    for (int xx = 0; xx < 360; ++xx) {
      const size_t i = static_cast<size_t>((y * 360 + xx) * 3);
      zh_ink += zh.pixels()[i] < 128;
      changed += zh.pixels()[i] != en.pixels()[i];
    }
  CHECK(zh_ink > 20);
  CHECK(changed > 20);
}
