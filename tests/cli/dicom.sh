#!/usr/bin/env bash
# DICOM from the command line: `unet convert --dicom` writes kaggle_3m-style slices, `unet
# predict` on the series gives the same masks as on those slices and a NIfTI with the series'
# geometry (read back by nibabel), stacking 3 series as channels, labels attached from a NIfTI,
# bad input named / refused with --strict, and no patient identifier in any output or log.
# Usage: dicom.sh UNET_BINARY WORK_DIR DICOM_FIXTURES (made by tests/dicom/make_series.py)
source "$(dirname "$0")/lib.sh" "$1" "$2"
dcm=$(realpath "$3")
py=/usr/bin/python3
cd "$work"

"$unet" synth --out data --patients 4 --seed 3 > /dev/null
"$unet" train --data data --out run --epochs 1 --size 32 --base 4 --batch 4 --max-steps-per-epoch 2 --device cpu > train.log

# ---- convert: one case per series, slices numbered along the normal ----
expect_status 0 convert.log "$unet" convert --dicom "$dcm/good" --out conv
grep -q "not a readable DICOM file" convert.log || fail "convert: README.txt not named: $(cat convert.log)"
grep -q "3 case(s), 20 slices" convert.log || fail "convert: $(tail -2 convert.log)"

# ---- predict on the series and on the converted slices: the same masks ----
# The barely trained model gives probabilities in a narrow band on these noise images; the
# threshold is the first (in steps of 0.005) whose masks are neither empty nor full, so that
# the comparison below can see a wrong slice order or a transposed plane.
threshold=""
for t in $(seq 0.300 0.005 0.600); do
  rm -rf probe
  "$unet" predict --ckpt run/last.safetensors --input "$dcm/good" --out probe --threshold "$t" --device cpu > probe.log
  counts=$(grep -o "[0-9]* tumour voxels" probe.log | awk '{print $1}' | tr '\n' ' ')
  if echo "$counts" | grep -q "[1-9]" && [ "$(echo "$counts" | tr ' ' '\n' | grep -c '^0$')" -lt 3 ]; then
    full=$(grep -c "of 20 x 24.*: 4320 tumour\|of 16 x 16.*: 1536 tumour\|of 12 x 10.*: 600 tumour" probe.log || true)
    [ "$full" -eq 0 ] && { threshold=$t; break; }
  fi
done
[ -n "$threshold" ] || fail "no threshold in 0.3..0.6 gives masks that are neither empty nor full"
expect_status 0 pdcm.log "$unet" predict --ckpt run/last.safetensors --input "$dcm/good" --out pred_dcm --threshold "$threshold" --device cpu --gif
expect_status 0 ptif.log "$unet" predict --ckpt run/last.safetensors --input conv --out pred_tif --threshold "$threshold" --device cpu --gif
"$py" - "$dcm" <<'PY' || fail "predict on DICOM and on its TIFF slices disagree, or the NIfTI geometry is wrong"
import json, sys, glob, os
import numpy as np, nibabel as nib, tifffile
exp = json.load(open(os.path.join(sys.argv[1], "expected.json")))
ones = 0; total = 0
for s in exp["series"]:
    if s["name"] == "G":
        continue
    img = nib.load(f"pred_dcm/{s['id']}/{s['id']}_pred.nii.gz")
    assert img.shape == (s["cols"], s["rows"], s["slices"]), (s["name"], img.shape)
    assert np.allclose(img.affine, np.array(s["affine"]), atol=1e-4), (s["name"], img.affine, s["affine"])  # 4-6 digit DICOM strings
    vol = np.asarray(img.dataobj)
    for k in range(s["slices"]):
        tif = tifffile.imread(f"pred_tif/{s['id']}/{s['id']}_{k + 1}_pred_mask.tif") > 0
        assert np.array_equal(vol[:, :, k].T > 0, tif), (s["name"], k)
        assert os.path.getsize(f"pred_dcm/{s['id']}/{s['id']}_{k + 1}_overlay.png") > 0
    ones += int((vol > 0).sum()); total += vol.size
    # --gif: one frame per slice, tumour colour exactly where the mask is, for the series
    # (OUT/<id>/<id>.gif) and for its TIFF slices (OUT/<id>/<id>.gif, mirroring conv/<id>/). Pillow gives later frames as
    # RGB; the palette's greys have R == G and its tumour colours R > G.
    from PIL import Image, ImageSequence
    for gif in (f"pred_dcm/{s['id']}/{s['id']}.gif", f"pred_tif/{s['id']}/{s['id']}.gif"):
        frames = [np.array(f.convert("RGB")).astype(int) for f in ImageSequence.Iterator(Image.open(gif))]
        assert len(frames) == s["slices"], (gif, len(frames))
        for k, fr in enumerate(frames):
            assert np.array_equal(fr[:, :, 0] != fr[:, :, 1], vol[:, :, k].T > 0), (gif, k)
assert 0 < ones < total, f"masks are all {'empty' if ones == 0 else 'full'}: the comparison would prove nothing"
print("masks agree;", ones, "of", total, "voxels tumour")
PY

# ---- channels: three folders of one series each; another grid is refused ----
"$py" - "$dcm/good" <<'PY'
import os, sys, shutil, pydicom
for f in sorted(os.listdir(sys.argv[1])):
    p = os.path.join(sys.argv[1], f)
    try:
        uid = pydicom.dcmread(p, stop_before_pixels=True, force=True).SeriesInstanceUID
    except Exception:
        continue
    os.makedirs(f"split/{uid}", exist_ok=True)
    shutil.copy(p, f"split/{uid}/{f}")
PY
mapfile -t split < <(ls -d split/* | sort)
[ ${#split[@]} -eq 3 ] || fail "splitting the series: ${#split[@]} folders"
small=""
for d in "${split[@]}"; do [ "$(ls "$d" | wc -l)" -eq 6 ] && small=$d; done
expect_status 0 stack.log "$unet" convert --dicom "$small" --dicom "$small" --dicom "$small" --out stacked --id stack1
[ "$(ls stacked/stack1/*.tif | wc -l)" -eq 6 ] || fail "stacked convert: $(ls stacked/stack1)"
other=""
for d in "${split[@]}"; do [ "$d" != "$small" ] && other=$d; done
expect_status 1 stack2.log "$unet" convert --dicom "$other" --dicom "$small" --dicom "$small" --out stacked2
grep -q "differ in size\|different voxel grids" stack2.log || fail "channels of other grids: $(cat stack2.log)"

# ---- labels from a NIfTI on the series' grid become masks ----
one=$(basename "$(ls -d pred_dcm/series_* | head -1)")
src=""
for d in "${split[@]}"; do
  "$unet" convert --dicom "$d" --out probe_$$ > probe.log && grep -q "^$one " probe.log && src=$d
  rm -rf probe_$$
done
[ -n "$src" ] || fail "no split folder gives $one"
expect_status 0 labels.log "$unet" convert --dicom "$src" --out labelled --labels "pred_dcm/$one/${one}_pred.nii.gz" --id case1
"$py" - "$one" <<'PY' || fail "masks from --labels differ from the label volume"
import sys, glob, numpy as np, nibabel as nib, tifffile
vol = np.asarray(nib.load(f"pred_dcm/{sys.argv[1]}/{sys.argv[1]}_pred.nii.gz").dataobj)
for k in range(vol.shape[2]):
    m = tifffile.imread(f"labelled/case1/case1_{k + 1}_mask.tif") > 0
    assert np.array_equal(m, vol[:, :, k].T > 0), k
PY
# The same masks as a folder of TIFFs (numbered like the slices) give the same mask files.
mkdir -p maskdir && cp labelled/case1/*_mask.tif maskdir/
expect_status 0 masks.log "$unet" convert --dicom "$src" --out masked --mask maskdir --id case1
for f in labelled/case1/*_mask.tif; do cmp -s "$f" "masked/case1/$(basename "$f")" || fail "--mask: $(basename "$f") differs"; done
rm maskdir/case1_2_mask.tif
expect_status 1 masks2.log "$unet" convert --dicom "$src" --out masked2 --mask maskdir
grep -q "no mask for slice 2" masks2.log || fail "--mask with a slice missing: $(cat masks2.log)"
other=""
for d in "${split[@]}"; do [ "$d" != "$src" ] && other=$d; done
expect_status 1 labels2.log "$unet" convert --dicom "$other" --out labelled2 --labels "pred_dcm/$one/${one}_pred.nii.gz"
grep -q "is .* x .* x .*; the series is\|another affine" labels2.log || fail "labels of another grid: $(cat labels2.log)"

# ---- training data: each series converted with its labels, then trained on ----
for d in "${split[@]}"; do
  "$unet" convert --dicom "$d" --out probe_id > probe.log
  id=$(grep -o "^series_[0-9a-f]*" probe.log | head -1)
  rm -rf probe_id
  expect_status 0 "conv_$id.log" "$unet" convert --dicom "$d" --out trainset --labels "pred_dcm/$id/${id}_pred.nii.gz"
done
[ "$(ls trainset | wc -l)" -eq 3 ] || fail "trainset: $(ls trainset)"
expect_status 0 dtrain.log "$unet" train --data trainset --out drun --epochs 1 --size 32 --base 4 --batch 2 --device cpu
grep -q "^epoch 1:" dtrain.log || fail "training on converted DICOM: $(tail -3 dtrain.log)"

# ---- bad input: named and skipped; --strict stops; --id needs one series ----
expect_status 0 bad.log "$unet" predict --ckpt run/last.safetensors --input "$dcm/bad" --out pred_bad --device cpu
for what in "slice(s) are missing" "same position" "JPEG 2000" "notes.txt"; do
  grep -q "$what" bad.log || fail "predict on the bad folder does not name '$what': $(cat bad.log)"
done
expect_status 1 strict.log "$unet" predict --ckpt run/last.safetensors --input "$dcm/bad" --out pred_strict --device cpu --strict
expect_status 1 id.log "$unet" predict --ckpt run/last.safetensors --input "$dcm/good" --out pred_id --device cpu --id x
grep -q -- "--id" id.log && grep -q "3 series" id.log || fail "--id with 3 series: $(cat id.log)"

# ---- privacy: no patient identifier anywhere in what was written or printed ----
for secret in $("$py" -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['phi']))" "$dcm/expected.json" | tr '^' ' '); do
  if grep -rl --binary-files=text -- "$secret" conv pred_dcm pred_tif stacked labelled trainset drun pred_bad ./*.log; then
    fail "the patient identifier '$secret' was written into the files above"
  fi
done
echo "dicom CLI: all checks passed"
