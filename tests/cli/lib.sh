# Shared by the CLI test scripts: `source "$(dirname "$0")/lib.sh" UNET_BINARY WORK_DIR` sets
# $unet (absolute) and $work (a fresh, absolute folder), and defines fail and expect_status.
set -euo pipefail
unet=$(realpath "$1")
work=$2
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
fail() { echo "FAIL: $*"; exit 1; }
# expect_status STATUS LOG CMD...: runs CMD with output to LOG, fails unless it exits with STATUS.
expect_status() {
  local want=$1 log=$2
  shift 2
  set +e
  "$@" > "$log" 2>&1
  local rc=$?
  set -e
  [ "$rc" -eq "$want" ] || fail "exit status $rc, expected $want: $* ($(tail -3 "$log"))"
}
