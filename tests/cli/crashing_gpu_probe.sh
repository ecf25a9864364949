#!/bin/sh
# A stand-in for a broken GPU probe (tests/CMakeLists.txt, gpu_verdict_reports_a_failed_probe):
# it prints what a half-loaded CUDA binary might print, then aborts.
echo "error while loading shared libraries: libcudnn.so.9: cannot open shared object file"
kill -ABRT $$
