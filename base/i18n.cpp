#include "base/i18n.hpp"

#include <libintl.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstdlib>
#include <filesystem>

#include "base/error.hpp"

namespace unet {

namespace {

constexpr const char* kDomain = "unet-engine";
Language g_language = Language::English;
thread_local bool t_force_english = false;

bool has_catalogue(const std::filesystem::path& dir) {
  std::error_code ec;
  return std::filesystem::is_regular_file(dir / "zh_CN" / "LC_MESSAGES" / "unet-engine.mo", ec);
}

// Where the compiled catalogue lives: beside the executable in the build tree
// (build/locale), under the install prefix (share/locale), or the build tree this was
// compiled in (for test programs in subfolders). UNET_LOCALEDIR overrides all of them.
std::string find_locale_dir() {
  std::vector<std::filesystem::path> candidates;
  if (const char* env = std::getenv("UNET_LOCALEDIR"); env && *env) candidates.emplace_back(env);
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path() / "locale");
    candidates.push_back(exe.parent_path().parent_path() / "locale");
    candidates.push_back(exe.parent_path().parent_path() / "share" / "locale");
  }
#ifdef UNET_INSTALL_LOCALEDIR
  candidates.emplace_back(UNET_INSTALL_LOCALEDIR);
#endif
#ifdef UNET_BUILD_LOCALEDIR
  candidates.emplace_back(UNET_BUILD_LOCALEDIR);
#endif
  for (const auto& c : candidates)
    if (has_catalogue(c)) return c.string();
  return "";
}

}  // namespace

Language language_from_environment() {
  // LANGUAGE may list several ("zh_CN:en"); its first entry is the user's first choice.
  for (const char* name : {"LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* v = std::getenv(name);
    if (!v || !*v) continue;
    return std::string_view(v).substr(0, 2) == "zh" ? Language::Chinese : Language::English;
  }
  return Language::English;
}

std::string select_language(const std::string& choice) {
  Language wanted;
  if (choice == "en")
    wanted = Language::English;
  else if (choice == "zh")
    wanted = Language::Chinese;
  else if (choice.empty())
    wanted = language_from_environment();
  else
    UNET_THROW("--lang", trf("'{}' is not a language; use en or zh", choice));
  g_language = Language::English;
  if (wanted == Language::English) return "";
  const std::string dir = find_locale_dir();
  if (dir.empty()) return "unet: no Chinese message catalogue (unet-engine.mo) was found; messages stay in English";
  // glibc's gettext ignores LANGUAGE while LC_MESSAGES is the "C" locale, and a zh_CN locale
  // need not be installed: C.UTF-8 (always present on Debian 12) plus LANGUAGE selects the
  // catalogue. Only LC_MESSAGES changes: numbers keep their '.' (LC_NUMERIC stays "C").
  if (!std::setlocale(LC_MESSAGES, "C.UTF-8")) std::setlocale(LC_MESSAGES, "");
  setenv("LANGUAGE", "zh_CN", 1);
  bindtextdomain(kDomain, dir.c_str());
  bind_textdomain_codeset(kDomain, "UTF-8");
  // The C library's own messages (strerror, quoted in ours) are translated too, in its "libc"
  // domain; without this they come in LC_CTYPE's charset, ASCII under "C", as "?????".
  bind_textdomain_codeset("libc", "UTF-8");
  g_language = Language::Chinese;
  return "";
}

Language current_language() {
  return t_force_english ? Language::English : g_language;
}

std::string tr(const char* english) {
  if (current_language() == Language::English || !*english) return english;
  return dgettext(kDomain, english);
}

std::string pad_columns(const std::string& text, int columns, bool right) {
  int used = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    char32_t cp = len == 1 ? c : c & (0xFF >> (len + 1));
    for (size_t k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (text[i + k] & 0x3F);
    // East Asian wide: Hangul Jamo, CJK radicals to Yi, Hangul syllables, compatibility
    // ideographs, vertical and full-width forms.
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
                      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                      (cp >= 0xFFE0 && cp <= 0xFFE6);
    used += wide ? 2 : 1;
    i += len;
  }
  const std::string fill(static_cast<size_t>(std::max(0, columns - used)), ' ');
  return right ? fill + text : text + fill;
}

EnglishScope::EnglishScope() : before_(t_force_english) {
  t_force_english = true;
}
EnglishScope::~EnglishScope() {
  t_force_english = before_;
}

namespace i18n_detail {

std::string fill(const std::string& pattern, const std::vector<std::string>& values) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '{') {
      const size_t close = pattern.find('}', i);
      if (close != std::string::npos) {
        const std::string inside = pattern.substr(i + 1, close - i - 1);
        const bool numbered = !inside.empty() && inside.find_first_not_of("0123456789") == std::string::npos;
        if (inside.empty() || numbered) {
          const size_t k = numbered ? std::stoul(inside) : next++;
          if (k < values.size()) {
            out += values[k];
            i = close;
            continue;
          }
        }
      }
    }
    out += pattern[i];
  }
  return out;
}

}  // namespace i18n_detail

}  // namespace unet
