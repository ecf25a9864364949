#!/usr/bin/env bash
# The dependency check must not pass silently. Leave ocl-icd-opencl-dev out of the install
# list (the package whose absence broke a fresh machine: libdnnl-dev only recommends it, yet
# dnnl's CMake config requires OpenCL) and the check must fail, naming the OpenCL library
# and header and the packages they come from.
# Usage: catches_missing_package.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
work=$3
mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

"$source_dir/scripts/install_deps.sh" --list > "$work/full_list.txt"
grep -qx ocl-icd-opencl-dev "$work/full_list.txt" \
  || fail "ocl-icd-opencl-dev is not in 'scripts/install_deps.sh --list'; this test removes it from the list"
grep -vx ocl-icd-opencl-dev "$work/full_list.txt" > "$work/list_without_opencl.txt"

set +e
/usr/bin/python3 "$source_dir/tests/deps/check_deps.py" --source-dir "$source_dir" --build-dir "$build_dir" \
  --packages-from "$work/list_without_opencl.txt" > "$work/check.log" 2>&1
rc=$?
set -e
cat "$work/check.log"
[ $rc -eq 1 ] || fail "the check exited with $rc without ocl-icd-opencl-dev in the list; expected 1 (a file is not covered)"
grep -q "^  /usr/lib/x86_64-linux-gnu/libOpenCL.so " "$work/check.log" || fail "the check did not name libOpenCL.so"
grep -q "package ocl-icd-opencl-dev: install it through scripts/install_deps.sh (add ocl-icd-opencl-dev to the list)" \
  "$work/check.log" || fail "the check did not name the package ocl-icd-opencl-dev"
grep -q "^  /usr/include/CL/cl.h " "$work/check.log" || fail "the check did not name the OpenCL header CL/cl.h"
grep -q "package opencl-c-headers: " "$work/check.log" || fail "the check did not name the package opencl-c-headers"
grep -q "^deps check: adding ocl-icd-opencl-dev to the list" "$work/check.log" \
  || fail "the check did not say that adding ocl-icd-opencl-dev covers both"
echo "the dependency check caught the missing ocl-icd-opencl-dev"
