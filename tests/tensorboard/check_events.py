"""Reads a run folder's TensorBoard event files with TensorBoard's own reader and checks every
curve against the run's metrics.csv: each epoch's value at the epoch's last global step (one
x axis for all curves; TensorBoard drops points after a step that goes back), the curve
"epoch" there, and the per-step training loss once per step, steps 1, 2, ... without a gap. Run with the tests' venv (.venv-tests, made by scripts/install_deps.sh).

  check_events.py RUN_DIR STEPS_PER_EPOCH
"""
import csv
import glob
import math
import os
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

run, steps_per_epoch = sys.argv[1], int(sys.argv[2])
files = glob.glob(os.path.join(run, "events.out.tfevents.*"))
assert files, f"no events.out.tfevents.* in {run}"
acc = EventAccumulator(run, size_guidance={"scalars": 0})  # 0: keep every value
acc.Reload()
tags = set(acc.Tags()["scalars"])
rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
assert rows, "metrics.csv is empty"
brats = "val_dice_wt" in rows[0]
columns = {"train/loss": "train_loss", "val/loss": "val_loss", "lr": "lr", "epoch": "epoch"}
if brats:
    columns.update({"val/dice_WT": "val_dice_wt", "val/dice_TC": "val_dice_tc", "val/dice_ET": "val_dice_et",
                    "val/dice_label1": "val_dice_l1", "val/dice_label2": "val_dice_l2", "val/dice_label4": "val_dice_l4",
                    "train/dice_label1": "train_dice_l1", "val/mean_region_dice": "val_region_dice",
                    "val/iou_WT": "val_iou_wt", "val/iou_TC": "val_iou_tc", "val/iou_ET": "val_iou_et"})
else:
    columns.update({"train/dice": "train_dice", "val/dice_per_slice": "val_dice_slice",
                    "val/dsc_per_volume": "val_dsc_volume", "val/iou_per_slice": "val_iou_slice",
                    "val/iou_per_volume": "val_iou_volume"})
checked = 0
for tag, column in columns.items():
    assert tag in tags, f"{tag} missing; the file has {sorted(tags)}"
    events = {e.step: e.value for e in acc.Scalars(tag)}
    for row in rows:
        epoch, want = int(row["epoch"]), float(row[column])
        step = epoch * steps_per_epoch
        assert step in events, f"{tag}: no value at step {step} (the end of epoch {epoch}); has {sorted(events)}"
        # metrics.csv prints 6 decimals; the event holds a float32 (7 significant digits).
        assert abs(events[step] - want) <= 5e-7 + 1e-6 * abs(want), f"{tag} epoch {epoch}: {events[step]} vs {want}"
        checked += 1
steps = acc.Scalars("train/loss_per_step")
assert [e.step for e in steps] == list(range(1, len(rows) * steps_per_epoch + 1)), [e.step for e in steps]
assert all(math.isfinite(e.value) and e.value > 0 for e in steps)
print(f"{len(files)} event file(s): {checked} epoch values and {len(steps)} step losses agree with metrics.csv")
