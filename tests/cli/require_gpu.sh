# Sourced by the GPU test scripts: `require_gpu PROBE` returns when the probe (test_parity_cuda
# --probe) finds a usable GPU; without one it says why and exits 77 (ctest: Skipped), and a
# probe that fails otherwise fails the test. Never a silent pass.
require_gpu() {
  local out
  out=$("$1" --probe 2>&1)
  case $? in
    0) ;;
    77) echo "SKIPPED: no GPU: $(echo "$out" | sed -n 1p)"; exit 77 ;;
    *) echo "FAIL: the GPU probe failed: $out"; exit 1 ;;
  esac
}
