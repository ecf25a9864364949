#!/usr/bin/env bash
# The two i18n checks must not pass silently: a copy of the sources with one UNET_CHECK
# message, one --help text and one report heading left bare (no tr()) must fail the lint,
# naming each; and a new tr() message that po/zh_CN.po lacks must fail the coverage check.
# Usage: lint_catches_a_bare_message.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
copy=$work/src
mkdir -p "$copy"
cp -r "$src"/{base,engine,kernels,layers,unet,data,train,tools,po} "$copy"/
# A file of bare messages, one per kind of sink.
cat > "$copy/tools/bare_messages.cpp" <<'CPP'
void bare(CLI::App* sub, int x) {
  UNET_CHECK(x > 0, "--x", "must be positive, got " + std::to_string(x));
  sub->add_option("--x", x, "a number of things");
  std::printf("wrote %d files\n", x);
}
CPP
# ... and a report heading (HTML text is checked in the report sources).
printf '\nvoid bare_heading(std::string& h) { h += "<h2>Learning curves</h2>"; }\n' >> "$copy/tools/report.cpp"
set +e
/usr/bin/python3 "$src/tests/i18n/message_lint.py" "$copy" > "$work/lint.log" 2>&1
rc=$?
set -e
cat "$work/lint.log"
[ $rc -eq 1 ] || fail "the lint exited with $rc on bare messages; expected 1"
for what in '"must be positive, got "' '"a number of things"' '"wrote %d files\n"'; do
  grep -F "tools/bare_messages.cpp" "$work/lint.log" | grep -qF -- "$what" || fail "the lint did not name $what"
done
grep -F "tools/report.cpp" "$work/lint.log" | grep -qF "<h2>Learning curves</h2>" || fail "the lint did not name the bare heading"
cp "$src/tools/report.cpp" "$copy/tools/report.cpp"
# Wrapped in tr()/trf(), the same file passes the lint but fails the catalogue check.
cat > "$copy/tools/bare_messages.cpp" <<'CPP'
void wrapped(int x) {
  UNET_CHECK(x > 0, "--x", trf("must be positive, got {}", x));
}
CPP
/usr/bin/python3 "$src/tests/i18n/message_lint.py" "$copy" > "$work/lint2.log" 2>&1 \
  || fail "the lint refused a wrapped message: $(tail -3 "$work/lint2.log")"
set +e
/usr/bin/python3 "$src/tests/i18n/catalogue_coverage.py" "$copy" "$work/cov" > "$work/cov.log" 2>&1
rc=$?
set -e
tail -3 "$work/cov.log"
[ $rc -eq 1 ] || fail "the catalogue check exited with $rc on an untranslated message; expected 1"
grep -qF 'untranslated (missing): "must be positive, got {}"' "$work/cov.log" || fail "the catalogue check did not name the message"
echo "the lint and the catalogue check catch bare and untranslated messages"
