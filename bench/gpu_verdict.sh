#!/usr/bin/env bash
# One command for someone with a GPU: builds with CUDA, runs the CUDA backend parity suite,
# compute-sanitizer (memcheck and racecheck) over a few training steps, the benchmark with
# the spec's thresholds for base 32 and base 64, and the PyTorch comparison when a CUDA
# PyTorch is installed; then prints one verdict table.
#   bench/gpu_verdict.sh                  run everything (from the repository root)
#   bench/gpu_verdict.sh --allow-not-run  the same, but checks that could not run (no
#                                         compute-sanitizer, no CUDA PyTorch) do not fail it
#   bench/gpu_verdict.sh --check-only     only detect the GPU: exit 0 when there is one, 77 and why
#                                         when there is none or its driver is too old, 2 when the
#                                         probe itself failed
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

# 1. Is there a GPU? Asked independently of build/ (which may be a CPU-only build): GPU_PROBE
#    when given (a probe binary, as in the tests), else nvidia-smi, else the probe of the GPU
#    build this script makes (build-gpu/tests/test_parity_cuda --probe, the engine's own
#    cudaGetDeviceCount). Outcomes, each from an explicit answer: GPU found (name, compute
#    capability, driver), no GPU or a driver too old (exit 77 with the reason), or the probe
#    itself failed (exit 2 with its output): a probe that crashes or cannot load cuDNN proves
#    nothing either way, so it is reported as what it is.
reason=""
gpu_name=""
probe_failed() {
  echo "gpu_verdict: the GPU probe failed: '$1' exited with status $2 without a clear answer; its output:"
  printf '%s\n' "$3" | sed 's/^/  | /'
  echo "gpu_verdict: rebuild (cmake --build build-gpu) and check that the CUDA libraries load (ldd $1)."
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
  mkdir -p build-gpu
  cmake -S . -B build-gpu -G Ninja -DUNET_CUDA=ON > build-gpu/build.log 2>&1 &&
    cmake --build build-gpu ${1:+--target "$1"} >> build-gpu/build.log 2>&1
}
if [ -n "${GPU_PROBE:-}" ]; then
  ask_probe "$GPU_PROBE"
elif command -v nvidia-smi > /dev/null; then
  # nvidia-smi's documented exit codes: 6 = no GPU found, 9 = no NVIDIA driver loaded.
  probe=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader 2>&1)
  status=$?
  if [ $status -eq 0 ] && [ -n "$probe" ]; then
    IFS=, read -r name cc driver <<< "$(printf '%s\n' "$probe" | head -1)"
    gpu_name="$name, compute capability${cc}, driver${driver} (nvidia-smi)"
  elif [ $status -eq 6 ] || [ $status -eq 9 ]; then
    reason="nvidia-smi found no usable GPU ($(printf '%s' "$probe" | head -1))"
  else
    probe_failed nvidia-smi $status "$probe"
  fi
else
  # No nvidia-smi: ask the engine itself, through the probe of the GPU build.
  if build_gpu test_parity_cuda; then
    ask_probe build-gpu/tests/test_parity_cuda
  else
    echo "gpu_verdict: building the GPU probe (build-gpu, UNET_CUDA=ON) failed; see build-gpu/build.log"
    exit 2
  fi
fi
if [ -n "$reason" ]; then
  case "$reason" in
    "driver too old"*)
      echo "gpu_verdict: the NVIDIA driver is too old: $reason. Nothing verified; update the driver and run again." ;;
    *)
      echo "gpu_verdict: no GPU on this machine: $reason. Nothing to verify here; run this on a machine with an NVIDIA GPU." ;;
  esac
  exit 77
fi
echo "gpu_verdict: GPU found: $gpu_name"
[ $check_only -eq 1 ] && exit 0

# Every check ends as one row: PASS, FAIL or NOT RUN, with its reason.
declare -a rows
verdict() { rows+=("$(printf '%-9s %s' "$1" "$2")"); }
print_table() {
  echo
  echo "==================== GPU verdict ===================="
  printf '%s\n' "${rows[@]}"
}
log=build-gpu/verdict-logs
if build_gpu; then
  verdict PASS "build with CUDA (UNET_CUDA=ON)"
else
  verdict FAIL "build with CUDA (UNET_CUDA=ON): see build-gpu/build.log"
  for check in "CUDA parity suite" "whole-model parity" "one wait per training step" "GPU/CPU agreement" \
               "compute-sanitizer memcheck" "compute-sanitizer racecheck" "benchmark base 32" \
               "benchmark base 64" "PyTorch comparison"; do verdict "NOT RUN" "$check: the build failed"; done
  print_table
  exit 1
fi
mkdir -p "$log"

if build-gpu/tests/test_parity_cuda > "$log/parity.txt" 2>&1; then verdict PASS "CUDA parity suite ($(tail -1 "$log/parity.txt"))"
else verdict FAIL "CUDA parity suite ($(tail -1 "$log/parity.txt")); see $log/parity.txt"; fi

# Each further GPU test: one line, "name|command"; exit 0 = PASS, anything else = FAIL (the
# tests exit 77 only without a GPU, which this point is not reached without).
for entry in "whole-model parity|build-gpu/tests/test_model_parity_cuda" \
             "one wait per training step|build-gpu/tests/test_gpu_step" \
             "GPU/CPU agreement|tests/cli/gpu_cpu_agreement.sh build-gpu/unet build-gpu/tests/test_parity_cuda build-gpu/gpu_cpu_agreement"; do
  name=${entry%%|*}
  file="$log/$(echo "$name" | tr ' /' '__').txt"
  if ${entry#*|} > "$file" 2>&1; then verdict PASS "$name ($(tail -1 "$file"))"
  else verdict FAIL "$name ($(tail -1 "$file")); see $file"; fi
done

cs=$(command -v compute-sanitizer || { [ -x /usr/local/cuda/bin/compute-sanitizer ] && echo /usr/local/cuda/bin/compute-sanitizer; })
for tool in memcheck racecheck; do
  if [ -z "$cs" ]; then
    verdict "NOT RUN" "compute-sanitizer $tool: compute-sanitizer is not installed (it ships with the CUDA toolkit)"
  # Without the caching allocator: exact-size blocks freed at once, so an overrun past a
  # tensor's end or a use after free is not hidden inside a pooled, rounded-up block.
  elif UNET_NO_CACHING_ALLOCATOR=1 "$cs" --tool "$tool" --error-exitcode 1 build-gpu/unet demo --steps 3 --size 64 --base 8 --device cuda > "$log/$tool.txt" 2>&1; then
    verdict PASS "compute-sanitizer $tool over 3 training steps"
  else
    verdict FAIL "compute-sanitizer $tool over 3 training steps; see $log/$tool.txt"
  fi
done

for base in 32 64; do
  if build-gpu/unet bench --device cuda --base "$base" --size 256 --batch 16 --json "$log/bench$base.json" > "$log/bench$base.txt" 2>&1; then
    while read -r status name; do verdict "$status" "base $base: $name"; done < <(/usr/bin/python3 - "$log/bench$base.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print("PASS" if j["train_samples_per_s"] >= 8 else "FAIL", f"training >= 8 samples/s ({j['train_samples_per_s']:.1f})")
print("PASS" if j["infer_ms_per_image_b1"] <= 50 else "FAIL", f"inference <= 50 ms/image ({j['infer_ms_per_image_b1']:.1f} ms)")
print("PASS" if j["model_file_mb"] <= 200 else "FAIL", f"model file <= 200 MB ({j['model_file_mb']:.1f} MB)")
PY
)
  else
    verdict FAIL "base $base: benchmark; see $log/bench$base.txt"
  fi
done

if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
  if THREADS=4 bench/compare_pytorch.sh --unet build-gpu/unet --device cuda --batch 16 > "$log/pytorch.txt" 2>&1
  then verdict PASS "PyTorch comparison ran (ratios in $log/pytorch.txt)"
  else verdict FAIL "PyTorch comparison; see $log/pytorch.txt"; fi
else
  verdict "NOT RUN" "PyTorch comparison: no PyTorch with CUDA is installed"
fi

print_table
not_run=$(printf '%s\n' "${rows[@]}" | grep -c '^NOT RUN')
if printf '%s\n' "${rows[@]}" | grep -q '^FAIL'; then exit 1; fi
if [ "$not_run" -gt 0 ] && [ $allow_not_run -eq 0 ]; then
  echo "gpu_verdict: FAIL: $not_run check(s) did not run (NOT RUN above); install what they need, or accept that with --allow-not-run."
  exit 1
fi
if [ "$not_run" -gt 0 ]; then echo "gpu_verdict: PASS ($not_run check(s) did not run, accepted by --allow-not-run)"
else echo "gpu_verdict: PASS (every check ran)"; fi
exit 0
