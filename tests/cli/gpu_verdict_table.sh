#!/usr/bin/env bash
# bench/gpu_verdict.sh from end to end on simulated machines: fake nvidia-smi, nvcc and cmake on
# PATH and a simulated check list. It must tell "no NVIDIA driver", "no CUDA device", "driver too
# old" and "GPU found" apart, and its final table must list every check as PASS, FAIL or NOT RUN
# with the reason; a NOT RUN check fails the verdict unless --allow-not-run waives it. The real
# check list is checked too: every line well formed, every program it names built or present.
# Usage: gpu_verdict_table.sh BUILD_DIR WORK_DIR (BUILD_DIR: this build, for the real list's programs)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
work=$2
rm -rf "$work"
mkdir -p "$work/bin"
work=$(cd "$work" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

# The fakes. SIM_SMI: none (exit 9), nodevice (exit 6), or "DRIVER[,COUNT]"; SIM_NVCC: release.
cat > "$work/bin/nvidia-smi" <<'SH'
#!/bin/sh
case "$SIM_SMI" in
  none) echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."; exit 9 ;;
  nodevice) echo "No devices were found"; exit 6 ;;
  *) driver=${SIM_SMI%%,*}; count=${SIM_SMI#*,}; [ "$count" = "$SIM_SMI" ] && count=1
     i=0; while [ $i -lt "$count" ]; do echo "NVIDIA GeForce RTX 3090, 8.6, $driver"; i=$((i + 1)); done ;;
esac
SH
cat > "$work/bin/nvcc" <<'SH'
#!/bin/sh
echo "nvcc: NVIDIA (R) Cuda compiler driver"
echo "Cuda compilation tools, release $SIM_NVCC, V$SIM_NVCC.0"
SH
printf '#!/bin/sh\nexit "${SIM_BUILD_STATUS:-0}"\n' > "$work/bin/cmake"
chmod +x "$work/bin/"*
cat > "$work/checks.txt" <<'EOF2'
# a comment, and a blank line, are not checks

1 | sim pass | echo "noise"; echo "all good"
1 | sim not run | echo "SKIPPED: no widget installed"; exit 77
2 | sim two gpus | echo "should not run"; exit 1
1 | sim fail | [ -z "${SIM_FAIL:-}" ] || { echo "broken thing"; exit 3; }; echo "fine"
EOF2

# verdict STATUS PATTERN... -- ARGS: runs the verdict on the simulated machine (environment as
# set by the caller); its exit status must be STATUS and every pattern must match a line.
verdict() {
  local want=$1
  shift
  local patterns=()
  while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  set +e
  out=$(PATH="$work/bin:/usr/bin:/bin" GPU_VERDICT_BUILD_DIR="$work/build-gpu" GPU_VERDICT_CHECKS="$work/checks.txt" \
        CUDA_HOME="$work/no-cuda" "$root/bench/gpu_verdict.sh" "$@" 2>&1)
  local status=$?
  set -e
  printf '%s\n' "$out" | sed 's/^/  | /'
  [ "$status" -eq "$want" ] || fail "exit status $status, expected $want (SIM_SMI=$SIM_SMI $*)"
  for p in "${patterns[@]}"; do printf '%s\n' "$out" | grep -Eq -- "$p" || fail "no line matches '$p' (SIM_SMI=$SIM_SMI $*)"; done
}
export SIM_NVCC=13.0

echo "== no NVIDIA driver"
SIM_SMI=none verdict 77 "^gpu_verdict: no GPU on this machine: no NVIDIA driver \(nvidia-smi: NVIDIA-SMI has failed" \
  "^NOT RUN +sim pass: no NVIDIA driver" "^NOT RUN +sim fail: no NVIDIA driver" "^gpu_verdict: NOT RUN: nothing was verified" --
SIM_SMI=none verdict 77 "^gpu_verdict: no GPU on this machine: no NVIDIA driver" -- --check-only
echo "== a driver but no device"
SIM_SMI=nodevice verdict 77 "^gpu_verdict: no GPU on this machine: no CUDA device \(nvidia-smi: No devices were found\)" -- --check-only
echo "== a driver too old for the toolkit"
SIM_SMI=550.54.15 verdict 77 \
  "^gpu_verdict: the NVIDIA driver is too old: driver too old for this CUDA 13 build \(needs >= 580; found 550.54.15 on NVIDIA GeForce RTX 3090\)" \
  "^NOT RUN +sim pass: driver too old" --
echo "== the same driver is new enough for a CUDA 12 toolkit"
SIM_NVCC=12.4 SIM_SMI=550.54.15 verdict 0 "^gpu_verdict: GPU found: NVIDIA GeForce RTX 3090, compute capability 8.6, driver 550.54.15" -- --check-only
echo "== nvidia-smi sees a GPU but there is no CUDA toolkit to build with"
SIM_NVCC= SIM_SMI=580.65.06 verdict 2 "^gpu_verdict: no CUDA toolkit found" -- --check-only
echo "== GPU found: the table, a NOT RUN that is not waived, one check that needs 2 GPUs"
SIM_SMI=580.65.06 verdict 1 "^gpu_verdict: GPU found: NVIDIA GeForce RTX 3090, compute capability 8.6, driver 580.65.06 \(1 GPU" \
  "^PASS +build with CUDA" "^PASS +sim pass \(all good\)$" "^NOT RUN +sim not run: no widget installed$" \
  "^NOT RUN +sim two gpus: needs 2 GPUs; this machine has 1$" "^PASS +sim fail \(fine\)$" \
  "^gpu_verdict: FAIL: 2 check\(s\) did not run" --
[ "$(printf '%s\n' "$out" | grep -cE '^(PASS|FAIL|NOT RUN) ')" -eq 5 ] || fail "the table has not one row per check and the build"
echo "== ... waived"
SIM_SMI=580.65.06 verdict 0 "^gpu_verdict: PASS \(2 check\(s\) did not run, accepted by --allow-not-run\)" -- --allow-not-run
echo "== two GPUs: the two-GPU check runs"
SIM_SMI=580.65.06,2 verdict 1 "\(2 GPU\(s\)" "^FAIL +sim two gpus \(exit 1: should not run\); see " "^gpu_verdict: FAIL$" -- --allow-not-run
echo "== a failing check fails the verdict, even with --allow-not-run"
SIM_FAIL=1 SIM_SMI=580.65.06 verdict 1 "^FAIL +sim fail \(exit 3: broken thing\); see .*check4.txt" "^gpu_verdict: FAIL$" -- --allow-not-run
echo "== a failed build: every check NOT RUN, the verdict fails"
SIM_BUILD_STATUS=1 SIM_SMI=580.65.06 verdict 1 "^FAIL +build with CUDA" "^NOT RUN +sim pass: the build failed" -- --allow-not-run

echo "== the real check list"
checks=0
while IFS= read -r line; do
  case "$line" in '' | '#'*) continue ;; esac
  checks=$((checks + 1))
  [ "$(printf '%s' "$line" | tr -cd '|' | wc -c)" -ge 2 ] || fail "not 'GPUS | NAME | COMMAND': $line"
  gpus=$(printf '%s' "$line" | cut -d'|' -f1 | tr -d ' ')
  case "$gpus" in '' | *[!0-9]*) fail "GPUS is not a number: $line" ;; esac
  program=$(printf '%s' "$line" | cut -d'|' -f3- | awk '{print $1}')
  case "$program" in
    '$BUILD/'*) [ -x "$build/${program#\$BUILD/}" ] || fail "the list runs ${program}, which this build has not made" ;;
    tests/* | bench/*) [ -x "$root/$program" ] || fail "the list runs $program, which is not an executable file" ;;
    *) grep -q "^$program() {" "$root/bench/gpu_verdict.sh" || fail "the list calls $program, which gpu_verdict.sh does not define" ;;
  esac
done < "$root/bench/gpu_checks.txt"
[ "$checks" -ge 10 ] || fail "the real list has only $checks checks"
echo "gpu verdict table: passed ($checks checks in the real list)"
