#!/bin/sh
# bindings/node against an installed mx: installs the npm dependencies from package-lock.json
# (npm ci: koffi and its prebuilt binary for this platform; no compiler involved) and runs the
# tests with node's built-in runner on PREFIX/lib/libmx.so.1. The checkpoint test trains its
# model with the Python binding of this checkout (bindings/python) over the same libmx.
#
#   bindings/node/run-tests.sh PREFIX    (PREFIX: what `cmake --install … --prefix` was given)
#
# Environment: MX_PYTHON (default /usr/bin/python3), MX_FASHION_MNIST (the dataset's directory;
# without it the checkpoint test is reported skipped).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
PREFIX=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)

if [ ! -e "$PREFIX/lib/libmx.so.1" ]; then
  echo "bindings/node: no $PREFIX/lib/libmx.so.1: is $PREFIX an installed mx?" >&2
  exit 1
fi
cd "$HERE"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
MX_LIBRARY_PATH="$PREFIX/lib" node --test test/
