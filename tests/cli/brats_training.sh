#!/usr/bin/env bash
# BraTS (3D) training from the command line: the kind is read from the folder, the reference
# program's defaults apply, metrics.csv carries the per-label and region columns, "(best)"
# means best.safetensors was written, a run resumes to the same history, and the dataset
# flags are checked. Usage: brats_training.sh UNET_BINARY WORK_DIR
source "$(dirname "$0")/lib.sh" "$@"
cd "$work"
"$unet" synth --kind brats --out data --patients 5 --volume 24 24 16 --seed 2 > synth.log
tiny=(--base 4 --patch 16 --device cpu --log-every 2)

# ---- the kind from the folder, the reference's defaults, one epoch ----
expect_status 0 train.log "$unet" train --data data --out run --epochs 1 "${tiny[@]}"
grep -q "data: 5 BraTS cases" train.log || fail "the BraTS data line is missing: $(head -5 train.log)"
grep -q "model: 3D U-Net base 4, depth 2 (brats3d layout" train.log || fail "not the 3D U-Net: $(grep model: train.log)"
grep -q "Dice label 1 .* label 2 .* label 4" train.log || fail "no per-label Dice log line"
grep -q "validation Dice WT .* TC .* ET" train.log || fail "no region Dice in the epoch line"
/usr/bin/python3 - run/config.json <<'PY' || fail "the BraTS defaults were not applied"
import json, sys
c = json.load(open(sys.argv[1]))
assert c["dataset"] == "brats" and c["lr"] == 1e-4 and c["batch"] == 1 and c["seed"] == 2024 and c["loss"] == "dice", c
assert c["model"]["layout"] == "brats3d", c["model"]
PY
head -1 run/metrics.csv | grep -q "val_dice_wt,val_dice_tc,val_dice_et,val_hd95_wt" || fail "metrics.csv header: $(head -1 run/metrics.csv)"
[ "$(wc -l < run/metrics.csv)" -eq 2 ] || fail "metrics.csv should hold one epoch"
if grep -q "(best)" train.log; then [ -s run/best.safetensors ] || fail "(best) printed but no best.safetensors"; fi
[ -s run/last.safetensors ] && [ -s run/report.html ] || fail "missing last.safetensors or report.html"

# ---- resume to 2 epochs: the first epoch's row is kept, a second one added ----
first=$(sed -n 2p run/metrics.csv)
expect_status 0 resume.log "$unet" train --resume run --epochs 2 --device cpu
[ "$(wc -l < run/metrics.csv)" -eq 3 ] || fail "after resuming, metrics.csv should hold two epochs: $(cat run/metrics.csv)"
[ "$(sed -n 2p run/metrics.csv)" = "$first" ] || fail "resuming changed the first epoch's row"

# ---- cases read from disk when they do not fit in --cache-gb: the same run, row for row ----
expect_status 0 stream.log "$unet" train --data data --out run_stream --epochs 1 --cache-gb 0.00001 "${tiny[@]}"
grep -q "read from disk when used" stream.log || fail "a tiny --cache-gb should read the cases from disk: $(grep data: stream.log)"
[ "$(cat run_stream/metrics.csv)" = "$(head -2 run/metrics.csv)" ] ||
  fail "reading the cases from disk changed the run: $(cat run_stream/metrics.csv) vs $(head -2 run/metrics.csv)"

# ---- a case whose labels are damaged: skipped up front in memory, left out when read from disk ----
cp -r data bad_data
seg=$(find bad_data -name 'BraTS20_Training_002_seg.nii*')
/usr/bin/python3 - "$seg" <<'PY'
import sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
labels = np.asarray(img.dataobj).copy()
labels[labels == 4] = 3  # 3 is no BraTS label
nib.save(nib.Nifti1Image(labels, img.affine, img.header), sys.argv[1])
PY
expect_status 0 bad_held.log "$unet" train --data bad_data --out run_bad_held --epochs 1 "${tiny[@]}"
grep -q "BraTS20_Training_002" bad_held.log || fail "the damaged case is not named: $(grep -i warn bad_held.log)"
grep -q "data: 4 BraTS cases" bad_held.log || fail "the damaged case was not skipped: $(grep data: bad_held.log)"
expect_status 0 bad_stream.log "$unet" train --data bad_data --out run_bad_stream --epochs 1 --cache-gb 0.00001 "${tiny[@]}"
grep -q "case BraTS20_Training_002 cannot be read and is left out" bad_stream.log ||
  fail "read from disk, the damaged case should be named and left out: $(grep -i warn bad_stream.log)"
expect_status 1 bad_strict.log "$unet" train --data bad_data --out run_bad_strict --epochs 1 --cache-gb 0.00001 --strict "${tiny[@]}"
grep -q "BraTS20_Training_002_seg" bad_strict.log || fail "--strict should stop naming the file: $(tail -2 bad_strict.log)"

# ---- the dataset flags ----
expect_status 1 kind.log "$unet" train --data data --out bad --dataset kaggle "${tiny[@]}"
grep -qi "kaggle_3m\|no .*tif\|TIFF" kind.log || fail "a BraTS folder read as kaggle should say what is missing: $(cat kind.log)"
mkdir -p empty
expect_status 1 empty.log "$unet" train --data empty --out bad "${tiny[@]}"
grep -q "holds neither a Kaggle LGG data set" empty.log || fail "an empty folder: $(cat empty.log)"
expect_status 2 usage.log "$unet" train --data data --out bad --dataset nifti
expect_status 1 patch.log "$unet" train --data data --out bad --base 4 --patch 18 --device cpu
grep -q -- "--patch: must be a multiple of 4" patch.log || fail "an odd patch size: $(cat patch.log)"
expect_status 1 loss.log "$unet" train --data data --out bad --loss bce "${tiny[@]}"
grep -q "bce" loss.log || fail "a binary loss for BraTS should be refused by name: $(cat loss.log)"
echo "brats_training: all checks passed"
