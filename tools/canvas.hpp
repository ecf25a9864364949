// Drawing for reports: one Painter interface, two back ends — SVG text for report.html and
// an RGB raster written as PNG (stb_image_write; ASCII text by stb_easy_font, Chinese through
// FreeType and an installed CJK font, tools/cjk_text.hpp). Charts are drawn
// once against the interface and come out identical in both formats.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace unet::tools {

struct Rgb {
  uint8_t r, g, b;
  std::string hex() const;
};

class Painter {
 public:
  virtual ~Painter() = default;
  virtual void rect(double x, double y, double w, double h, Rgb fill) = 0;
  virtual void line(double x0, double y0, double x1, double y1, Rgb color, double width = 1.0, bool dashed = false) = 0;
  virtual void polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb color, double width) = 0;
  // anchor: 0 left, 1 centre, 2 right; y is the text's vertical centre.
  virtual void text(double x, double y, const std::string& s, Rgb color, int anchor = 0) = 0;
};

class SvgPainter final : public Painter {
 public:
  SvgPainter(int width, int height);
  void rect(double x, double y, double w, double h, Rgb fill) override;
  void line(double x0, double y0, double x1, double y1, Rgb color, double width, bool dashed) override;
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb color, double width) override;
  void text(double x, double y, const std::string& s, Rgb color, int anchor) override;
  std::string str() const;

 private:
  int width_, height_;
  std::string body_;
};

class Canvas final : public Painter {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255});
  void rect(double x, double y, double w, double h, Rgb fill) override;
  void line(double x0, double y0, double x1, double y1, Rgb color, double width, bool dashed) override;
  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb color, double width) override;
  void text(double x, double y, const std::string& s, Rgb color, int anchor) override;

  void set(int x, int y, Rgb c);
  // Copies an RGB image [h, w, 3] with its top-left corner at (x, y).
  void blit(int x, int y, int w, int h, const uint8_t* rgb);
  int width() const { return width_; }
  int height() const { return height_; }
  const std::vector<uint8_t>& pixels() const { return px_; }
  void save_png(const std::string& path) const;  // atomic; errors name the path
  std::string png_bytes() const;

 private:
  int width_, height_;
  std::vector<uint8_t> px_;
};

std::string base64(const std::string& bytes);
std::string html_escape(const std::string& s);

}  // namespace unet::tools
