#include "tools/canvas.hpp"

#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/error.hpp"
#include "base/file_io.hpp"
#include "base/i18n.hpp"
#include "tools/cjk_text.hpp"

namespace unet::tools {

std::string Rgb::hex() const {
  char out[8];
  std::snprintf(out, sizeof out, "#%02x%02x%02x", r, g, b);
  return out;
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {
std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}
}  // namespace

SvgPainter::SvgPainter(int width, int height) : width_(width), height_(height) {}

void SvgPainter::rect(double x, double y, double w, double h, Rgb fill) {
  body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
           "\" fill=\"" + fill.hex() + "\"/>\n";
}

void SvgPainter::line(double x0, double y0, double x1, double y1, Rgb color, double width, bool dashed) {
  body_ += "<line x1=\"" + num(x0) + "\" y1=\"" + num(y0) + "\" x2=\"" + num(x1) + "\" y2=\"" + num(y1) +
           "\" stroke=\"" + color.hex() + "\" stroke-width=\"" + num(width) + "\"" +
           (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
}

void SvgPainter::polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb color, double width) {
  body_ += "<polyline fill=\"none\" stroke=\"" + color.hex() + "\" stroke-width=\"" + num(width) + "\" points=\"";
  for (size_t i = 0; i < xs.size(); ++i) body_ += num(xs[i]) + "," + num(ys[i]) + " ";
  body_ += "\"/>\n";
}

void SvgPainter::text(double x, double y, const std::string& s, Rgb color, int anchor) {
  static const char* anchors[] = {"start", "middle", "end"};
  body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" dominant-baseline=\"middle\" text-anchor=\"" +
           anchors[std::clamp(anchor, 0, 2)] + "\" font-family=\"sans-serif, 'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC'\" font-size=\"12\" fill=\"" + color.hex() +
           "\">" + html_escape(s) + "</text>\n";
}

std::string SvgPainter::str() const {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width_) + "\" height=\"" +
         std::to_string(height_) + "\" viewBox=\"0 0 " + std::to_string(width_) + " " + std::to_string(height_) + "\">\n" +
         body_ + "</svg>\n";
}

Canvas::Canvas(int width, int height, Rgb bg) : width_(width), height_(height), px_(static_cast<size_t>(width * height * 3)) {
  for (int i = 0; i < width * height; ++i) {
    px_[static_cast<size_t>(i * 3)] = bg.r;
    px_[static_cast<size_t>(i * 3 + 1)] = bg.g;
    px_[static_cast<size_t>(i * 3 + 2)] = bg.b;
  }
}

void Canvas::set(int x, int y, Rgb c) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &px_[static_cast<size_t>((y * width_ + x) * 3)];
  p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

void Canvas::rect(double x, double y, double w, double h, Rgb fill) {
  const int x0 = static_cast<int>(std::lround(x)), y0 = static_cast<int>(std::lround(y));
  const int x1 = static_cast<int>(std::lround(x + w)), y1 = static_cast<int>(std::lround(y + h));
  for (int yy = std::max(0, y0); yy < std::min(height_, y1); ++yy)
    for (int xx = std::max(0, x0); xx < std::min(width_, x1); ++xx) set(xx, yy, fill);
}

void Canvas::line(double x0, double y0, double x1, double y1, Rgb color, double width, bool dashed) {
  const double len = std::hypot(x1 - x0, y1 - y0);
  const int steps = std::max(1, static_cast<int>(len * 2));
  const int half = std::max(0, static_cast<int>(width / 2));
  for (int i = 0; i <= steps; ++i) {
    const double t = static_cast<double>(i) / steps;
    if (dashed && std::fmod(t * len, 10.0) > 6.0) continue;
    const int x = static_cast<int>(std::lround(x0 + (x1 - x0) * t)), y = static_cast<int>(std::lround(y0 + (y1 - y0) * t));
    for (int dy = -half; dy <= half; ++dy)
      for (int dx = -half; dx <= half; ++dx) set(x + dx, y + dy, color);
  }
}

void Canvas::polyline(const std::vector<double>& xs, const std::vector<double>& ys, Rgb color, double width) {
  for (size_t i = 1; i < xs.size(); ++i) line(xs[i - 1], ys[i - 1], xs[i], ys[i], color, width, false);
}

void Canvas::text(double x, double y, const std::string& s, Rgb color, int anchor) {
  const bool ascii = std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii && cjk_font_available()) {
    // Chinese: FreeType's coverage blended over the canvas, about as tall as the ASCII text.
    const TextBitmap t = render_cjk_text(s, 14);
    const double left = anchor == 0 ? x : anchor == 1 ? x - t.width / 2.0 : x - t.width;
    const int x0 = static_cast<int>(std::lround(left)), y0 = static_cast<int>(std::lround(y - t.height / 2.0));
    for (int r = 0; r < t.height; ++r)
      for (int c = 0; c < t.width; ++c) {
        const int a = t.coverage[static_cast<size_t>(r * t.width + c)], px = x0 + c, py = y0 + r;
        if (a == 0 || px < 0 || py < 0 || px >= width_ || py >= height_) continue;
        uint8_t* d = &px_[static_cast<size_t>((py * width_ + px) * 3)];
        const auto mix = [a](uint8_t under, uint8_t over) { return static_cast<uint8_t>((under * (255 - a) + over * a) / 255); };
        d[0] = mix(d[0], color.r), d[1] = mix(d[1], color.g), d[2] = mix(d[2], color.b);
      }
    return;
  }
  // stb_easy_font: quads of a 1-pixel-stroke font about 7 px high, drawn at twice that size.
  constexpr double kScale = 2.0;
  static thread_local std::vector<char> buf(1 << 16);
  const double w = stb_easy_font_width(const_cast<char*>(s.c_str())) * kScale;
  const double left = anchor == 0 ? x : anchor == 1 ? x - w / 2.0 : x - w;
  const double top = y - 3.5 * kScale;
  const int quads = stb_easy_font_print(0.0f, 0.0f, const_cast<char*>(s.c_str()), nullptr, buf.data(), static_cast<int>(buf.size()));
  const float* v = reinterpret_cast<const float*>(buf.data());
  for (int q = 0; q < quads; ++q) {
    // Each vertex is x, y, z and a packed colour (16 bytes); a quad is 4 vertices.
    const float* a = v + q * 16;
    const double qx0 = std::min(a[0], a[8]), qx1 = std::max(a[0], a[8]);
    const double qy0 = std::min(a[1], a[9]), qy1 = std::max(a[1], a[9]);
    rect(left + qx0 * kScale, top + qy0 * kScale, (qx1 - qx0) * kScale, (qy1 - qy0) * kScale, color);
  }
}

void Canvas::blit(int x, int y, int w, int h, const uint8_t* rgb) {
  for (int yy = 0; yy < h; ++yy)
    for (int xx = 0; xx < w; ++xx) {
      const uint8_t* p = rgb + (yy * w + xx) * 3;
      set(x + xx, y + yy, Rgb{p[0], p[1], p[2]});
    }
}

std::string Canvas::png_bytes() const {
  std::string out;
  auto sink = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size)); };
  const int ok = stbi_write_png_to_func(sink, &out, width_, height_, 3, px_.data(), width_ * 3);
  UNET_CHECK(ok != 0, "stbi_write_png_to_func", tr("PNG encoding failed"));
  return out;
}

void Canvas::save_png(const std::string& path) const { write_file_atomic(path, png_bytes()); }

std::string base64(const std::string& bytes) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) | (static_cast<uint8_t>(bytes[i + 1]) << 8) | static_cast<uint8_t>(bytes[i + 2]);
    o += t[v >> 18], o += t[(v >> 12) & 63], o += t[(v >> 6) & 63], o += t[v & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    o += t[v >> 18], o += t[(v >> 12) & 63];
    o += i + 1 < bytes.size() ? t[(v >> 6) & 63] : '=';
    o += '=';
  }
  return o;
}

}  // namespace unet::tools
