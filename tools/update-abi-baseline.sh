#!/bin/sh
# Regenerates the ABI baselines from a release build after a deliberate ABI change (bump
# MX_ABI_MINOR / MX_BACKEND_ABI_MINOR / MX_EXT_ABI_MINOR for additions, the major for removals or
# retyping): abi/mx.abixml from libmx.so, abi/border.abixml from the border probe
# (tests/abi/border_probe.c: every struct of c_api.h, backend.h and extension.h).
# Usage: tools/update-abi-baseline.sh [build dir, default build/release]
set -eu
cd "$(dirname "$0")/.."
build=${1:-build/release}
cmake --build "$build" --target mx border_probe
abidw --headers-dir abi/include/mx --no-corpus-path --no-comp-dir-path --out-file abi/mx.abixml "$build/lib/libmx.so"
echo "wrote abi/mx.abixml from $build/lib/libmx.so"
abidw --headers-dir abi/include/mx --no-corpus-path --no-comp-dir-path --out-file abi/border.abixml "$build/tests/libborder_probe.so"
echo "wrote abi/border.abixml from $build/tests/libborder_probe.so"
echo "if a border struct changed: tests/abi/abixml_structs.py layout abi/border.abixml abi/include/mx"
echo "prints the lines of tests/abi/border_layout.c"
