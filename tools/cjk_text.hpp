// Text the PNG canvas's bitmap font cannot draw: stb_easy_font has ASCII glyphs only, so
// Chinese labels are rendered with FreeType from an installed CJK font (Noto Sans CJK from
// Debian's fonts-noto-cjk, or the file named by $UNET_CJK_FONT). Without such a font there is
// nothing to render with, and the PNG charts fall back to English labels (tools/chart_files.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/i18n.hpp"

namespace unet::tools {

// A line of text as coverage (0..255) per pixel, row by row; `ascent` pixels lie above the
// baseline.
struct TextBitmap {
  int width = 0, height = 0, ascent = 0;
  std::vector<uint8_t> coverage;
};

// The CJK font file in use, "" when none was found (looked up once).
const std::string& cjk_font_path();
inline bool cjk_font_available() { return !cjk_font_path().empty(); }

// `utf8` rendered at `pixel_size`; an empty bitmap when no CJK font is available.
TextBitmap render_cjk_text(const std::string& utf8, int pixel_size);

// While text is drawn on a PNG: English (tr() returns the English message) when no CJK font
// is available, since the bitmap font can only draw ASCII; the user's language otherwise.
class PngTextScope {
 public:
  PngTextScope() {
    if (!cjk_font_available()) english_.emplace();
  }

 private:
  std::optional<EnglishScope> english_;
};

}  // namespace unet::tools
