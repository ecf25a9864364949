#!/usr/bin/env bash
# The GPU and the CPU agree on what users run: a model trained on the GPU predicts on the GPU
# and on the CPU with masks equal on >= 99.9% of pixels; eval gives the same DSC within 0.01 on
# both; the GPU's checkpoint resumes on the CPU and a CPU checkpoint resumes on the GPU. Without
# a usable GPU it says why and exits 77 (ctest: Skipped). Usage: gpu_cpu_agreement.sh UNET GPU_PROBE WORK
unet=$(realpath "$1")
probe=$2
source "$(dirname "$0")/require_gpu.sh"
require_gpu "$probe"
source "$(dirname "$0")/lib.sh" "$1" "$3"
cd "$work"
quick=(--size 64 --base 8 --batch 8 --max-steps-per-epoch 20)
"$unet" synth --out data --patients 6 --seed 5 > /dev/null
expect_status 0 gpu_train.log "$unet" train --data data --out gpu_run --epochs 2 "${quick[@]}" --device cuda
grep -q "on cuda\|cuda" gpu_train.log || fail "training did not say it ran on cuda: $(head -5 gpu_train.log)"
for d in cuda cpu; do
  expect_status 0 pred_$d.log "$unet" predict --ckpt gpu_run/best.safetensors --input data/kaggle_3m --out pred_$d --device $d
  expect_status 0 eval_$d.log "$unet" eval --ckpt gpu_run/best.safetensors --data data --out eval_$d --device $d
done
/usr/bin/python3 - <<'PY' || fail "predict on cuda and cpu disagree on more than 0.1% of pixels"
import glob, numpy as np, tifffile
files = sorted(glob.glob("pred_cuda/**/*_pred_mask.tif", recursive=True))
assert files, "no masks"
differ = total = 0
for f in files:
    a = tifffile.imread(f) > 0
    b = tifffile.imread(f.replace("pred_cuda", "pred_cpu", 1)) > 0
    differ += int((a != b).sum()); total += a.size
print(f"masks differ on {differ} of {total} pixels")
assert differ <= 0.001 * total
PY
dsc() { grep -o "DSC per volume over [0-9]* volumes: mean [0-9.]*" "$1" | awk '{print $NF}' | head -1; }
a=$(dsc eval_cuda.log); b=$(dsc eval_cpu.log)
[ -n "$a" ] && [ -n "$b" ] || fail "eval printed no DSC: $(tail -2 eval_cuda.log) / $(tail -2 eval_cpu.log)"
awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit d <= 0.01 ? 0 : 1 }' \
  || fail "eval DSC on cuda $a and on cpu $b differ by more than 0.01"
# GPU checkpoint -> CPU, and CPU checkpoint -> GPU, by resuming.
expect_status 0 resume_cpu.log "$unet" train --resume gpu_run --epochs 3 --device cpu
grep -q "^epoch 3:" resume_cpu.log || fail "the GPU run did not resume on the CPU: $(tail -3 resume_cpu.log)"
expect_status 0 cpu_train.log "$unet" train --data data --out cpu_run --epochs 1 "${quick[@]}" --device cpu
expect_status 0 resume_gpu.log "$unet" train --resume cpu_run --epochs 2 --device cuda
grep -q "^epoch 2:" resume_gpu.log || fail "the CPU run did not resume on the GPU: $(tail -3 resume_gpu.log)"
echo "GPU/CPU agreement: passed (predict, eval DSC $a on cuda vs $b on cpu, resume both ways)"
