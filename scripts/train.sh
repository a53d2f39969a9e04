#!/usr/bin/env bash
# The main job (README, first command): sets up a fresh Debian machine (scripts/setup.sh), builds
# libmx and its CPU backend (preset release), then trains LeNet on Fashion-MNIST with mx.mod.Module
# (examples/train_fashion_mnist.py; its options pass through, e.g. --network mlp --num-epochs 3).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

cuda_flag=()
[ -x /usr/local/cuda/bin/nvcc ] || cuda_flag=(-DMX_WITH_CUDA=OFF)
cmake --preset release "${cuda_flag[@]}" >/dev/null
targets=(--target mx mx_backend_cpu)
for arg in "$@"; do  # a GPU run needs the CUDA backend too
  case "$arg" in gpu*|--device=gpu*) targets+=(mx_backend_cuda) ;; esac
done
cmake --build --preset release -j "$(nproc)" "${targets[@]}"

MX_LIBRARY_PATH=build/release/lib exec /usr/bin/python3 examples/train_fashion_mnist.py "$@"
