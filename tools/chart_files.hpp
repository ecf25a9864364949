// A report chart drawn twice: as SVG (returned, for the page, and written beside it) and as
// PNG. The PNG draws Chinese labels through FreeType and an installed CJK font
// (tools/cjk_text.hpp); on a machine without one it is drawn with English labels
// (PngTextScope), which its ASCII bitmap font can show, and the report says so.
#pragma once

#include <filesystem>
#include <string>

#include "base/file_io.hpp"
#include "tools/canvas.hpp"
#include "tools/cjk_text.hpp"

namespace unet::tools {

// `draw(Painter&)` must call tr() inside, so that an English PNG pass gets English labels.
template <class Draw>
std::string chart_files(const std::string& dir, const std::string& name, int width, int height, Draw&& draw) {
  SvgPainter svg(width, height);
  draw(svg);
  Canvas png(width, height);
  {
    PngTextScope png_text;
    draw(png);
  }
  write_file_atomic((std::filesystem::path(dir) / (name + ".svg")).string(), svg.str());
  png.save_png((std::filesystem::path(dir) / (name + ".png")).string());
  return svg.str();
}

}  // namespace unet::tools
