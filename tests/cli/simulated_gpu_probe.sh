#!/bin/sh
# A stand-in for `test_parity_cuda --probe` on machines this one is not (tests/CMakeLists.txt,
# gpu_verdict_reports_*): SIMULATED_GPU picks what the real probe prints and its exit status.
case "${SIMULATED_GPU:-}" in
  old-driver)
    echo "SKIPPED: 37 CUDA parity cases (31 kernels, 6 layers) not run: driver too old for this CUDA 13.0 build (needs CUDA >= 13.0, R580 or newer; found a driver for CUDA 12.4)"
    exit 77 ;;
  no-gpu)
    echo "SKIPPED: 37 CUDA parity cases (31 kernels, 6 layers) not run: no CUDA device (the NVIDIA driver for CUDA 13.0 sees no GPU)"
    exit 77 ;;
  gpu)
    echo "GPU: NVIDIA GeForce RTX 3090, 24253 MiB, compute capability 8.6"
    exit 0 ;;
  *)
    echo "simulated_gpu_probe.sh: set SIMULATED_GPU to old-driver, no-gpu or gpu" >&2
    exit 2 ;;
esac
