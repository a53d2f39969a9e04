#!/bin/sh
# Regenerates abi/mx.abixml from a release build after a deliberate ABI change (bump
# MX_ABI_MINOR for additions, MX_ABI_MAJOR for removals/retyping, in abi/include/mx/version.h).
set -eu
cd "$(dirname "$0")/.."
lib=${1:-build/release/lib/libmx.so}
abidw --headers-dir abi/include/mx --no-corpus-path --out-file abi/mx.abixml "$lib"
echo "wrote abi/mx.abixml from $lib"
