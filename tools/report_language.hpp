// What the HTML reports need to know about the user's language (base/i18n.hpp).
#pragma once

#include <string>

namespace unet::tools {

// The page's lang attribute: "en" or "zh-CN" (browsers pick CJK fonts by it).
std::string html_language();

// In a Chinese report made on a machine without a CJK font, a note under the charts that their
// PNG copies keep English labels; "" otherwise (English, or the PNGs show Chinese).
std::string png_charts_note();

}  // namespace unet::tools
