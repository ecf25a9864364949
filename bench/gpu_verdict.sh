#!/usr/bin/env bash
# One command for someone with a GPU: detects the GPU and its driver, builds with CUDA, runs every
# check of bench/gpu_checks.txt (parity suites, end-to-end training, GPU/CPU agreement,
# compute-sanitizer, the benchmark with the spec's thresholds, the PyTorch comparison) and prints
# one verdict table: each check PASS, FAIL or NOT RUN, with its reason.
#   bench/gpu_verdict.sh                  run everything (from anywhere)
#   bench/gpu_verdict.sh --allow-not-run  the same, but checks that could not run (no
#                                         compute-sanitizer, no CUDA PyTorch, too few GPUs) do not
#                                         fail it; they are still listed as NOT RUN
#   bench/gpu_verdict.sh --check-only     only detect the GPU: exit 0 when there is one, 77 and why
#                                         when there is none or its driver is too old, 2 when the
#                                         probe itself failed
# Exit status: 0 every check passed (or did not run, waived); 1 a check failed, or did not run
# and was not waived; 77 no usable GPU (nothing verified); 2 the probe failed or a usage error.
# Environment: GPU_PROBE (a probe program, instead of nvidia-smi), GPU_VERDICT_BUILD_DIR (default
# build-gpu), GPU_VERDICT_CHECKS (default bench/gpu_checks.txt), CUDA_HOME (default /usr/local/cuda).
set -uo pipefail
cd "$(dirname "$0")/.."
check_only=0 allow_not_run=0
for arg in "$@"; do
  case "$arg" in
    --check-only) check_only=1 ;;
    --allow-not-run) allow_not_run=1 ;;
    *) echo "gpu_verdict: unknown option '$arg' (use --check-only or --allow-not-run)" >&2; exit 2 ;;
  esac
done
build_dir=${GPU_VERDICT_BUILD_DIR:-build-gpu}
checks_file=${GPU_VERDICT_CHECKS:-bench/gpu_checks.txt}
cuda_home=${CUDA_HOME:-/usr/local/cuda}
[ -r "$checks_file" ] || { echo "gpu_verdict: cannot read the check list $checks_file" >&2; exit 2; }

# 1. Is there a GPU? Asked independently of build/ (which may be a CPU-only build): GPU_PROBE
#    when given (a probe binary, as in the tests), else nvidia-smi with the driver checked against
#    the toolkit the GPU build uses, else the probe of the GPU build this script makes
#    (build-gpu/tests/test_parity_cuda --probe, the engine's own decision). Outcomes, each from an
#    explicit answer: GPU found (name, compute capability, driver), no GPU / no driver / a driver
#    too old (exit 77 with the reason), or the probe itself failed (exit 2 with its output): a
#    probe that crashes or cannot load cuDNN proves nothing either way, so it is reported as such.
reason=""
gpu_name=""
gpu_count=1
probe_failed() {
  echo "gpu_verdict: the GPU probe failed: '$1' exited with status $2 without a clear answer; its output:"
  printf '%s\n' "$3" | sed 's/^/  | /'
  echo "gpu_verdict: rebuild (cmake --build $build_dir) and check that the CUDA libraries load (ldd $1)."
  exit 2
}
ask_probe() {
  # test_parity_cuda --probe: exit 0 and "GPU: <name>, <memory>, compute capability X.Y" when a GPU
  # is usable; exit 77 and "SKIPPED: ... not run: <reason>" when not. Anything else is a failed probe.
  local probe status gpu_line skip_line
  probe=$("$1" --probe 2>&1)
  status=$?
  gpu_line=$(printf '%s\n' "$probe" | grep -m1 -E '^GPU: .+')
  skip_line=$(printf '%s\n' "$probe" | grep -m1 -E '^SKIPPED: .* not run: .+')
  if [ $status -eq 0 ] && [ -n "$gpu_line" ]; then
    gpu_name=${gpu_line#GPU: }
  elif [ $status -eq 77 ] && [ -n "$skip_line" ]; then
    reason=${skip_line#*not run: }
  else
    probe_failed "$1" $status "$probe"
  fi
}
build_gpu() {  # configure and build the CUDA build; the target (default: everything) as $1
  mkdir -p "$build_dir"
  cmake -S . -B "$build_dir" -G Ninja -DUNET_CUDA=ON > "$build_dir/build.log" 2>&1 &&
    cmake --build "$build_dir" ${1:+--target "$1"} >> "$build_dir/build.log" 2>&1
}
# The CUDA major version of the toolkit the GPU build compiles with (nvcc on PATH, else CUDA_HOME).
toolkit_major() {
  local nvcc
  nvcc=$(command -v nvcc || echo "$cuda_home/bin/nvcc")
  "$nvcc" --version 2> /dev/null | sed -n 's/.*release \([0-9][0-9]*\)\..*/\1/p' | head -1
}
# The oldest driver branch that runs a CUDA major version (as base/gpu_support.cpp says).
minimum_driver() {
  case "$1" in 13) echo 580 ;; 12) echo 525 ;; 11) echo 450 ;; *) echo "" ;; esac
}
if [ -n "${GPU_PROBE:-}" ]; then
  ask_probe "$GPU_PROBE"
elif command -v nvidia-smi > /dev/null; then
  # nvidia-smi's documented exit codes: 6 = no GPU found, 9 = no NVIDIA driver loaded, 12 = no NVML library.
  probe=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>&1)
  status=$?
  if [ $status -eq 0 ] && [ -n "$probe" ]; then
    gpu_count=$(printf '%s\n' "$probe" | grep -c .)
    IFS=, read -r name cc driver <<< "$(printf '%s\n' "$probe" | head -1)"
    cc=${cc# } driver=${driver# }
    gpu_name="$name, compute capability $cc, driver $driver ($gpu_count GPU(s), nvidia-smi)"
    cuda_major=$(toolkit_major)
    needed=$(minimum_driver "$cuda_major")
    if [ -z "$cuda_major" ]; then
      echo "gpu_verdict: no CUDA toolkit found (nvcc on PATH or in $cuda_home/bin);" \
           "install the CUDA toolkit to build the GPU version."
      exit 2
    elif [ -n "$needed" ] && [ "${driver%%.*}" -lt "$needed" ] 2> /dev/null; then
      reason="driver too old for this CUDA $cuda_major build (needs >= $needed; found $driver on $name)"
    fi
  elif [ $status -eq 9 ] || [ $status -eq 12 ]; then  # 12: the NVML library (part of the driver) is missing
    reason="no NVIDIA driver (nvidia-smi: $(printf '%s' "$probe" | head -1))"
  elif [ $status -eq 6 ]; then
    reason="no CUDA device (nvidia-smi: $(printf '%s' "$probe" | head -1))"
  else
    probe_failed nvidia-smi $status "$probe"
  fi
else
  # No nvidia-smi: ask the engine itself, through the probe of the GPU build.
  if build_gpu test_parity_cuda; then
    ask_probe "$build_dir/tests/test_parity_cuda"
  else
    echo "gpu_verdict: building the GPU probe ($build_dir, UNET_CUDA=ON) failed; see $build_dir/build.log"
    exit 2
  fi
fi

# Every check ends as one row: PASS, FAIL or NOT RUN, with its reason.
declare -a rows
verdict() { rows+=("$(printf '%-8s %s' "$1" "$2")"); }
print_table() {
  echo
  echo "==================== GPU verdict ===================="
  printf '%s\n' "${rows[@]}"
}
# The checks of the list, as "GPUS|NAME|COMMAND" lines (comments and blank lines dropped).
list_checks() { grep -v -E '^[[:space:]]*(#|$)' "$checks_file"; }
field() { cut -d'|' -f"$2" <<< "$1" | sed 's/^ *//; s/ *$//'; }  # field 3- is the command, '|' and all

if [ -n "$reason" ]; then
  case "$reason" in
    "driver too old"*)
      echo "gpu_verdict: the NVIDIA driver is too old: $reason. Nothing verified; update the driver and run again." ;;
    *)
      echo "gpu_verdict: no GPU on this machine: $reason. Nothing to verify here; run this on a machine with an NVIDIA GPU." ;;
  esac
  [ $check_only -eq 1 ] && exit 77
  while IFS= read -r line; do verdict "NOT RUN" "$(field "$line" 2): $reason"; done < <(list_checks)
  print_table
  echo "gpu_verdict: NOT RUN: nothing was verified ($reason)."
  exit 77
fi
echo "gpu_verdict: GPU found: $gpu_name"
[ $check_only -eq 1 ] && exit 0

log=$build_dir/verdict-logs
if build_gpu; then
  verdict PASS "build with CUDA (UNET_CUDA=ON)"
else
  verdict FAIL "build with CUDA (UNET_CUDA=ON): see $build_dir/build.log"
  while IFS= read -r line; do verdict "NOT RUN" "$(field "$line" 2): the build failed"; done < <(list_checks)
  print_table
  exit 1
fi
mkdir -p "$log"

# Helpers the check list calls (exported: each check runs in its own bash). Each prints its
# result last and exits 0 (pass), 77 (could not run) or 1 (fail).
sanitizer_check() {  # TOOL UNET: compute-sanitizer over 3 training steps of a small U-Net
  local cs
  cs=$(command -v compute-sanitizer || { [ -x "$CUDA_HOME/bin/compute-sanitizer" ] && echo "$CUDA_HOME/bin/compute-sanitizer"; })
  [ -n "$cs" ] || { echo "compute-sanitizer is not installed (it ships with the CUDA toolkit)"; return 77; }
  # Without the caching allocator: exact-size blocks freed at once, so an overrun past a
  # tensor's end or a use after free is not hidden inside a pooled, rounded-up block.
  UNET_NO_CACHING_ALLOCATOR=1 "$cs" --tool "$1" --error-exitcode 1 "$2" demo --steps 3 --size 64 --base 8 --device cuda ||
    { echo "compute-sanitizer $1 reported errors (above)"; return 1; }
  echo "compute-sanitizer $1: no errors"
}
bench_check() {  # UNET BASE JSON: the spec's thresholds at 256x256, batch 16
  "$1" bench --device cuda --base "$2" --size 256 --batch 16 --json "$3" || { echo "unet bench failed"; return 1; }
  /usr/bin/python3 - "$3" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
checks = [(j["train_samples_per_s"] >= 8, f"training {j['train_samples_per_s']:.1f} samples/s (>= 8)"),
          (j["infer_ms_per_image_b1"] <= 50, f"inference {j['infer_ms_per_image_b1']:.1f} ms/image (<= 50)"),
          (j["model_file_mb"] <= 200, f"model file {j['model_file_mb']:.1f} MB (<= 200)")]
notes = [f"training at {j['train_gflops_achieved']:.0f} GFLOP/s"
         f" of the {j['gemm_precision']} GEMM's {j['gemm_gflops']:.0f}"]
nondeterministic = j.get("train_samples_per_s_nondeterministic", 0)
if nondeterministic > 0:
    cost = 100 * (1 - j["train_samples_per_s"] / nondeterministic)
    notes.append(f"deterministic algorithms cost {cost:.0f}% of the speed")
print(", ".join([("" if ok else "FAILED: ") + text for ok, text in checks] + notes))
sys.exit(0 if all(ok for ok, _ in checks) else 1)
PY
}
pytorch_check() {  # UNET: the same model and step in PyTorch on the GPU
  "${PYTHON:-python3}" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null ||
    { echo "no PyTorch with CUDA is installed"; return 77; }
  THREADS=4 bench/compare_pytorch.sh --unet "$1" --device cuda --batch 16 || { echo "the comparison failed"; return 1; }
  echo "PyTorch comparison ran (ratios above)"
}
ddp_check() {  # BUILD: data-parallel on 2 GPUs over NCCL against one process of the global batch
  [ -x "$1/tests/test_data_parallel" ] ||
    { echo "the GPU build has no MPI, so no data-parallel test: install libopenmpi-dev (scripts/install_deps.sh)"; return 77; }
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 UNET_TEST_DEVICE=cuda mpirun -np 2 "$1/tests/test_data_parallel"
  local rc=$?
  [ $rc -eq 0 ] || { echo "test_data_parallel on 2 GPUs exited $rc (above)"; return $rc; }
  echo "2 GPUs over NCCL: identical replicas, --sync-bn equal to one process of the global batch"
}
export -f sanitizer_check bench_check pytorch_check ddp_check
export BUILD=$build_dir LOGS=$log CUDA_HOME=$cuda_home

n=0
while IFS= read -r line; do
  n=$((n + 1))
  gpus=$(field "$line" 1) name=$(field "$line" 2) command=$(field "$line" 3-)
  if [ "$gpus" -gt "$gpu_count" ] 2> /dev/null; then
    verdict "NOT RUN" "$name: needs $gpus GPUs; this machine has $gpu_count"
    continue
  fi
  out="$log/check$n.txt"
  bash -c "$command" > "$out" 2>&1 < /dev/null
  status=$?
  last=$(grep -v '^[[:space:]]*$' "$out" | tail -1)
  case $status in
    0) verdict PASS "$name ($last)" ;;
    77) verdict "NOT RUN" "$name: ${last#SKIPPED: }" ;;
    *) verdict FAIL "$name (exit $status: $last); see $out" ;;
  esac
done < <(list_checks)

print_table
not_run=$(printf '%s\n' "${rows[@]}" | grep -c '^NOT RUN')
if printf '%s\n' "${rows[@]}" | grep -q '^FAIL'; then
  echo "gpu_verdict: FAIL"
  exit 1
fi
if [ "$not_run" -gt 0 ] && [ $allow_not_run -eq 0 ]; then
  echo "gpu_verdict: FAIL: $not_run check(s) did not run (NOT RUN above); install what they need, or accept that with --allow-not-run."
  exit 1
fi
if [ "$not_run" -gt 0 ]; then echo "gpu_verdict: PASS ($not_run check(s) did not run, accepted by --allow-not-run)"
else echo "gpu_verdict: PASS (every check ran)"; fi
exit 0
