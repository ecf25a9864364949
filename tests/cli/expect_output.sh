#!/usr/bin/env bash
# Runs a command and passes only when its exit status AND its output are as expected.
# (ctest's PASS_REGULAR_EXPRESSION ignores the exit status, so a command that prints the
# expected line and then crashes would pass; this wrapper is used instead.)
#
#   expect_output.sh EXIT REGEX [EXIT REGEX]... -- COMMAND [ARG]...
#
# Each EXIT REGEX pair is one acceptable outcome: the exit status equals EXIT and the
# combined stdout+stderr matches the extended regular expression REGEX (grep -E, any line).
# The command's output is printed either way, so ctest --output-on-failure shows it.
set -uo pipefail
usage() {
  echo "usage: expect_output.sh EXIT REGEX [EXIT REGEX]... -- COMMAND [ARG]..." >&2
  exit 2
}

codes=()
patterns=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [ $# -ge 2 ] || usage
  case "$1" in '' | *[!0-9]*) echo "expect_output.sh: EXIT must be a number, got '$1'" >&2; usage ;; esac
  codes+=("$1")
  patterns+=("$2")
  shift 2
done
[ "${1:-}" = "--" ] && [ $# -ge 2 ] && [ ${#codes[@]} -ge 1 ] || usage
shift

output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
for i in "${!codes[@]}"; do
  if [ "$status" -eq "${codes[$i]}" ] && printf '%s\n' "$output" | grep -Eq -- "${patterns[$i]}"; then
    echo "expect_output: OK (exit $status, output matches '${patterns[$i]}')"
    exit 0
  fi
done
echo "expect_output: FAIL: '$*' exited with status $status; expected one of:" >&2
for i in "${!codes[@]}"; do
  echo "  exit ${codes[$i]} and output matching '${patterns[$i]}'" >&2
done
exit 1
