#include "tools/report_language.hpp"

#include "base/i18n.hpp"
#include "tools/cjk_text.hpp"

namespace unet::tools {

std::string html_language() {
  return current_language() == Language::Chinese ? "zh-CN" : "en";
}

std::string png_charts_note() {
  if (current_language() == Language::English || cjk_font_available()) return "";
  return "<p class=\"note\" id=\"png-note\">" +
         tr("The PNG copies of these charts (the .png files beside this page) keep English labels: this machine has "
            "no CJK font (install fonts-noto-cjk) and their bitmap font has ASCII glyphs only. The charts on this page "
            "are SVG and show Chinese.") +
         "</p>\n";
}

}  // namespace unet::tools
