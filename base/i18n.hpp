// The user's language: English (the default) or Simplified Chinese. Every message a person
// reads (console, errors, --help, the report) goes through tr(), a gettext lookup in the
// catalogue po/zh_CN.po compiled at build time; files written for programs (CSV headers,
// JSON keys, checkpoint metadata, TensorBoard tags) stay English and never go through it.
//
// Messages with values are whole sentences with "{}" placeholders, so a translator sees the
// sentence and can reorder it: trf("split: {} training patients ({} slices)", a, b). A
// translation may name the values by position ("{1} ... {0}") where the order must change.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace unet {

enum class Language { English, Chinese };

// Selects the language of this process. `choice` is "en", "zh" or "" (then the environment
// decides: LANGUAGE, LC_ALL, LC_MESSAGES, LANG, the first one set; a value starting with
// "zh" means Chinese). Throws unet::Error for any other choice. Returns a warning (English)
// when Chinese was asked for but no catalogue was found, else "".
std::string select_language(const std::string& choice);
Language current_language();
// The language the environment asks for (as select_language("") would choose).
Language language_from_environment();

// The translation of an English message (the message itself in English or when the
// catalogue lacks it).
std::string tr(const char* english);

// The English plural ending for a count ("1 tile", "2 tiles"): "s" unless the count is 1;
// always "" in Chinese, which has no plural forms.
inline const char* plural_s(long long count) {
  return current_language() == Language::English && count != 1 ? "s" : "";
}

// `text` padded with spaces to `columns` terminal columns, counting a CJK character as two
// (printf's %-20s counts bytes, three per Chinese character); left-aligned, or right-aligned
// with `right`. Console tables use it for headings that are translated.
std::string pad_columns(const std::string& text, int columns, bool right = false);

// For outputs that cannot show Chinese (the PNG charts: their bitmap font is ASCII only):
// while one of these lives, tr() on this thread returns English.
class EnglishScope {
 public:
  EnglishScope();
  ~EnglishScope();
  EnglishScope(const EnglishScope&) = delete;
  EnglishScope& operator=(const EnglishScope&) = delete;

 private:
  bool before_;
};

namespace i18n_detail {
inline std::string text_of(const std::string& s) {
  return s;
}
inline std::string text_of(std::string_view s) {
  return std::string(s);
}
inline std::string text_of(const char* s) {
  return s;
}
inline std::string text_of(char c) {
  return std::string(1, c);
}
template <class T>
requires std::is_arithmetic_v<T> std::string text_of(T v) {
  return std::to_string(v);
}
std::string fill(const std::string& pattern, const std::vector<std::string>& values);
}  // namespace i18n_detail

// Puts the values into "{}" (next value) or "{N}" (value N, from 0) placeholders of an
// already translated pattern. A placeholder without a value is left as it is.
template <class... A>
std::string fill_in(const std::string& pattern, const A&... values) {
  return i18n_detail::fill(pattern, {i18n_detail::text_of(values)...});
}

// tr() then fill_in(): the usual way to write a message with values.
template <class... A>
std::string trf(const char* english, const A&... values) {
  return fill_in(tr(english), values...);
}

}  // namespace unet
