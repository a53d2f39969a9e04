#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh runs into build/gpu.tar.xz (git-ignored), small enough to carry to a
# lent GPU machine (64 MiB with the working tree): the binaries the check runs, the libraries and
# plugins (stripped), and in deps/ the shared libraries they need that are neither glibc's nor CUDA's
# (the machine has its own CUDA; cuDNN may come from PyTorch's wheels there, see gpu-check.sh).
# On the device, with carry ["build/gpu.tar.xz"]:
#   tar xJf build/gpu.tar.xz -C build && MX_BUILD_DIR=build/gpu scripts/gpu-check.sh
#   MX_BUILD_DIR  the release build with CUDA to pack (default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
src=${MX_BUILD_DIR:-build/release}
dst=build/gpu
rm -rf "$dst"
mkdir -p "$dst/bin" "$dst/lib" "$dst/deps"
for b in mx-info cuda_test conformance_test kvstore_gpu_test bench_gpu; do
  [ -x "$src/bin/$b" ] && cp "$src/bin/$b" "$dst/bin/" || echo "gpu-pack: $src/bin/$b missing (build it first)"
done
# The image part (OpenCV) and the MPI transport are not needed by the check and would pull large
# dependency trees; everything else in lib/ travels.
for f in "$src"/lib/*.so*; do
  case $(basename "$f") in libmx_image.so | libmx_kvstore_mpi.so) continue ;; esac
  cp -a "$f" "$dst/lib/"
done
strip --strip-unneeded "$dst"/bin/* "$dst"/lib/*.so* 2>/dev/null || true
# Dependencies outside glibc, the compiler runtime and CUDA.
ldd "$dst"/bin/* "$dst"/lib/*.so* 2>/dev/null | awk '/=> \//{print $3}' | sort -u | while read -r lib; do
  case $lib in
    /usr/local/cuda*) continue ;;
    */libc.so* | */libm.so* | */libpthread.so* | */libdl.so* | */librt.so* | */ld-linux* | */libgcc_s.so* | */libstdc++.so*) continue ;;
    "$PWD"/*) continue ;;
  esac
  cp -L "$lib" "$dst/deps/"
done
strip --strip-unneeded "$dst"/deps/* 2>/dev/null || true
# The main job's data set (already gzip'ed: it travels as is).
[ -d /usr/share/datasets/fashion-mnist ] && mkdir -p "$dst/data" && cp -r /usr/share/datasets/fashion-mnist "$dst/data/"
tar -C build -cf - gpu | xz -T0 -6 >build/gpu.tar.xz
total=$(du -sm build/gpu.tar.xz | cut -f1)
tree=$(git ls-files -z | du -cm --files0-from=- | tail -1 | cut -f1)
echo "gpu-pack: build/gpu.tar.xz is ${total} MiB ($(du -sh "$dst" | cut -f1) unpacked); the working tree ${tree} MiB (carry limit 64 MiB for both)"
[ $((total + tree)) -lt 64 ] || { echo "gpu-pack: too big to carry"; exit 1; }
