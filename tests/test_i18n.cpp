// base/i18n: placeholders, the language choice, and a Chinese lookup through the catalogue
// compiled at build time (build/locale, found through the build tree's path).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "base/i18n.hpp"

using namespace unet;

namespace {
// Restores English and the environment variables a test changed.
struct LanguageReset {
  ~LanguageReset() {
    unsetenv("LANGUAGE");
    setenv("LANG", "C.UTF-8", 1);
    select_language("en");
  }
};
}  // namespace

TEST_CASE("fill_in puts values into {} in order and into {N} by position") {
  CHECK(fill_in("{} of {}", 3, 7) == "3 of 7");
  CHECK(fill_in("{1} / {0}", "a", std::string("b")) == "b / a");
  CHECK(fill_in("{} MiB", 1.5) == std::to_string(1.5) + " MiB");
  // Braces that are not placeholders, and placeholders without a value, stay as written.
  CHECK(fill_in("<case>_{flair,t1}.nii: {}", "x") == "<case>_{flair,t1}.nii: x");
  CHECK(fill_in("{} and {}", "only") == "only and {}");
  CHECK(fill_in("{5}", "a") == "{5}");
}

TEST_CASE("English is the default and a zh_* locale or --lang zh selects Chinese") {
  LanguageReset reset;
  unsetenv("LANGUAGE");
  unsetenv("LC_ALL");
  unsetenv("LC_MESSAGES");
  setenv("LANG", "C.UTF-8", 1);
  CHECK(language_from_environment() == Language::English);
  setenv("LANG", "zh_CN.UTF-8", 1);
  CHECK(language_from_environment() == Language::Chinese);
  setenv("LANGUAGE", "en:zh_CN", 1);  // LANGUAGE's first entry comes first
  CHECK(language_from_environment() == Language::English);
  CHECK_THROWS_AS(select_language("fr"), Error);
}

TEST_CASE("tr() looks messages up in the Chinese catalogue; EnglishScope and unknown messages stay English") {
  LanguageReset reset;
  REQUIRE(select_language("zh").empty());  // "" = the catalogue was found
  REQUIRE(current_language() == Language::Chinese);
  CHECK(tr("Curves") == "曲线");
  CHECK(trf("mean {}, median {}", "0.5", "0.6") == "均值 0.5，中位数 0.6");
  CHECK(tr("a sentence no catalogue holds") == "a sentence no catalogue holds");
  CHECK(std::string(plural_s(2)).empty());
  {
    EnglishScope english;
    CHECK(current_language() == Language::English);
    CHECK(tr("Curves") == "Curves");
    CHECK(std::string(plural_s(2)) == "s");
  }
  CHECK(tr("Curves") == "曲线");
  select_language("en");
  CHECK(tr("Curves") == "Curves");
}

TEST_CASE("pad_columns counts a Chinese character as two terminal columns") {
  CHECK(pad_columns("abc", 6) == "abc   ");
  CHECK(pad_columns("abc", 6, true) == "   abc");
  CHECK(pad_columns("病例", 6) == "病例  ");       // 2 characters, 4 columns, 6 bytes
  CHECK(pad_columns("前向 ms", 9, true) == "  前向 ms");
  CHECK(pad_columns("too long", 3) == "too long");  // never cut
}
