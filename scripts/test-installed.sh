#!/usr/bin/env bash
# What people who build on mx see: installs a build (default build/release) into a temporary
# prefix, then builds every project under plugins/, examples/c and bindings/node from copies
# outside the source tree against that prefix alone (find_package(mx), pkg-config, libmx.so.1),
# and runs their tests: each plugin's own ctest, the example_ops pytest, the conformance suite
# with the dnnl plugin taking the ops it serves, the Python custom-op tests on the installed libmx,
# the Node package's tests and the C example. Called by scripts/test.sh after the release preset.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
build=${1:-build/release}
work=$(mktemp -d "${TMPDIR:-/tmp}/mx-installed.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
python=/usr/bin/python3

echo "=== install $build -> $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
# The package must not point back into the source or build tree.
if grep -rl -e "$src" "$prefix/lib/cmake" "$prefix/lib/pkgconfig" "$prefix/include"; then
  echo "installed package files name the source tree"; exit 1
fi
nlibs=$(ldd "$prefix/lib/libmx.so.1" | wc -l)
echo "ldd libmx.so.1: $nlibs libraries"
[ "$nlibs" -le 15 ] || { ldd "$prefix/lib/libmx.so.1"; echo "libmx links more than 15 libraries"; exit 1; }
"$prefix/bin/mx-info" > "$work/mx-info.txt"
grep -E "^(mx |  [a-z]+ +/)|kernels also" "$work/mx-info.txt"

for dir in plugins/*/; do
  name=$(basename "$dir")
  echo "=== plugins/$name: configure + build against $prefix"
  cp -r "$dir" "$work/src-$name"  # a copy: nothing can reach into the source tree by a relative path
  cmake -S "$work/src-$name" -B "$work/build-$name" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$work/build-$name"
  ctest --test-dir "$work/build-$name" --output-on-failure
  cmake --install "$work/build-$name" >/dev/null
done

echo "=== plugins/example_ops: pytest on the installed libmx"
MX_LIBRARY_PATH="$prefix/lib" PYTHONPATH="$src/bindings/python" \
  MX_EXAMPLE_OPS="$work/build-example_ops/libmx_example_ops.so" \
  "$python" -m pytest -q -p no:cacheprovider "$work/src-example_ops/tests"

echo "=== conformance suite with plugins/dnnl installed (each backend forced first in turn)"
status=0
MX_BACKEND_PATH="$prefix/lib/mx/libmx_backend_dnnl.so" "$build/bin/conformance_test" --gtest_brief=1 \
  > "$work/conformance.log" 2>&1 || status=$?
grep -E "backend dnnl|PASSED|FAILED|tests ran" "$work/conformance.log" || true
[ "$status" -eq 0 ] || { tail -40 "$work/conformance.log"; echo "conformance with dnnl failed"; exit 1; }
grep -q "conformance cases run on it" "$work/conformance.log" || { echo "dnnl ran no conformance case"; exit 1; }

echo "=== Python on the installed libmx (dnnl loaded from lib/mx): conformance, custom ops"
MX_LIBRARY_PATH="$prefix/lib" "$python" -m pytest -q -p no:cacheprovider \
  tests/python/test_conformance.py tests/python/test_custom_op.py

echo "=== bindings/node"
command -v node >/dev/null || { echo "node is not installed (scripts/setup.sh installs it)"; exit 1; }
bindings/node/run-tests.sh "$prefix"

echo "=== examples/c"
examples/c/run-test.sh "$prefix"
echo "=== installed mx: all passed"
