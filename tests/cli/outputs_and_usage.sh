#!/usr/bin/env bash
# No output silently lost, and usage errors as documented: predict never writes two inputs
# to one output, a run resumes from another working folder and with moved data, "(best)"
# means best.safetensors was written, and every usage error exits with 2 and a readable
# message before any data is loaded. Usage: outputs_and_usage.sh UNET_BINARY WORK_DIR
source "$(dirname "$0")/lib.sh" "$@"
quick=(--size 32 --base 4 --batch 4 --max-steps-per-epoch 2 --device cpu)

"$unet" synth --out "$work/data" --patients 4 --seed 3 > /dev/null

# ---- predict: the same file name in two folders gives two sets of outputs ----
cd "$work"
"$unet" train --data data --out run --epochs 1 "${quick[@]}" > train.log
mkdir -p "$work/in/a" "$work/in/b"
mapfile -t images < <(find "$work/data/kaggle_3m" -name '*.tif' ! -name '*_mask.tif' | sort)
cp "${images[0]}" "$work/in/a/img.tif"
cp "${images[5]}" "$work/in/b/img.tif"
expect_status 0 pred.log "$unet" predict --ckpt run/last.safetensors --input in --out pred --device cpu
grep -q "unet predict: 2 images" pred.log || fail "predict did not report 2 images: $(cat pred.log)"
for d in a b; do
  for f in img_pred_mask.tif img_overlay.png img_triptych.png; do
    [ -s "pred/$d/$f" ] || fail "predict: missing pred/$d/$f (the input folders are not mirrored)"
  done
done
cmp -s pred/a/img_pred_mask.tif pred/b/img_pred_mask.tif && cmp -s pred/a/img_overlay.png pred/b/img_overlay.png \
  && fail "predict: both folders' outputs are identical; one input overwrote the other"
# Two inputs that would share an output name in one folder are refused, naming both.
cp "${images[1]}" "$work/in/a/img.tiff"
expect_status 1 pred2.log "$unet" predict --ckpt run/last.safetensors --input in --out pred2 --device cpu
grep -q "img.tif" pred2.log && grep -q "img.tiff" pred2.log && grep -q "same output name" pred2.log \
  || fail "predict: a clash of output names is not explained: $(cat pred2.log)"
[ ! -e pred2/a/img_pred_mask.tif ] || fail "predict wrote outputs before refusing a clash"

# ---- resume from another working folder, and with the data moved ----
cd "$work"
"$unet" train --data data --out relrun --epochs 1 "${quick[@]}" > rel.log
mkdir -p "$work/elsewhere"
cd "$work/elsewhere"
expect_status 0 resume1.log "$unet" train --resume "$work/relrun" --epochs 2
grep -q "resuming" resume1.log || fail "resume from another folder: $(tail -3 resume1.log)"
grep -q "^epoch 2:" resume1.log || fail "resume from another folder did not train epoch 2"
mv "$work/data" "$work/data-moved"
expect_status 1 resume2.log "$unet" train --resume "$work/relrun" --epochs 3
grep -q -- "--data" resume2.log || fail "resume with moved data: --data not suggested: $(cat resume2.log)"
expect_status 0 resume3.log "$unet" train --resume "$work/relrun" --epochs 3 --data "$work/data-moved"
grep -q "^epoch 3:" resume3.log || fail "resume with --data did not train epoch 3"
# --data with other patients is refused, naming --data.
"$unet" synth --out "$work/other" --patients 5 --seed 9 > /dev/null
expect_status 1 resume4.log "$unet" train --resume "$work/relrun" --epochs 4 --data "$work/other"
grep -q -- "--data" resume4.log && grep -q "patients" resume4.log || fail "resume with other patients: $(cat resume4.log)"
# Options that define the run cannot change on resume.
expect_status 2 resume5.log "$unet" train --resume "$work/relrun" --epochs 4 --batch 8
grep -q -- "--batch" resume5.log || fail "resume --batch: $(cat resume5.log)"
mv "$work/data-moved" "$work/data"
cd "$work"

# ---- "(best)" only when best.safetensors is written ----
# Without validation patients every epoch's DSC is 0: epoch 1 is the best, epoch 2 only ties.
expect_status 0 tie.log "$unet" train --data data --out tierun --epochs 2 --val-fraction 0 "${quick[@]}"
grep -E "^epoch 1: .*\(best\)" tie.log > /dev/null || fail "epoch 1 is not marked best: $(grep '^epoch' tie.log)"
grep -E "^epoch 2: .*\(best\)" tie.log > /dev/null && fail "a tie is marked (best) but best.safetensors was not written"
/usr/bin/python3 - tierun/best.safetensors <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    meta = json.loads(f.read(n))["__metadata__"]
state = json.loads(meta["train_state"])
assert state["best_epoch"] == 1, state["best_epoch"]
PY

# ---- usage errors: status 2, a readable message, before the data is loaded ----
# The data folder does not exist, so a message about the option proves it came first.
check_usage() {  # check_usage EXPECTED_TEXT ARGS...
  local want=$1
  shift
  expect_status 2 usage.log "$unet" "$@"
  grep -q -- "$want" usage.log || fail "unet $*: message lacks '$want': $(cat usage.log)"
  grep -q "17976931348623" usage.log && fail "unet $*: unreadable message: $(cat usage.log)"
  return 0
}
check_usage "--epochs: must be at least 1, got 0" train --data /nonexistent --out x --epochs 0
check_usage "--val-fraction: must be from 0 to 1" train --data /nonexistent --out x --val-fraction 1.5
check_usage "--weight-decay: must be 0 or more" train --data /nonexistent --out x --weight-decay -0.1
check_usage "--size: must be a multiple of 16" train --data /nonexistent --out x --size 100
check_usage "--loss: 'hinge' is not one of" train --data /nonexistent --out x --loss hinge
check_usage "--data is required" train --out x
check_usage "--batch: must be at least 1" eval --ckpt x --data y --batch 0
check_usage "--threshold: must be from" predict --ckpt x --input y --out z --threshold 2
check_usage "--patients: must be at least 1" synth --out x --patients 0
check_usage "not expected" train --data x --out y --no-such-option
[ ! -e x ] || fail "a refused command created its output folder"
echo "outputs and usage checks: all passed"
