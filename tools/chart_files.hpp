// A report chart drawn twice: as SVG (returned, for the page, and written beside it) and as
// PNG. The PNG's bitmap font (stb_easy_font) has ASCII glyphs only, so the PNG is drawn with
// English labels (EnglishScope) whatever the language; the SVG carries the user's language.
#pragma once

#include <filesystem>
#include <string>

#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "tools/canvas.hpp"

namespace unet::tools {

// `draw(Painter&)` must call tr() inside, so that the PNG pass gets the English labels.
template <class Draw>
std::string chart_files(const std::string& dir, const std::string& name, int width, int height, Draw&& draw) {
  SvgPainter svg(width, height);
  draw(svg);
  Canvas png(width, height);
  {
    EnglishScope english;
    draw(png);
  }
  write_file_atomic((std::filesystem::path(dir) / (name + ".svg")).string(), svg.str());
  png.save_png((std::filesystem::path(dir) / (name + ".png")).string());
  return svg.str();
}

}  // namespace unet::tools
