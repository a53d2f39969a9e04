#!/usr/bin/env bash
# The GPU check: one prepared run for a machine with a GPU (CI and scripts/test.sh have none, so the
# GPU tests report SKIPPED there). Builds nothing: it runs the GPU tests of a carried build with
# their output, and fails when one fails or skips (a skip on a GPU machine means no GPU was seen).
#   MX_BUILD_DIR  the build to run (default build/release, built with CUDA)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${MX_BUILD_DIR:-build/release}
[ -d "$build" ] && build=$(cd "$build" && pwd)
# The build may have been made under another path than this copy: point discovery at its plugins.
export MX_BACKEND_PATH="$build/lib"
[ -f "$build/lib/libmx_kvstore_nccl.so" ] && export MX_KVSTORE_DEVICE_COMM="$build/lib/libmx_kvstore_nccl.so"

nvidia-smi -L || echo "gpu-check: nvidia-smi failed (no driver?)"
status=0
# name, binary, gtest filter: kvstore_gpu_test's two groups run apart, so its GPU group cannot pass
# by skipping while the no-GPU error tests pass.
run() {
  local name=$1 bin="$build/bin/$2" filter=$3
  echo "=== $name"
  if [ ! -x "$bin" ]; then
    echo "=== $name: MISSING ($bin; build the release preset with CUDA first)"
    status=1
    return
  fi
  local missing
  missing=$(ldd "$bin" "$build"/lib/*.so 2>/dev/null | grep "not found" | sort -u)
  [ -z "$missing" ] || printf 'gpu-check: libraries missing on this machine:\n%s\n' "$missing"
  local rc=0
  "$bin" --gtest_filter="$filter" || rc=$?
  case $rc in
    0) echo "=== $name: passed" ;;
    77) echo "=== $name: every test SKIPPED (no usable GPU seen)"; status=1 ;;
    *) echo "=== $name: FAILED (exit $rc)"; status=1 ;;
  esac
}
run cuda_test cuda_test '*'
run kvstore_gpu_test kvstore_gpu_test 'KVStoreGpu.*'
run kvstore_nccl_errors kvstore_gpu_test 'KVStoreNcclErrors.*'
[ $status -eq 0 ] && echo "gpu-check: all passed" || echo "gpu-check: FAILED"
exit $status
