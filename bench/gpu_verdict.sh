#!/usr/bin/env bash
# One command for someone with a GPU: builds with CUDA, runs the CUDA backend parity suite,
# compute-sanitizer (memcheck and racecheck) over a few training steps, the benchmark with
# the spec's thresholds for base 32 and base 64, and the PyTorch comparison when a CUDA
# PyTorch is installed; then prints one verdict table.
#   bench/gpu_verdict.sh               run everything (from the repository root)
#   bench/gpu_verdict.sh --check-only  only detect the GPU: exit 0 when there is one, 77 and why
#                                      when there is none, 2 when the probe itself failed
set -uo pipefail
cd "$(dirname "$0")/.."
check_only=0
[ "${1:-}" = "--check-only" ] && check_only=1

# 1. Is there a GPU? Ask the driver the way the engine does (cudaGetDeviceCount) when a
#    CUDA build exists, else nvidia-smi. Three outcomes, each from an explicit answer:
#    GPU found (the probe names it), no GPU (exit 77 with the reason), or the probe itself
#    failed (exit 2 with its output): a probe that crashes or cannot load cuDNN proves
#    nothing either way, so it is reported as what it is.
#    GPU_PROBE names the probe binary (default build/tests/test_parity_cuda).
probe_bin=${GPU_PROBE:-build/tests/test_parity_cuda}
reason=""
probe_failed() {
  echo "gpu_verdict: the GPU probe failed: '$1' exited with status $2 without a clear answer; its output:"
  printf '%s\n' "$3" | sed 's/^/  | /'
  echo "gpu_verdict: rebuild (cmake --build build) and check that the CUDA libraries load (ldd $1)."
  exit 2
}
if [ -x "$probe_bin" ]; then
  # test_parity_cuda --probe: exit 0 and "GPU: <name>" when a GPU is usable; exit 77 and
  # "SKIPPED: ... not run: <reason>" when there is none. Anything else is a failed probe.
  probe=$("$probe_bin" --probe 2>&1)
  status=$?
  gpu_line=$(printf '%s\n' "$probe" | grep -m1 -E '^GPU: .+')
  skip_line=$(printf '%s\n' "$probe" | grep -m1 -E '^SKIPPED: .* not run: .+')
  if [ $status -eq 0 ] && [ -n "$gpu_line" ]; then
    gpu_name=${gpu_line#GPU: }
  elif [ $status -eq 77 ] && [ -n "$skip_line" ]; then
    reason=${skip_line#*not run: }
  else
    probe_failed "$probe_bin" $status "$probe"
  fi
elif command -v nvidia-smi > /dev/null; then
  # nvidia-smi's documented exit codes: 6 = no GPU found, 9 = no NVIDIA driver loaded.
  probe=$(nvidia-smi -L 2>&1)
  status=$?
  gpu_line=$(printf '%s\n' "$probe" | grep -m1 -E '^GPU [0-9]+: .+')
  if [ $status -eq 0 ] && [ -n "$gpu_line" ]; then
    gpu_name=${gpu_line#GPU *: }
  elif [ $status -eq 6 ] || [ $status -eq 9 ]; then
    reason="nvidia-smi found no usable GPU ($(printf '%s' "$probe" | head -1))"
  else
    probe_failed nvidia-smi $status "$probe"
  fi
else
  reason="no NVIDIA driver (nvidia-smi not found) and no CUDA build to ask"
fi
if [ -n "$reason" ]; then
  echo "gpu_verdict: no GPU on this machine: $reason. Nothing to verify here; run this on a machine with an NVIDIA GPU."
  exit 77
fi
echo "gpu_verdict: GPU found: $gpu_name"
[ $check_only -eq 1 ] && exit 0

declare -a rows
verdict() { rows+=("$(printf '%-58s %s' "$1" "$2")"); }
log=build-gpu/verdict-logs
cmake -S . -B build-gpu -G Ninja -DUNET_CUDA=ON > /dev/null && cmake --build build-gpu > /dev/null \
  && verdict "build with CUDA (UNET_CUDA=ON)" PASS || { verdict "build with CUDA (UNET_CUDA=ON)" FAIL; printf '%s\n' "${rows[@]}"; exit 1; }
mkdir -p "$log"

if build-gpu/tests/test_parity_cuda > "$log/parity.txt" 2>&1; then verdict "CUDA parity suite ($(tail -1 "$log/parity.txt"))" PASS
else verdict "CUDA parity suite ($(tail -1 "$log/parity.txt"))" FAIL; fi

if command -v compute-sanitizer > /dev/null || [ -x /usr/local/cuda/bin/compute-sanitizer ]; then
  cs=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  for tool in memcheck racecheck; do
    if "$cs" --tool "$tool" --error-exitcode 1 build-gpu/unet demo --steps 3 --size 64 --base 8 --device cuda > "$log/$tool.txt" 2>&1
    then verdict "compute-sanitizer $tool over 3 training steps" PASS
    else verdict "compute-sanitizer $tool over 3 training steps (see $log/$tool.txt)" FAIL; fi
  done
else
  verdict "compute-sanitizer" "NOT RUN (not installed)"
fi

for base in 32 64; do
  if build-gpu/unet bench --device cuda --base "$base" --size 256 --batch 16 --json "$log/bench$base.json" > "$log/bench$base.txt" 2>&1; then
    while read -r name value; do verdict "base $base: $name" "$value"; done < <(/usr/bin/python3 - "$log/bench$base.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"training >= 8 samples/s ({j['train_samples_per_s']:.1f})", "PASS" if j["train_samples_per_s"] >= 8 else "FAIL")
print(f"inference <= 50 ms/image ({j['infer_ms_per_image_b1']:.1f} ms)", "PASS" if j["infer_ms_per_image_b1"] <= 50 else "FAIL")
print(f"model file <= 200 MB ({j['model_file_mb']:.1f} MB)", "PASS" if j["model_file_mb"] <= 200 else "FAIL")
PY
)
  else
    verdict "base $base: benchmark (see $log/bench$base.txt)" FAIL
  fi
done

if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2> /dev/null; then
  THREADS=4 bench/compare_pytorch.sh --device cuda --batch 16 > "$log/pytorch.txt" 2>&1 \
    && verdict "PyTorch comparison (ratios in $log/pytorch.txt)" DONE || verdict "PyTorch comparison" FAIL
else
  verdict "PyTorch comparison" "NOT RUN (no CUDA PyTorch)"
fi

echo
echo "==================== GPU verdict ===================="
printf '%s\n' "${rows[@]}"
printf '%s\n' "${rows[@]}" | grep -q "FAIL$" && exit 1
exit 0
