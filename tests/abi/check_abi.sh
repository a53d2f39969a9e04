#!/bin/sh
# Compares a library with its committed libabigail baseline: libmx.so with abi/mx.abixml
# (abi_abidiff), the border probe (tests/abi/border_probe.c: every struct of c_api.h, backend.h and
# extension.h) with abi/border.abixml (abi_border).
# Compatible: functions added, members appended at the end of a struct, enumerators added.
# Everything else the baseline records fails: a function removed or retyped, a struct member
# inserted, removed, reordered or retyped, a struct that shrank. (A renamed member alone passes, as
# abidiff finds the binaries compatible; it still breaks every plugin's source.)
# With --every-struct, the baseline must also record every struct the headers define (the probe's).
# After a deliberate change: tools/update-abi-baseline.sh.
set -u
lib=$1; baseline=$2; headers=$3; every_struct=${4:-}
here=$(dirname "$0")
for tool in abidiff abidw python3; do
  if ! command -v $tool >/dev/null; then echo "$tool not installed (apt-get install abigail-tools python3)"; exit 1; fi
done
if [ "$every_struct" = --every-struct ]; then
  python3 "$here/abixml_structs.py" missing "$baseline" "$headers" || exit 1
fi
out=$(abidiff --no-added-syms --headers-dir2 "$headers" "$baseline" "$lib" 2>&1); rc=$?
echo "$out"
# abidiff's exit status is a bit field: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
if [ $((rc & 3)) -ne 0 ]; then echo "abidiff failed to run (status $rc)"; exit 1; fi
if [ "$rc" -eq 0 ]; then echo "ABI compatible with $baseline"; exit 0; fi

# abidiff reports a member appended at the end of a struct as a change (4), exactly as it does an
# inserted one. Which it is, the two corpora's struct layouts say (abixml_structs.py: the old
# members must be an exact prefix of the new ones); abidiff, told to ignore the structs that grew
# that way, must then find nothing else.
if [ $((rc & 8)) -eq 0 ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  abidw --headers-dir "$headers" --no-corpus-path --no-comp-dir-path --out-file "$tmp/new.abixml" "$lib" || exit 1
  if python3 "$here/abixml_structs.py" compare "$baseline" "$tmp/new.abixml" "$headers" "$tmp/grown.supp"; then
    rest=$(abidiff --no-added-syms --suppressions "$tmp/grown.supp" --headers-dir2 "$headers" "$baseline" "$lib" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ]; then echo "ABI compatible with $baseline: structs grew at the end only"; exit 0; fi
    echo "Besides the structs that grew at the end:"
    echo "$rest"
  fi
fi
echo "ABI change against $baseline: restore compatibility, or bump the ABI version and run tools/update-abi-baseline.sh"
exit 1
