#!/bin/sh
# examples/c against an installed mx: builds predict.c with pkg-config alone, makes a checkpoint
# with the main job (examples/train_fashion_mnist.py, a quick run, through the Python binding of
# this checkout over the same installed libmx), and checks that the test accuracy predict prints
# equals the one Python computes for that checkpoint, to 4 decimals.
#
#   examples/c/run-test.sh PREFIX        (PREFIX: what `cmake --install … --prefix` was given)
#
# Environment: MX_PYTHON (default /usr/bin/python3), MX_FASHION_MNIST (the dataset's directory).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 PREFIX" >&2; exit 2; }
PREFIX=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PYTHON=${MX_PYTHON:-/usr/bin/python3}
DATA=${MX_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}

if [ ! -f "$DATA/t10k-images-idx3-ubyte.gz" ]; then
  echo "examples/c: SKIPPED: no Fashion-MNIST in $DATA (Debian's dataset-fashion-mnist)"
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mx-examples-c.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Build: the installed headers and libmx, found through mx.pc only.
PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" make -s -C "$WORK" -f "$HERE/Makefile" \
  CFLAGS="-std=c99 -O2 -Wall -Wextra -pedantic -Werror"

# The main job's checkpoint (1 epoch on 3000 images: seconds), Python on the installed libmx.
export MX_LIBRARY_PATH="$PREFIX/lib"
"$PYTHON" "$ROOT/examples/train_fashion_mnist.py" --num-epochs 1 --num-examples 3000 \
  --data-dir "$DATA" --out-dir "$WORK/ckpt" > "$WORK/train.log" 2>&1 || { cat "$WORK/train.log"; exit 1; }

c_line=$("$WORK/predict" "$WORK/ckpt/lenet" 1 "$DATA")
c_accuracy=$(echo "$c_line" | sed -n 's/^test accuracy \([0-9.]*\) .*/\1/p')
py_accuracy=$("$PYTHON" "$HERE/python_accuracy.py" "$WORK/ckpt/lenet" 1 "$DATA")
echo "examples/c: predict: $c_line; Python: $py_accuracy"
if [ -z "$c_accuracy" ] || [ "$c_accuracy" != "$py_accuracy" ]; then
  echo "examples/c: FAILED: predict's accuracy '$c_accuracy' differs from Python's '$py_accuracy'" >&2
  exit 1
fi
echo "examples/c: ok"
