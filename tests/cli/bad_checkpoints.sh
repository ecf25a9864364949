#!/usr/bin/env bash
# `unet eval`, `unet predict` and `unet train --resume` on hostile or broken checkpoints: each
# must exit with status 1 and an error on stderr that names the file and the defect. The
# files are made from a real checkpoint of a quick run, edited with Python's struct and json.
# Usage: bad_checkpoints.sh UNET_BINARY WORK_DIR
set -euo pipefail
unet=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

"$unet" synth --out "$work/data" --patients 4 --seed 3 > "$work/synth.log"
"$unet" train --data "$work/data" --out "$work/run" --epochs 1 --size 32 --base 4 --batch 4 \
  --max-steps-per-epoch 2 --device cpu > "$work/train.log"
good="$work/run/last.safetensors"
[ -s "$good" ] || fail "the quick run wrote no checkpoint"
case_dir=$(find "$work/data/kaggle_3m" -mindepth 1 -maxdepth 1 -type d | sort | sed -n 1p)

# A broken reader may try to allocate terabytes; a memory limit makes that fail fast
# (not with AddressSanitizer, which reserves a large address space up front).
memory_limit=""
if ! ldd "$unet" 2> /dev/null | grep -q libasan; then memory_limit="ulimit -v 8000000;"; fi

# expect_error NAME EXPECTED_TEXT COMMAND...: exit status 1, stderr holds the text.
expect_error() {
  local name=$1 expected=$2
  shift 2
  set +e
  (eval "$memory_limit" && "$@") > "$work/$name.out" 2> "$work/$name.err"
  local rc=$?
  set -e
  echo "$name: exit $rc: $(head -c 400 "$work/$name.err")"
  [ $rc -eq 1 ] || fail "$name: exit status $rc, expected 1"
  grep -qF -- "$expected" "$work/$name.err" || fail "$name: stderr lacks '$expected'"
}

# check_ckpt NAME FILE DEFECT: eval and predict both refuse FILE, naming it and DEFECT.
check_ckpt() {
  local name=$1 file=$2 defect=$3
  expect_error "eval_$name" "$file" \
    "$unet" eval --ckpt "$file" --data "$work/data" --out "$work/eval_$name" --device cpu
  grep -qF -- "$defect" "$work/eval_$name.err" || fail "eval_$name: stderr lacks '$defect'"
  expect_error "predict_$name" "$file" \
    "$unet" predict --ckpt "$file" --input "$case_dir" --out "$work/pred_$name" --device cpu
  grep -qF -- "$defect" "$work/predict_$name.err" || fail "predict_$name: stderr lacks '$defect'"
}

# rewrite OUT PYTHON: OUT is the good checkpoint with its header `h` (a dict), its data
# `data` and its length field `n` edited by the Python statements given.
rewrite() {
  /usr/bin/python3 - "$good" "$1" "$2" <<'PY'
import json, struct, sys
src, out, edit = sys.argv[1:4]
raw = open(src, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
h = json.loads(raw[8:8 + n])
data = raw[8 + n:]
text = None  # the header text; None: json.dumps(h)
exec(edit)
if text is None:
    text = json.dumps(h)
if n == struct.unpack("<Q", raw[:8])[0]:
    n = len(text)
open(out, "wb").write(struct.pack("<Q", n) + text.encode() + data)
PY
}

# A folder.
mkdir -p "$work/folder.safetensors"
check_ckpt folder "$work/folder.safetensors" "is a folder, not a checkpoint file"

# A file that cannot be opened. chmod 000 does not stop root, who gets a path through a file.
if [ "$(id -u)" -ne 0 ]; then
  cp "$good" "$work/locked.safetensors"
  chmod 000 "$work/locked.safetensors"
  check_ckpt unreadable "$work/locked.safetensors" "cannot open for reading: Permission denied"
  chmod 644 "$work/locked.safetensors"
else
  echo "running as root, where chmod 000 still reads: using a path whose parent is a file instead"
  check_ckpt unreadable "$good/child.safetensors" "cannot open for reading: Not a directory"
fi

# An empty file.
: > "$work/empty.safetensors"
check_ckpt empty "$work/empty.safetensors" "shorter than the 8-byte header length"

# 3,000 entries aliasing the bytes of the largest tensor (before: 3,000 copies in memory).
rewrite "$work/alias.safetensors" '
name = max((k for k in h if k != "__metadata__"), key=lambda k: h[k]["data_offsets"][1] - h[k]["data_offsets"][0])
for i in range(3000):
    h["alias%d" % i] = dict(h[name])'
check_ckpt alias "$work/alias.safetensors" "overlap; each tensor must have bytes of its own"

# Two tensors of the same shape sharing bytes (before: loaded silently as wrong weights).
rewrite "$work/alias_pair.safetensors" '
h["encoder1.enc1norm1.bias"]["data_offsets"] = h["encoder1.enc1norm1.weight"]["data_offsets"]'
check_ckpt alias_pair "$work/alias_pair.safetensors" "overlap; each tensor must have bytes of its own"

# Header length fields: beyond the file, and a valid header padded past the 16 MiB cap.
rewrite "$work/huge_length.safetensors" 'n = 1 << 62'
check_ckpt huge_length "$work/huge_length.safetensors" "header length 4611686018427387904 exceeds the file size"
rewrite "$work/long_header.safetensors" 'text = json.dumps(h).ljust(16 * 1024 * 1024 + 8)'
check_ckpt long_header "$work/long_header.safetensors" "is over the limit of 16777216 bytes"

# A model config out of the U-Net's range.
rewrite "$work/depth40.safetensors" '
c = json.loads(h["__metadata__"]["config"]); c["depth"] = 40; h["__metadata__"]["config"] = json.dumps(c)'
check_ckpt depth40 "$work/depth40.safetensors" "depth 40 is out of range; this U-Net supports depth 1 to 10"

# Resuming a run whose last.safetensors lacks adam_steps (before: "map::at").
cp -r "$work/run" "$work/run_no_steps"
rewrite "$work/run_no_steps/last.safetensors" 'del h["__metadata__"]["adam_steps"]'
expect_error resume_no_steps "$work/run_no_steps/last.safetensors" \
  "$unet" train --resume "$work/run_no_steps" --device cpu
grep -qF "the metadata has no 'adam_steps'" "$work/resume_no_steps.err" || fail "resume_no_steps: no field named"

echo "all hostile checkpoints refused with exit status 1, naming the file and the defect"
