#!/usr/bin/env bash
# unet-engine and PyTorch, the same model and step, one after the other in one run, and the
# ratios. Usage: bench/compare_pytorch.sh [--base 32] [--size 256] [--batch 4] [--device cpu|cuda]
# [--unet BINARY] (default ./build/unet; the GPU verdict passes its CUDA build, build-gpu/unet)
# (run from the repository root after building; OMP threads default to 2 as on the spec's machine)
set -euo pipefail
cd "$(dirname "$0")/.."
base=32 size=256 batch=4 device=cpu threads=${THREADS:-2} unet=./build/unet
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --unet) unet=$2; shift 2 ;;
    *) echo "compare_pytorch.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d)
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
rm -rf "$out"
