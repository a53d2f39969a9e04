#!/usr/bin/env bash
# The project's test command (README, .ci/run): installs dependencies, builds the release preset
# and runs every test (C++ and the Python binding's pytest suite), installs it to a temporary
# prefix and builds and tests plugins/*, examples/c and bindings/node against that prefix
# (scripts/test-installed.sh), then builds the ASan+UBSan and
# TSan presets and runs the core tests there, then builds the libFuzzer targets (preset fuzz) and
# runs each for MX_FUZZ_SECONDS (20).
# MX_TEST_PRESETS="release" limits the run to some presets.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cuda_flag=()
[ -x /usr/local/cuda/bin/nvcc ] || cuda_flag=(-DMX_WITH_CUDA=OFF)

presets=${MX_TEST_PRESETS:-"release asan tsan fuzz"}
jobs=$(nproc)
for preset in $presets; do
  if [ "$preset" = fuzz ]; then
    echo "=== preset fuzz: configure + build the libFuzzer targets"
    start=$(date +%s)
    cmake --preset fuzz >/dev/null
    cmake --build --preset fuzz -j "$jobs"
    for target in idx csv recordio symbol_json params dlpack; do
      corpus=$(mktemp -d)
      cp tests/fuzz/corpus/$target/* "$corpus"/
      echo "=== fuzz_$target for ${MX_FUZZ_SECONDS:-20} s"
      log="$corpus.log"
      status=0
      build/fuzz/bin/fuzz_$target -max_total_time="${MX_FUZZ_SECONDS:-20}" -rss_limit_mb=2048 -timeout=10 \
        "$corpus" >"$log" 2>&1 || status=$?
      grep -E "^(Done|==[0-9]+==|SUMMARY)" "$log" || true
      [ "$status" -eq 0 ] || { tail -50 "$log"; echo "fuzz_$target failed"; exit 1; }
      rm -rf "$corpus" "$log"
    done
    echo "=== preset fuzz: done in $(( $(date +%s) - start )) s"
    continue
  fi
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
  if [ "$preset" = release ]; then
    echo "=== python binding: pytest tests/python (Debian's /usr/bin/python3)"
    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 -m pytest -q tests/python
    echo "=== installed mx: plugins/, examples/c, bindings/node against a temporary prefix"
    scripts/test-installed.sh build/release
  fi
  echo "=== preset $preset: done in $(( $(date +%s) - start )) s"
done
