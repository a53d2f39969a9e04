#!/bin/sh
# Compares libmx.so with the committed libabigail baseline (abi/mx.abixml). Any change to what
# the baseline holds (a removed or retyped function, a changed struct member) fails; functions
# added since the baseline are allowed (they are minor-version additions).
# After a deliberate change: tools/update-abi-baseline.sh.
set -u
lib=$1; baseline=$2; headers=$3
if ! command -v abidiff >/dev/null; then echo "abidiff not installed (apt-get install abigail-tools)"; exit 1; fi
out=$(abidiff --no-added-syms --headers-dir2 "$headers" "$baseline" "$lib" 2>&1); rc=$?
echo "$out"
# abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
if [ $((rc & 3)) -ne 0 ]; then echo "abidiff failed to run (status $rc)"; exit 1; fi
if [ $((rc & 12)) -ne 0 ]; then
  echo "ABI change against $baseline: restore compatibility, or bump the ABI version and run tools/update-abi-baseline.sh"
  exit 1
fi
echo "ABI compatible with $baseline"
