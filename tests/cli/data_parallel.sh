#!/usr/bin/env bash
# `mpirun -np 2 unet train`: the same run as one process (with --sync-bn to 1e-3 in every figure of
# metrics.csv; without it within 5% on the losses), rank 0 alone writes the run folder, a batch that
# does not divide is refused on every rank, a stop asked on one rank stops both with
# last.safetensors and the report written, a resume on 2 or on 1 process continues the run, and
# the 3D BraTS trainer on 2 processes follows one process.
# Usage: data_parallel.sh UNET_BINARY WORK_DIR MPIEXEC
source "$(dirname "$0")/lib.sh" "$1" "$2"
mpiexec=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mpi2() { "$mpiexec" -np 2 --oversubscribe "$@"; }
cd "$work"
"$unet" synth --out data --patients 8 --seed 3 > /dev/null
train=(train --data data --epochs 3 --size 32 --base 4 --batch 8 --max-steps-per-epoch 4 --device cpu --loss bce)

expect_status 0 one.log "$unet" "${train[@]}" --out one --sync-bn
expect_status 0 two.log mpi2 "$unet" "${train[@]}" --out two --sync-bn
expect_status 0 two_ddp.log mpi2 "$unet" "${train[@]}" --out two_ddp
grep -q "data-parallel: 2 processes over MPI, 4 samples each of every global batch of 8" two.log ||
  fail "the 2-process run did not say how it splits the batch: $(head -5 two.log)"
for run in two two_ddp; do
  [ "$(ls $run/events.out.tfevents.* | wc -l)" -eq 1 ] || fail "$run: rank 0 alone writes TensorBoard events: $(ls $run)"
  for f in metrics.csv last.safetensors best.safetensors report.html config.json validation_patients.txt; do
    [ -s "$run/$f" ] || fail "$run/$f is missing"
  done
  [ "$(grep -c 'epoch [0-9]*: train loss' $run.log)" -eq 3 ] ||
    fail "$run: each epoch's line once (rank 0 alone prints): $(grep -c 'train loss' $run.log)"
done
grep -q '"ranks": 2' two/config.json || fail "config.json does not record the 2 processes"
# Every number of metrics.csv: with --sync-bn 2 processes of 4 are one of 8 up to float summation
# order (relative 1e-3 leaves room for 12 Adam steps of it); per-process BatchNorm within 5%.
/usr/bin/python3 - one/metrics.csv two/metrics.csv two_ddp/metrics.csv <<'EOF' || fail "the 2-process runs differ from the one-process run"
import csv, sys
one, sync, ddp = ([r for r in csv.DictReader(open(p))] for p in sys.argv[1:])
assert len(one) == len(sync) == len(ddp) == 3, "3 epochs each"
for a, b, c in zip(one, sync, ddp):
    for k in ("train_loss", "val_loss", "val_dice_slice", "val_dsc_volume"):
        x, y, z = float(a[k]), float(b[k]), float(c[k])
        assert abs(x - y) <= 1e-3 * max(abs(x), 1e-2), f"--sync-bn epoch {a['epoch']} {k}: {y} vs {x} for one process"
        if k.endswith("loss"):
            assert abs(x - z) <= 0.05 * abs(x), f"per-process BatchNorm epoch {a['epoch']} {k}: {z} vs {x}"
print("metrics agree")
EOF

# --batch is the global batch: 5 does not divide among 2 processes; every rank says so and ends.
expect_status 1 odd.log mpi2 "$unet" train --data data --out odd --epochs 1 --size 32 --base 4 --batch 5 --device cpu
grep -q "global batch of 5 does not divide among 2 processes" odd.log || fail "batch 5 on 2 processes: $(tail -3 odd.log)"
grep -q "MPI_ABORT" odd.log && fail "a refusal on every rank should end them together, not through MPI_Abort"

# Commands other than train and bench refuse to run as several copies (they would write the same files).
expect_status 1 predict.log mpi2 "$unet" predict --ckpt two/best.safetensors --input data --out pred
grep -q "only 'unet train' and 'unet bench' run on several processes" predict.log || fail "predict under mpirun: $(tail -3 predict.log)"

# A stop asked on one rank (SIGINT to rank 1) stops both after the same step; rank 0 saves and reports.
mpi2 "$unet" train --data data --out stop --epochs 200 --size 32 --base 4 --batch 4 --device cpu > stop.log 2>&1 &
launcher=$!
for _ in $(seq 100); do grep -q "epoch 2" stop.log 2> /dev/null && break; sleep 0.2; done
rank1=""
for p in $(pgrep -f -- "--out stop"); do
  tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && rank1=$p
done
[ -n "$rank1" ] || fail "rank 1 not found"
kill -INT "$rank1"
set +e
wait "$launcher"
rc=$?
set -e
[ "$rc" -eq 130 ] || fail "a stop exits with 130 (got $rc): $(tail -3 stop.log)"
grep -q "stopped at epoch" stop.log || fail "the stop was not reported: $(tail -3 stop.log)"
[ -s stop/last.safetensors ] && [ -s stop/report.html ] || fail "after the stop: $(ls stop)"

# Resume on 2 processes, then on 1: the run continues, and the change of process count is explained.
expect_status 0 resume2.log mpi2 "$unet" train --resume two --epochs 4
grep -q "epoch 4: train loss" resume2.log || fail "the 2-process resume did not train epoch 4: $(tail -3 resume2.log)"
expect_status 0 resume1.log "$unet" train --resume two --epochs 5
grep -q "the run trained on 2 process(es) and continues on 1" resume1.log || fail "no word on the process count: $(head -5 resume1.log)"
grep -q "epoch 5: train loss" resume1.log || fail "the 1-process resume did not train epoch 5"
# The 3D BraTS trainer: 2 processes of 1 patch with --sync-bn follow one process of 2 (cross-entropy,
# a mean over voxels, splits exactly); the ranks share the validation (2 cases, one each), rank 0
# alone writes.
"$unet" synth --kind brats --out bdata --patients 10 --volume 24 24 16 --seed 2 > /dev/null
btrain=(train --data bdata --epochs 2 --base 4 --patch 16 --batch 2 --device cpu --max-steps-per-epoch 3 --loss ce --sync-bn)
expect_status 0 bone.log "$unet" "${btrain[@]}" --out bone
expect_status 0 btwo.log mpi2 "$unet" "${btrain[@]}" --out btwo
grep -q "data-parallel: 2 processes over MPI, 1 samples each of every global batch of 2" btwo.log || fail "BraTS split: $(head -8 btwo.log)"
grep -q "; the ranks share the validation cases" btwo.log || fail "BraTS: validation not shared: $(head -8 btwo.log)"
grep -q "2 validation cases" btwo.log || fail "BraTS: 2 validation cases expected: $(head -8 btwo.log)"
[ -s btwo/report.html ] && [ "$(ls btwo/events.out.tfevents.* | wc -l)" -eq 1 ] || fail "BraTS run folder: $(ls btwo)"
/usr/bin/python3 - bone/metrics.csv btwo/metrics.csv <<'EOF' || fail "the 2-process BraTS run differs from the one-process run"
import csv, sys
one, two = ([r for r in csv.DictReader(open(p))] for p in sys.argv[1:])
assert len(one) == len(two) == 2, "2 epochs each"
for a, b in zip(one, two):
    for k in ("train_loss", "val_loss", "val_dice_wt", "val_dice_tc", "val_dice_et", "val_hd95_wt", "val_region_dice"):
        x, y = float(a[k]), float(b[k])
        assert abs(x - y) <= 1e-3 * max(abs(x), 1e-2), f"epoch {a['epoch']} {k}: {y} vs {x} for one process"
print("BraTS metrics agree")
EOF
echo "data_parallel: passed"
