#!/usr/bin/env bash
# The whole U-Net trained on the GPU: exit status 0, every loss finite, the loss falls. On a
# machine without a usable GPU it exits 77 (ctest: Skipped) and says why; it never passes
# without running. Usage: gpu_end_to_end.sh UNET_BINARY GPU_PROBE
set -uo pipefail
unet=$1
probe=$2
probe_out=$("$probe" --probe 2>&1)
case $? in
  0) ;;
  77) echo "SKIPPED: no GPU: $(echo "$probe_out" | sed -n 1p)"; exit 77 ;;
  *) echo "FAIL: the GPU probe failed: $probe_out"; exit 1 ;;
esac
out=$("$unet" demo --device cuda --steps 12 --size 64 --base 8 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: unet demo on cuda exited with $rc"; exit 1; }
echo "$out" | grep -q "on cuda" || { echo "FAIL: the demo did not run on cuda"; exit 1; }
echo "$out" | grep -Eiq "loss +(nan|inf|-nan)" && { echo "FAIL: a loss is not finite"; exit 1; }
echo "$out" | grep -q "(falling)" || { echo "FAIL: the loss does not fall"; exit 1; }
echo "gpu end to end: passed"
