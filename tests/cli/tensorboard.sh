#!/usr/bin/env bash
# Every training run writes TensorBoard event files that TensorBoard's own reader (the tests'
# venv, made by scripts/install_deps.sh) reads back, each value equal to metrics.csv; a
# resumed run adds a file and the curves continue. 2D and BraTS.
# Usage: tensorboard.sh UNET_BINARY WORK_DIR SOURCE_DIR
source "$(dirname "$0")/lib.sh" "$1" "$2"
py="$3/.venv-tests/bin/python"
check="$3/tests/tensorboard/check_events.py"
[ -x "$py" ] || fail "$py is missing: run scripts/install_deps.sh (it makes the tests' venv with TensorBoard)"
cd "$work"
"$unet" synth --out data --patients 4 --seed 3 > /dev/null
expect_status 0 train.log "$unet" train --data data --out run --epochs 2 --size 32 --base 4 --batch 4 --max-steps-per-epoch 3 --device cpu
"$py" "$check" run 3 || fail "the 2D run's events disagree with metrics.csv"
expect_status 0 resume.log "$unet" train --resume run --epochs 3
[ "$(ls run/events.out.tfevents.* | wc -l)" -eq 2 ] || fail "resuming did not add an event file: $(ls run)"
"$py" "$check" run 3 || fail "after resuming, the events disagree with metrics.csv"

"$unet" synth --kind brats --out bdata --patients 4 --volume 24 24 16 --seed 2 > /dev/null
expect_status 0 btrain.log "$unet" train --data bdata --out brun --epochs 2 --base 4 --patch 16 --device cpu --max-steps-per-epoch 2
"$py" "$check" brun 2 || fail "the BraTS run's events disagree with metrics.csv"
echo "tensorboard: passed"
