#!/usr/bin/env bash
# `unet eval` and `unet predict` with a BraTS (3D) checkpoint, end to end on a tiny synthetic
# set: the BraTS report, eval's files, predict's NIfTI (checked with nibabel: the source
# flair's affine, its shape, labels within {0, 1, 2, 4}) and pictures (three planes; three
# panels with ground truth, two without), output clashes refused before any work, a 2D
# checkpoint on BraTS data and the reverse refused with status 2, usage errors exit with 2.
# Usage: brats_eval_predict.sh UNET_BINARY WORK_DIR
source "$(dirname "$0")/lib.sh" "$@"
cd "$work"
py=/usr/bin/python3
expect_in() { grep -q -- "$1" "$2" || fail "$3: '$1' not in $2: $(cat "$2")"; }

"$unet" synth --kind brats --out bs --patients 4 --volume 32 32 24 --seed 1 > synth.log
root=bs/MICCAI_BraTS2020_TrainingData
mapfile -t cases < <(cd "$root" && ls -d BraTS20_Training_* | sort)
[ "${#cases[@]}" -eq 4 ] || fail "synth wrote ${#cases[@]} cases, expected 4"

# ---- a tiny 3D model, and its report ----
expect_status 0 train.log "$unet" train --data bs --out run --epochs 1 --base 4 --patch 16 --sample-num 1 --device cpu
ckpt=run/last.safetensors
for id in loss-chart label-dice-chart region-dice-chart epochs cases triptychs config; do
  expect_in "id=\"$id\"" run/report.html "BraTS report.html"
done
[ "$(grep -c '<img alt="BraTS20_Training_[0-9]* \(axial\|coronal\|sagittal\)' run/report.html)" -ge 3 ] \
  || fail "BraTS report.html: no triptych in each of the three planes"
for f in loss label_dice region_dice; do [ -s "run/$f.png" ] && [ -s "run/$f.svg" ] || fail "report chart run/$f.{png,svg}"; done
if command -v chromium > /dev/null; then
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium-profile" --dump-dom \
    "file://$work/run/report.html" > dom.html 2> chromium.log || fail "chromium could not render the BraTS report.html"
  for id in label-dice-chart region-dice-chart cases triptychs; do
    grep -q "id=\"$id\"" dom.html || fail "BraTS report.html lacks #$id after rendering"
  done
  [ "$(grep -o '<svg' dom.html | wc -l)" -ge 3 ] || fail "BraTS report.html: fewer than 3 charts after rendering"
else
  echo "note: chromium not installed; the BraTS report was checked as text only"
fi

# ---- eval: a table, per_case.csv and summary.json ----
expect_status 0 eval.log "$unet" eval --checkpoint "$ckpt" --data bs --out ev --device cpu
expect_in "mean (4 cases)" eval.log "eval table"
[ "$(head -1 ev/per_case.csv)" = "case,dice_label1,dice_label2,dice_label4,dice_wt,dice_tc,dice_et,hd95_wt_mm,hd95_tc_mm,hd95_et_mm,loss,iou_wt,iou_tc,iou_et" ] \
  || fail "per_case.csv header: $(head -1 ev/per_case.csv)"
[ "$(tail -n +2 ev/per_case.csv | wc -l)" -eq 4 ] || fail "per_case.csv does not have 4 cases"
"$py" - ev/summary.json ev/per_case.csv <<'PY' || fail "summary.json"
import csv, json, math, sys
s = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert s["cases_evaluated"] == 4 and s["cases_skipped"] == [], s
assert s["patch"] == 16 and s["overlap"] == 0.5, s
for k in ["dice_label1", "dice_label2", "dice_label4", "dice_wt", "dice_tc", "dice_et", "hd95_wt", "hd95_tc", "hd95_et"]:
    assert k in s["mean"], k
# The mean Dice is the mean of the per-case column (every case counts for Dice).
wt = [float(r["dice_wt"]) for r in rows]
assert abs(s["mean"]["dice_wt"]["mean"] - sum(wt) / len(wt)) < 1e-5, (s["mean"]["dice_wt"], wt)  # csv has 6 decimals
assert all(0.0 <= v <= 1.0 for v in wt), wt
# IoU per region beside Dice: the same pair gives IoU = D / (2 - D) (6 decimals in the csv).
for r in rows:
    for region in ("wt", "tc", "et"):
        d, j = float(r["dice_" + region]), float(r["iou_" + region])
        assert abs(j - d / (2 - d)) < 2e-6, (region, d, j)
assert "iou_wt" in s["mean"], s["mean"]
PY
# --patch and --overlap override the checkpoint's.
expect_status 0 eval2.log "$unet" eval --ckpt "$ckpt" --data "$root/${cases[0]}" --out ev2 --patch 8 --overlap 0.25 --device cpu
expect_in "8^3 tiles, overlap 0.25" eval2.log "eval --patch/--overlap"
expect_in "mean (1 cases)" eval2.log "eval of one case folder"

# A case without labels is refused for eval, named, and skipped (or stops eval with --strict).
mkdir -p nolabel
cp -r "$root/${cases[0]}" "$root/${cases[1]}" nolabel/
rm "nolabel/${cases[1]}/${cases[1]}_seg.nii"*  # synth writes .nii and .nii.gz by turns
expect_status 0 eval3.log "$unet" eval --ckpt "$ckpt" --data nolabel --out ev3 --device cpu
expect_in "skipped case ${cases[1]}: .*has no segmentation file" eval3.log "eval of a case without labels"
expect_in "mean (1 cases)" eval3.log "eval goes on after a case without labels"
expect_status 1 eval4.log "$unet" eval --ckpt "$ckpt" --data nolabel --out ev4 --device cpu --strict
expect_in "${cases[1]}.*has no segmentation file" eval4.log "eval --strict"
expect_status 1 eval5.log "$unet" eval --ckpt "$ckpt" --data "nolabel/${cases[1]}" --out ev5 --device cpu
expect_in "no case that could be evaluated" eval5.log "eval with no labelled case"

# ---- predict: NIfTI with the flair's affine and pictures in three planes ----
expect_status 0 pred.log "$unet" predict --checkpoint "$ckpt" --input bs --out pred --device cpu
expect_in "unet predict: 4 cases" pred.log "predict"
for c in "${cases[@]}"; do
  for f in "${c}_pred.nii.gz" "${c}_axial.png" "${c}_coronal.png" "${c}_sagittal.png"; do
    [ -s "pred/$f" ] || fail "predict: missing pred/$f"
  done
done
# One case folder without seg: two panels (image | prediction) instead of three.
expect_status 0 pred1.log "$unet" predict --ckpt "$ckpt" --input "nolabel/${cases[1]}" --out pred1 --device cpu
expect_in "unet predict: 1 cases" pred1.log "predict of one case folder without seg"
"$py" - "$root" pred pred1 "${cases[@]}" <<'PY' || fail "predicted NIfTI or pictures"
import glob, sys
import nibabel as nib
import numpy as np
from PIL import Image
root, pred, pred1, cases = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
for c in cases:
    flair = nib.load(glob.glob(f"{root}/{c}/{c}_flair.nii*")[0])
    p = nib.load(f"{pred}/{c}_pred.nii.gz")
    assert p.shape == flair.shape, (c, p.shape, flair.shape)
    assert np.allclose(p.affine, flair.affine, atol=1e-5), (c, p.affine, flair.affine)  # float32 storage in the header
    assert np.allclose(p.header.get_zooms(), flair.header.get_zooms()), c
    labels = set(np.unique(np.asanyarray(p.dataobj)).tolist())
    assert labels <= {0, 1, 2, 4}, (c, labels)
    for plane in ["axial", "coronal", "sagittal"]:
        im = np.asarray(Image.open(f"{pred}/{c}_{plane}.png").convert("RGB"))
        # 32 x 32 x 24 voxels enlarged 6 times (at least 192 pixels): three 192-pixel-wide panels and two gaps.
        assert im.shape[1] == 3 * 192 + 2 * 4, (c, plane, im.shape)
im = np.asarray(Image.open(f"{pred1}/{cases[1]}_axial.png").convert("RGB"))
# Two panels are 388 pixels; the picture is at least 460 wide for the legend.
assert im.shape[1] == 460, im.shape
# The source seg, mapped back, equals what the reader saw (labels 0, 1, 2, 4 only).
seg = np.asanyarray(nib.load(glob.glob(f"{root}/{cases[0]}/{cases[0]}_seg.nii*")[0]).dataobj)
assert set(np.unique(seg).tolist()) <= {0, 1, 2, 4}
PY
# The labels are written as BraTS labels and drawn in their colours: a copy of the model whose
# final bias makes every voxel engine class 3 must give label 4 (never 3) everywhere, and a
# prediction panel in the documented yellow, blended half and half with the grey image.
"$py" - "$ckpt" forced4.safetensors <<'PY' || fail "could not write the forced checkpoint"
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
begin, end = header["final.bias"]["data_offsets"]
assert header["final.bias"]["dtype"] == "F32" and end - begin == 16, header["final.bias"]
data = bytearray(raw[8 + n:])
data[begin:end] = struct.pack("<4f", 0.0, 0.0, 0.0, 1000.0)
open(sys.argv[2], "wb").write(raw[:8 + n] + bytes(data))
PY
expect_status 0 pred4.log "$unet" predict --ckpt forced4.safetensors --input "$root/${cases[0]}" --out pred4 --device cpu
"$py" - pred4 "${cases[0]}" <<'PY' || fail "label 4 is not written as 4 or not drawn in yellow"
import sys
import nibabel as nib
import numpy as np
from PIL import Image
out, c = sys.argv[1], sys.argv[2]
labels = np.unique(np.asanyarray(nib.load(f"{out}/{c}_pred.nii.gz").dataobj))
assert labels.tolist() == [4], labels
im = np.asarray(Image.open(f"{out}/{c}_axial.png").convert("RGB")).astype(int)
top, size, gap = 20, 192, 4  # title row, 32 voxels x 6, gap between panels
image = im[top:top + size, 0:size]
pred = im[top:top + size, 2 * (size + gap):2 * (size + gap) + size]
grey = image[..., 0]
assert (image[..., 1] == grey).all() and (image[..., 2] == grey).all(), "the image panel is not grey"
# yellow (255, 255, 0) over grey g: ((g + 255) // 2, (g + 255) // 2, g // 2)
assert (pred[..., 0] == (grey + 255) // 2).all() and (pred[..., 1] == (grey + 255) // 2).all(), "red/green of yellow"
assert (pred[..., 2] == grey // 2).all(), "blue of yellow"
PY

# One NIfTI file is not a case: the message says to give the case folder.
flair=$(ls "$root/${cases[0]}/${cases[0]}_flair.nii"*)
expect_status 1 pred3.log "$unet" predict --ckpt "$ckpt" --input "$flair" --out pred3 --device cpu
expect_in "is one file; a BraTS case is a folder" pred3.log "predict of one NIfTI file"
# Two cases with one name in two folders would write the same files: refused before any work.
mkdir -p dup/a dup/b
cp -r "$root/${cases[0]}" dup/a/
cp -r "$root/${cases[0]}" dup/b/
expect_status 1 pred2.log "$unet" predict --ckpt "$ckpt" --input dup --out pred2 --device cpu
expect_in "same case name" pred2.log "predict: a clash of output names"
[ ! -e "pred2/${cases[0]}_pred.nii.gz" ] || fail "predict wrote outputs before refusing a clash"

# ---- a 2D checkpoint with BraTS data, and the 3D checkpoint with Kaggle data: status 2 ----
"$unet" synth --out kd --patients 2 --seed 3 > /dev/null
"$unet" train --data kd --out run2d --epochs 1 --size 32 --base 4 --batch 4 --max-steps-per-epoch 1 --val-fraction 0 \
  --device cpu > train2d.log
expect_status 2 mm1.log "$unet" eval --ckpt run2d/last.safetensors --data bs --device cpu
expect_in "holds BraTS NIfTI volumes, but run2d/last.safetensors holds a 2D U-Net" mm1.log "eval 2D checkpoint on BraTS data"
expect_status 2 mm2.log "$unet" predict --ckpt run2d/last.safetensors --input "$root/${cases[0]}" --out mm2 --device cpu
expect_in "holds BraTS NIfTI volumes" mm2.log "predict 2D checkpoint on a BraTS case"
expect_status 2 mm3.log "$unet" eval --ckpt "$ckpt" --data kd --device cpu
expect_in "holds Kaggle LGG TIFF slices, but $ckpt holds a 3D U-Net" mm3.log "eval 3D checkpoint on Kaggle data"
tif=$(find kd -name '*.tif' ! -name '*_mask.tif' | sort | sed -n 1p)  # sed reads all: no SIGPIPE under pipefail
expect_status 2 mm4.log "$unet" predict --ckpt "$ckpt" --input "$tif" --out mm4 --device cpu
expect_in "holds Kaggle LGG TIFF slices" mm4.log "predict 3D checkpoint on a TIFF"
expect_status 2 mm5.log "$unet" eval --ckpt "$ckpt" --data bs --dataset kaggle --device cpu
expect_in "3D U-Net" mm5.log "eval --dataset kaggle with a 3D checkpoint"
[ ! -e mm2 ] && [ ! -e mm4 ] || fail "a refused predict created its output folder"

# ---- usage errors: status 2 with the option named ----
expect_status 2 u1.log "$unet" eval --ckpt "$ckpt" --data bs --size 64 --device cpu
expect_in "--size: applies to 2D models only" u1.log "eval --size with a 3D model"
expect_status 2 u2.log "$unet" eval --ckpt "$ckpt" --data bs --patch 18 --device cpu
expect_in "--patch: must be a multiple of 4" u2.log "eval --patch not a multiple of 2^depth"
expect_status 2 u3.log "$unet" eval --ckpt "$ckpt" --data bs --overlap 1 --device cpu
expect_in "--overlap" u3.log "eval --overlap 1"
expect_status 2 u4.log "$unet" predict --ckpt "$ckpt" --input bs --device cpu
expect_in "--out" u4.log "predict without --out"
expect_status 2 u5.log "$unet" predict --ckpt "$ckpt" --input bs --out u5 --threshold 0.3 --device cpu
expect_in "--threshold: applies to 2D models only" u5.log "predict --threshold with a 3D model"
expect_status 2 u6.log "$unet" eval --ckpt run2d/last.safetensors --data kd --patch 16 --device cpu
expect_in "--patch: applies to BraTS (3D) models only" u6.log "eval --patch with a 2D model"
expect_status 2 u7.log "$unet" eval --checkpoint "$ckpt" --device cpu
expect_in "--data" u7.log "eval without --data"
echo "OK: BraTS eval and predict"
