#!/usr/bin/env bash
# Installs everything mx needs to build and test on Debian 12 (as root, with apt reachable).
# The CUDA 13 toolkit with cuDNN 9 is expected under /usr/local/cuda (it is not an apt package).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-dev libboost-dev libdlpack-dev zlib1g-dev
  nlohmann-json3-dev dataset-fashion-mnist libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libturbojpeg0-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  abigail-tools binutils ccache
  libopenmpi-dev openmpi-bin
  libdnnl-dev
  python3-numpy python3-pytest python3-venv python3-pip python3-matplotlib python3-pil
  python3-dev libpython3-dev  # Python.h for the _mx_fastpath extension (NDArray operators in C)
  graphviz python3-graphviz  # mx.viz.plot_network renders with them
  python3-torch  # reference of the layer / rnn / vision / dlpack tests, and the benches' peer
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
# bindings/node needs Node.js >= 18 and npm (the machine's own, else Debian's).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends nodejs npm
fi
if [ ! -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: no CUDA toolkit at /usr/local/cuda; building without the CUDA backend (MX_WITH_CUDA=OFF)"
fi
