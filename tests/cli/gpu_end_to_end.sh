#!/usr/bin/env bash
# The whole U-Net trained on the GPU: exit status 0, every loss finite, the loss falls. On a
# machine without a usable GPU it exits 77 (ctest: Skipped) and says why; it never passes
# without running. Usage: gpu_end_to_end.sh UNET_BINARY GPU_PROBE
set -uo pipefail
unet=$1
probe=$2
source "$(dirname "$0")/require_gpu.sh"
require_gpu "$probe"
out=$("$unet" demo --device cuda --steps 12 --size 64 --base 8 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: unet demo on cuda exited with $rc"; exit 1; }
echo "$out" | grep -q "on cuda" || { echo "FAIL: the demo did not run on cuda"; exit 1; }
echo "$out" | grep -Eiq "loss +(nan|inf|-nan)" && { echo "FAIL: a loss is not finite"; exit 1; }
echo "$out" | grep -q "(falling)" || { echo "FAIL: the loss does not fall"; exit 1; }
echo "gpu end to end: passed"
