#include "tools/cjk_text.hpp"

#include <ft2build.h>
#include FT_FREETYPE_H

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string_view>

namespace unet::tools {

namespace {

// Where distributions put Noto Sans CJK (Debian and Ubuntu first), then other common CJK fonts.
constexpr const char* kFontFiles[] = {
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
};

// One FreeType library and face for the process; FreeType objects are not thread-safe, so
// every use holds the mutex.
struct Font {
  std::mutex mutex;
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  std::string path;

  Font() {
    if (FT_Init_FreeType(&library) != 0) return;
    std::vector<std::string> files;
    if (const char* env = std::getenv("UNET_CJK_FONT"); env && *env) files.emplace_back(env);
    files.insert(files.end(), std::begin(kFontFiles), std::end(kFontFiles));
    for (const std::string& f : files) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(f, ec) || !open(f)) continue;
      path = f;
      return;
    }
  }
  ~Font() {
    if (face) FT_Done_Face(face);
    if (library) FT_Done_FreeType(library);
  }

  // A collection (.ttc) holds one face per region; the Simplified Chinese one ("... SC")
  // draws the forms Chinese readers expect. The face must have the glyph for 中.
  bool open(const std::string& file) {
    FT_Face probe = nullptr;
    if (FT_New_Face(library, file.c_str(), -1, &probe) != 0) return false;
    const FT_Long faces = probe->num_faces;
    FT_Done_Face(probe);
    FT_Long chosen = 0;
    for (FT_Long i = 0; i < faces; ++i) {
      FT_Face f = nullptr;
      if (FT_New_Face(library, file.c_str(), i, &f) != 0) continue;
      const bool sc = f->family_name && std::string_view(f->family_name).find(" SC") != std::string_view::npos;
      FT_Done_Face(f);
      if (sc) {
        chosen = i;
        break;
      }
    }
    if (FT_New_Face(library, file.c_str(), chosen, &face) != 0) return false;
    if (FT_Get_Char_Index(face, 0x4E2D) == 0) {
      FT_Done_Face(face);
      face = nullptr;
      return false;
    }
    return true;
  }
};

Font& font() {
  static Font f;
  return f;
}

// The next code point of UTF-8 text; U+FFFD for a malformed sequence.
char32_t next_code_point(const std::string& s, size_t& i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  int extra = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
  if (extra < 0 || i + static_cast<size_t>(extra) >= s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = extra == 0 ? c : c & (0x3F >> extra);
  for (int k = 1; k <= extra; ++k) {
    if ((b(i + static_cast<size_t>(k)) & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b(i + static_cast<size_t>(k)) & 0x3F);
  }
  i += static_cast<size_t>(extra) + 1;
  return cp;
}

}  // namespace

const std::string& cjk_font_path() { return font().path; }

TextBitmap render_cjk_text(const std::string& utf8, int pixel_size) {
  TextBitmap out;
  Font& f = font();
  if (!f.face) return out;
  std::lock_guard<std::mutex> lock(f.mutex);
  if (FT_Set_Pixel_Sizes(f.face, 0, static_cast<FT_UInt>(pixel_size)) != 0) return out;
  out.ascent = static_cast<int>(f.face->size->metrics.ascender >> 6);
  out.height = out.ascent + static_cast<int>(-f.face->size->metrics.descender >> 6);
  // First the width (sum of advances), then the glyphs into the coverage bitmap.
  std::vector<char32_t> text;
  for (size_t i = 0; i < utf8.size();) text.push_back(next_code_point(utf8, i));
  for (char32_t cp : text)
    if (FT_Load_Char(f.face, cp, FT_LOAD_DEFAULT) == 0) out.width += static_cast<int>(f.face->glyph->advance.x >> 6);
  out.coverage.assign(static_cast<size_t>(out.width * out.height), 0);
  int pen = 0;
  for (char32_t cp : text) {
    if (FT_Load_Char(f.face, cp, FT_LOAD_RENDER) != 0) continue;
    const FT_GlyphSlot g = f.face->glyph;
    const FT_Bitmap& bm = g->bitmap;
    for (unsigned r = 0; r < bm.rows; ++r)
      for (unsigned c = 0; c < bm.width; ++c) {
        const int x = pen + g->bitmap_left + static_cast<int>(c), y = out.ascent - g->bitmap_top + static_cast<int>(r);
        if (x < 0 || y < 0 || x >= out.width || y >= out.height) continue;
        uint8_t& dst = out.coverage[static_cast<size_t>(y * out.width + x)];
        dst = std::max(dst, bm.buffer[static_cast<ptrdiff_t>(r) * bm.pitch + c]);
      }
    pen += static_cast<int>(g->advance.x >> 6);
  }
  return out;
}

}  // namespace unet::tools
