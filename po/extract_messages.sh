#!/usr/bin/env bash
# Extracts the translatable messages (the arguments of tr() and trf(), base/i18n.hpp) from the
# product's sources into a .pot template. One place for xgettext's options: the CMake target
# `unet-pot` (which writes po/unet-engine.pot) and the catalogue test both run this.
# Usage: extract_messages.sh SOURCE_DIR OUTPUT.pot
set -euo pipefail
src=$1
out=$2
cd "$src"
# --flag ...:no-c-format: trf() patterns take {} placeholders, never printf directives, so a
# "%" in them is text; tr() patterns that are printf formats keep xgettext's c-format guess,
# and msgfmt --check-format then holds their translations to the same directives.
# The product's sources: every top-level folder but tests, bench, scripts and po (the message
# lint, tests/i18n/message_lint.py, reads the same ones), and no build tree.
dirs=()
for d in */; do
  d=${d%/}
  case "$d" in tests | bench | scripts | po | build) continue ;; esac
  [ -e "$d/CMakeCache.txt" ] || dirs+=("$d")
done
find "${dirs[@]}" -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.cu' \) ! -name 'i18n.*' | LC_ALL=C sort |
  xgettext --files-from=- --language=C++ --from-code=UTF-8 --keyword= --keyword=tr --keyword=trf \
    --flag=trf:1:no-c-format --add-comments=TRANSLATORS: --sort-by-file --no-wrap \
    --package-name=unet-engine --msgid-bugs-address="the unet-engine issue tracker" --output="$out"
