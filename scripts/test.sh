#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs dependencies, builds the release preset
# and runs every test, then builds the ASan+UBSan and TSan presets and runs the core tests there.
# MX_TEST_PRESETS="release" limits the run to some presets.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cuda_flag=()
[ -x /usr/local/cuda/bin/nvcc ] || cuda_flag=(-DMX_WITH_CUDA=OFF)

presets=${MX_TEST_PRESETS:-"release asan tsan"}
jobs=$(nproc)
for preset in $presets; do
  echo "=== preset $preset: configure + build"
  start=$(date +%s)
  if [ "$preset" = release ]; then
    cmake --preset "$preset" "${cuda_flag[@]}" >/dev/null
  else
    cmake --preset "$preset" >/dev/null
  fi
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== preset $preset: test"
  ctest --preset "$preset" -j "$jobs"
  echo "=== preset $preset: done in $(( $(date +%s) - start )) s"
done
