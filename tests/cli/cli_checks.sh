#!/usr/bin/env bash
# The `unet` command end to end on a tiny synthetic dataset: synth -> train -> eval ->
# predict, the files each writes, report.html rendered by headless Chromium, and the usage
# errors. Usage: cli_checks.sh UNET_BINARY WORK_DIR
set -euo pipefail
unet=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
expect_file() { for f in "$@"; do [ -s "$f" ] || fail "missing or empty: $f"; done; }

"$unet" synth --out "$work/data" --patients 4 --seed 3 | tee "$work/synth.log"
grep -q "4 patients" "$work/synth.log" || fail "synth summary"

"$unet" train --data "$work/data" --out "$work/run" --epochs 2 --size 32 --base 4 --batch 4 \
  --max-steps-per-epoch 3 --device cpu --loss bce+dice | tee "$work/train.log"
grep -Eq "^epoch 2: train loss [0-9.]+ Dice [0-9.]+ \| val loss [0-9.]+ Dice/slice [0-9.]+ DSC/volume [0-9.]+" "$work/train.log" \
  || fail "epoch summary line"
expect_file "$work/run/"{best.safetensors,last.safetensors,metrics.csv,config.json,report.html,loss.png,dice.png,dsc_per_volume.png,loss.svg,validation_patients.txt}
[ "$(wc -l < "$work/run/metrics.csv")" -eq 3 ] || fail "metrics.csv rows"
head -1 "$work/run/metrics.csv" | grep -q "val_dsc_volume,val_iou_slice,val_iou_volume,lr" || fail "metrics.csv has no IoU columns: $(head -1 "$work/run/metrics.csv")"

"$unet" eval --ckpt "$work/run/best.safetensors" --data "$work/data" --out "$work/eval" --device cpu | tee "$work/eval.log"
grep -Eq "DSC per volume over 4 volumes: mean [0-9.]+, median [0-9.]+" "$work/eval.log" || fail "eval summary"
expect_file "$work/eval/"{dsc_per_volume.csv,dsc_per_volume.svg,dsc_per_volume.png}

# predict on a whole case folder, and on one image of another size (not divisible by 16)
case_dir=$(find "$work/data/kaggle_3m" -mindepth 1 -maxdepth 1 -type d | sort | sed -n 1p)
"$unet" predict --ckpt "$work/run/best.safetensors" --input "$case_dir" --out "$work/pred" --device cpu | tee "$work/pred.log"
n_images=$(find "$case_dir" -name '*.tif' ! -name '*_mask.tif' | wc -l)
[ "$(find "$work/pred" -name '*_pred_mask.tif' | wc -l)" -eq "$n_images" ] || fail "one mask per image"
[ "$(find "$work/pred" -name '*_overlay.png' | wc -l)" -eq "$n_images" ] || fail "one overlay per image"
[ "$(find "$work/pred" -name '*_triptych.png' | wc -l)" -eq "$n_images" ] || fail "one triptych per image"
grep -q "ground truth found" "$work/pred.log" || fail "predict DSC with ground truth"
one=$(find "$case_dir" -name '*.tif' ! -name '*_mask.tif' | sort | sed -n 1p)
/usr/bin/python3 - "$one" "$work/odd.tif" <<'PY'
import sys
from PIL import Image
Image.open(sys.argv[1]).resize((203, 177)).save(sys.argv[2])
PY
"$unet" predict --ckpt "$work/run/best.safetensors" --input "$work/odd.tif" --out "$work/pred_odd" --device cpu
/usr/bin/python3 - "$work/pred_odd/odd_pred_mask.tif" <<'PY'
import sys
from PIL import Image
im = Image.open(sys.argv[1])
assert im.size == (203, 177), im.size
PY

# report.html renders in headless Chromium: the DOM has the charts, the triptychs and the config
if command -v chromium > /dev/null; then
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium-profile" --dump-dom "file://$work/run/report.html" > "$work/dom.html" 2> "$work/chromium.log" \
    || fail "chromium could not render report.html"
  for id in loss-chart dice-chart dsc-chart triptychs config epochs viewer-0; do
    grep -q "id=\"$id\"" "$work/dom.html" || fail "report.html lacks #$id after rendering"
  done
  [ "$(grep -o '<svg' "$work/dom.html" | wc -l)" -ge 3 ] || fail "report.html charts"
  grep -q 'src="data:image/png;base64,' "$work/dom.html" || fail "report.html triptych images"
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium-profile" --screenshot="$work/report.png" --window-size=1200,1600 \
    "file://$work/run/report.html" >> "$work/chromium.log" 2>&1 || fail "chromium screenshot"
  expect_file "$work/report.png"
  # The slice viewer: the slider's script shows one frame; #viewer-0=2 opens frame 2 of volume 0.
  chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium-profile" --dump-dom \
    "file://$work/run/report.html#viewer-0=2" > "$work/dom2.html" 2>> "$work/chromium.log" || fail "chromium: viewer"
  /usr/bin/python3 - "$work/dom.html" "$work/dom2.html" <<'PY' || fail "the slice viewer of report.html does not work"
import re, sys
from html.parser import HTMLParser
class Viewer(HTMLParser):
    def __init__(self):
        super().__init__(); self.viewers = {}; self.current = None; self.in_label = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("class") == "viewer":
            self.current = a["id"]; self.viewers[self.current] = {"frames": [], "label": ""}
        elif tag == "img" and a.get("class") == "frame" and self.current:
            self.viewers[self.current]["frames"].append((a.get("style", ""), a.get("data-caption")))
        elif tag == "span" and a.get("class") == "slice-label":
            self.in_label = True
    def handle_endtag(self, tag):
        if tag == "span": self.in_label = False
    def handle_data(self, data):
        if self.in_label and self.current: self.viewers[self.current]["label"] += data
def shown(path):
    p = Viewer(); p.feed(open(path).read())
    assert p.viewers, "no viewer in the report"
    out = {}
    for vid, v in p.viewers.items():
        vis = [i for i, (style, _) in enumerate(v["frames"]) if "block" in style]
        assert len(vis) == 1, (vid, vis)
        assert v["label"] == v["frames"][vis[0]][1], (vid, v["label"])
        assert 1 <= len(v["frames"]) <= 24
        out[vid] = vis[0]
    return out
first, second = shown(sys.argv[1]), shown(sys.argv[2])
assert all(k == 0 for k in first.values()), first
assert second["viewer-0"] == 2, second
print("slice viewer:", len(first), "volumes")
PY
else
  echo "SKIPPED: report rendering check (chromium not installed)"
  exit 77
fi

# Ctrl-C: the run saves last.safetensors and exits cleanly (130); the checkpoint is usable.
# The signal is sent once training has started (the handler is installed by then).
"$unet" train --data "$work/data" --out "$work/interrupted" --epochs 500 --size 32 --base 4 --batch 4 \
  --device cpu > "$work/sigint.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  grep -q "^epoch " "$work/sigint.log" && break
  sleep 0.1
done
kill -INT "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ $rc -eq 130 ] || fail "Ctrl-C: exit code $rc, expected 130 ($(tail -2 "$work/sigint.log"))"
grep -q "stopped" "$work/sigint.log" || fail "Ctrl-C: no 'stopped' message"
expect_file "$work/interrupted/last.safetensors" "$work/interrupted/report.html"
# The resume completes the requested epoch 1 (the signal came during it, or after it) and exits 0.
"$unet" train --resume "$work/interrupted" --epochs 1 --device cpu > "$work/resume.log" 2>&1 \
  || fail "resume after Ctrl-C: exit code $?, expected 0 ($(tail -2 "$work/resume.log"))"
grep -Eq "resuming|nothing left to train" "$work/resume.log" || fail "resume after Ctrl-C"
grep -q "^done in " "$work/resume.log" || fail "resume after Ctrl-C: no 'done' message"
# Resuming a run that has already completed the requested epochs has nothing to do: exit 0.
"$unet" train --resume "$work/interrupted" --epochs 1 --device cpu > "$work/resume2.log" 2>&1 \
  || fail "resume of a finished run: exit code $?, expected 0 ($(tail -2 "$work/resume2.log"))"
grep -q "^done in " "$work/resume2.log" || fail "resume of a finished run: no 'done' message"
grep -q "nothing left to train" "$work/resume2.log" || fail "resume of a finished run does not say nothing was left"

# usage errors name the option, and end in an error exit (1..125), not a success or a crash
fails_cleanly() {  # LOG COMMAND...: the command must exit with 1..125; its output goes to LOG
  local log=$1 rc=0
  shift
  "$@" > "$log" 2>&1 || rc=$?
  [ $rc -ge 1 ] && [ $rc -le 125 ] || fail "'$*' exited with status $rc, expected an error exit (1..125)"
}
fails_cleanly "$work/usage.log" "$unet" train --out "$work/x"
grep -q -- "--data" "$work/usage.log" || fail "missing --data not named"
fails_cleanly "$work/usage2.log" "$unet" train --data "$work/data" --out "$work/x" --loss hinge
grep -q -- "--loss" "$work/usage2.log" || fail "bad --loss not named"
fails_cleanly "$work/usage3.log" "$unet" train --data "$work/data" --out "$work/run/best.safetensors/sub"
grep -q "cannot create the output folder" "$work/usage3.log" || fail "unwritable --out not explained"
echo "cli checks: all passed"
