#!/usr/bin/env bash
# unet-engine and PyTorch, the same model and step, one after the other in one run, and the
# ratios. Usage: bench/compare_pytorch.sh [--base 32] [--size 256] [--batch 4] [--device cpu|cuda]
# [--unet BINARY] (default ./build/unet; the GPU verdict passes its CUDA build, build-gpu/unet)
# The 3D U-Net: bench/compare_pytorch.sh --model brats3d [--base 32] [--patch 128]
# [--volume 240 240 155] [--batch 1] [--warmup N] [--steps N] [--volumes N] [--no-layers]
# (run from the repository root after building; OMP threads default to 2 as on the spec's machine)
set -euo pipefail
cd "$(dirname "$0")/.."
model=2d base=32 size=256 batch="" device=cpu threads=${THREADS:-2} unet=./build/unet
patch=128 volume="240 240 155" warmup="" steps="" volumes="" layers=""
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --unet) unet=$2; shift 2 ;;
    --patch) patch=$2; shift 2 ;;
    --volume) volume="$2 $3 $4"; shift 4 ;;
    --warmup) warmup=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --volumes) volumes=$2; shift 2 ;;
    --no-layers) layers=--no-layers; shift ;;
    *) echo "compare_pytorch.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ "$model" = brats3d ]; then
  # The options both programs share; unset ones keep each program's own default.
  common=(--base "$base" --device "$device")
  [ -n "$batch" ] && common+=(--batch "$batch")
  [ -n "$warmup" ] && common+=(--warmup "$warmup")
  [ -n "$steps" ] && common+=(--steps "$steps")
  [ -n "$volumes" ] && common+=(--infer-iters "$volumes")
  # shellcheck disable=SC2086  # $volume is three numbers
  OMP_NUM_THREADS=$threads "$unet" bench --model brats3d "${common[@]}" --patch "$patch" --volume $volume $layers --json "$out/unet.json"
  echo
  # shellcheck disable=SC2086
  /usr/bin/python3 bench/pytorch_reference.py --model brats3d "${common[@]}" --patch "$patch" --volume $volume --threads "$threads" --json "$out/torch.json" > /dev/null
  /usr/bin/python3 - "$out/unet.json" "$out/torch.json" <<'PY'
import json, sys
u, t = (json.load(open(p)) for p in sys.argv[1:3])
rows = [("training samples/s", "train_samples_per_s", True), ("training s/step", "train_s_per_step", False),
        ("whole-volume inference s", "infer_s_per_volume", False), ("peak host RSS MB", "peak_host_rss_mb", False)]
if u["device"] == "cuda":
    rows += [("peak device MB (allocator)", "peak_device_mb", False), ("training peak device MB", "train_peak_device_mb", False)]
print(f"{'':32s} {'unet-engine':>12s} {t['engine']:>16s} {'ratio':>8s}")
for name, key, higher_better in rows:
    ratio = u[key] / t[key] if higher_better else t[key] / u[key]
    print(f"{name:32s} {u[key]:12.3f} {t[key]:16.3f} {ratio:7.2f}x")
v = u["volume"]
print("(ratio > 1: unet-engine is better; 3D U-Net base %d, %d^3 patches, batch %d, volume %dx%dx%d in %d tiles, %s)"
      % (u["base"], u["patch"], u["batch"], v[0], v[1], v[2], u["tiles"], u["device"]))
print("training memory estimate (unet/training_memory.hpp): %.0f MB" % u["train_memory_estimate_mb"])
PY
  exit 0
fi
[ -n "$batch" ] || batch=4
OMP_NUM_THREADS=$threads "$unet" bench --base "$base" --size "$size" --batch "$batch" --device "$device" --json "$out/unet.json"
echo
/usr/bin/python3 bench/pytorch_reference.py --base "$base" --size "$size" --batch "$batch" --device "$device" --threads "$threads" --json "$out/torch.json" > /dev/null
/usr/bin/python3 - "$out/unet.json" "$out/torch.json" <<'PY'
import json, sys
u, t = (json.load(open(p)) for p in sys.argv[1:3])
rows = [("training samples/s", "train_samples_per_s", True), ("inference ms/image (batch 1)", "infer_ms_per_image_b1", False),
        ("inference images/s (batch 16)", "infer_images_per_s_b16", True), ("peak host RSS MB", "peak_host_rss_mb", False),
        ("model file MB", "model_file_mb", False)]
print(f"{'':32s} {'unet-engine':>12s} {t['engine']:>16s} {'ratio':>8s}")
for name, key, higher_better in rows:
    ratio = u[key] / t[key] if higher_better else t[key] / u[key]
    print(f"{name:32s} {u[key]:12.2f} {t[key]:16.2f} {ratio:7.2f}x")
print("(ratio > 1: unet-engine is better; base %d, %dx%d, batch %d, %s)" % (u["base"], u["size"], u["size"], u["batch"], u["device"]))
PY
