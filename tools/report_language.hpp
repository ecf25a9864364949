// What the HTML reports need to know about the user's language (base/i18n.hpp).
#pragma once

#include <string>

namespace unet::tools {

// The page's lang attribute: "en" or "zh-CN" (browsers pick CJK fonts by it).
std::string html_language();

// In a Chinese report, a note under the charts that their PNG copies keep English labels
// (their bitmap font has ASCII glyphs only); "" in English, where there is nothing to say.
std::string png_charts_note();

}  // namespace unet::tools
