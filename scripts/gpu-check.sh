#!/usr/bin/env bash
# The GPU check: one prepared run for a machine with a GPU (CI and scripts/test.sh have none, so the
# GPU tests report SKIPPED there). Builds nothing: it runs a carried release build, step by step,
# each under its own `timeout` and all within MX_GPU_CHECK_BUDGET seconds (default 450, to end well
# inside an 8-minute lease):
#   mx-info (a gpu device must be served), cuda_test, conformance_test (every op case on every usable
#   backend, CUDA included; its "[ known  ]" lines are kept), kvstore_gpu_test (its two groups apart,
#   so the GPU group cannot pass by skipping), tests/python/test_gpu.py, the main job for 2 epochs on
#   gpu(0) beside 1 epoch on the CPU (samples/s of each), and bench_gpu.
# Writes under $OUT (default ./gpu-check-out): summary.json (each step passed / failed / skipped with
# the reason, the training figures, bench_gpu's JSON), gpu-check.log (every step's whole output),
# known.txt (conformance's "[ known  ]" lines) and bench_gpu.json. Stdout holds the step verdicts and
# the end of a failing step's output. Exits non-zero when a step failed or saw no GPU.
#   MX_BUILD_DIR   the build to run (default build/release, built with CUDA); libraries the machine
#                  lacks (OpenBLAS, OpenCV, ...) may travel in $MX_BUILD_DIR/deps (put on LD_LIBRARY_PATH)
#   MX_DATA_DIR    Fashion-MNIST's four .gz files (default /usr/share/datasets/fashion-mnist, else
#                  $MX_BUILD_DIR/data/fashion-mnist, which scripts/gpu-pack.sh packs, else .data/fashion-mnist)
#   MX_PYTHON      the interpreter for the Python steps (default: Debian's /usr/bin/python3 when it has
#                  numpy and pytest, else python3 on PATH when it has them; else those steps are skipped)
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${MX_BUILD_DIR:-build/release}
[ -d "$build" ] && build=$(cd "$build" && pwd)
out=${OUT:-$root/gpu-check-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/gpu-check.log
: >"$log"
: >"$out/known.txt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
budget=${MX_GPU_CHECK_BUDGET:-450}
start=$SECONDS

# The build may have been made under another path than this copy: point discovery at its plugins.
export MX_BACKEND_PATH="$build/lib"
[ -f "$build/lib/libmx_kvstore_nccl.so" ] && export MX_KVSTORE_DEVICE_COMM="$build/lib/libmx_kvstore_nccl.so"
[ -d "$build/deps" ] && export LD_LIBRARY_PATH="$build/deps${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# cuDNN / cuBLAS / NCCL too big to carry: a machine without them in its CUDA toolkit may hold them
# in PyTorch's nvidia-* wheels (nvidia/<lib>/lib under site-packages): append what exists.
for py in python3 /usr/bin/python3; do
  extra=$("$py" - 2>/dev/null <<'PY'
import glob, os, site
dirs = []
for sp in site.getsitepackages():
    for lib in ("cudnn", "cublas", "nccl", "cuda_runtime", "cu13"):
        dirs += glob.glob(os.path.join(sp, "nvidia", lib, "lib"))
print(":".join(d for d in dirs if os.path.isdir(d)))
PY
) && [ -n "$extra" ] && { export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$extra"; break; }
done
export PYTHONUNBUFFERED=1

json_str() {  # a JSON string literal of $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  s=$(printf '%s' "$s" | tr '\000-\037' ' ')
  printf '"%s"' "$s"
}

steps_json=()
status=0
record() {  # name status reason seconds
  local name=$1 st=$2 reason=$3 secs=$4
  steps_json+=("{\"name\":$(json_str "$name"),\"status\":\"$st\",\"reason\":$(json_str "$reason"),\"seconds\":$secs}")
  [ "$st" = failed ] && status=1
  printf '=== %-22s %-7s %4ss  %s\n' "$name" "$st" "$secs" "$reason"
  # the end of a failing step's output (not of one that only saw no GPU: the reason says so)
  if [ "$st" = failed ] && [ -f "$tmp/$name.log" ] && [[ $reason != *"no usable GPU"* && $reason != "no GPU seen"* ]]; then
    echo "--- last lines of $name:"
    tail -n 15 "$tmp/$name.log" | cut -c1-300
    echo "---"
  fi
}

step_rc=0
step_secs=0
run_step() {  # name timeout_s command...: output to $tmp/name.log and the whole log; sets step_rc, step_secs
  local name=$1 limit=$2
  shift 2
  local left=$((budget - (SECONDS - start)))
  [ "$limit" -gt "$left" ] && limit=$left
  local t0=$SECONDS
  {
    echo "======== $name (timeout ${limit}s): $*"
  } >>"$log"
  if [ "$limit" -lt 5 ]; then
    echo "no time left in the ${budget}s budget" >"$tmp/$name.log"
    step_rc=125
  else
    timeout -k 10 "$limit" "$@" >"$tmp/$name.log" 2>&1
    step_rc=$?
  fi
  step_secs=$((SECONDS - t0))
  cat "$tmp/$name.log" >>"$log"
  echo "======== $name: exit $step_rc after ${step_secs}s" >>"$log"
}

# The verdict of an exit status shared by the gtest programs and bench_gpu (77: everything skipped).
verdict_of() {  # name
  case $step_rc in
    0) record "$1" passed "" "$step_secs" ;;
    77) record "$1" failed "every test SKIPPED: no usable GPU seen ($(grep -m1 -E 'no GPU|SKIPPED|Skipped' "$tmp/$1.log" | cut -c1-200))" "$step_secs" ;;
    124 | 137) record "$1" failed "timed out (killed by timeout)" "$step_secs" ;;
    125) record "$1" failed "not run: no time left in the ${budget}s budget" "$step_secs" ;;
    *) record "$1" failed "exit $step_rc: $(grep -v '^[[:space:]]*$' "$tmp/$1.log" | tail -n 1 | cut -c1-200)" "$step_secs" ;;
  esac
}

# Missing binaries fail their step; libraries missing on this machine are named once.
have_bin() {  # name binary
  if [ ! -x "$build/bin/$2" ]; then
    record "$1" failed "missing: $build/bin/$2 (build the release preset with CUDA first)" 0
    return 1
  fi
}
nvidia-smi -L >"$tmp/nvidia-smi.log" 2>&1 || echo "gpu-check: nvidia-smi failed (no driver?)" >>"$tmp/nvidia-smi.log"
cat "$tmp/nvidia-smi.log"
cat "$tmp/nvidia-smi.log" >>"$log"
missing=$(ldd "$build"/bin/* "$build"/lib/*.so 2>/dev/null | grep "not found" | sort -u)
[ -z "$missing" ] || printf 'gpu-check: libraries missing on this machine:\n%s\n' "$missing" | tee -a "$log"

# ---- mx-info: the CUDA backend must serve the gpu device type
if have_bin mx-info mx-info; then
  run_step mx-info 30 "$build/bin/mx-info"
  if [ $step_rc -ne 0 ]; then
    verdict_of mx-info
  elif grep -q "gpu: served by" "$tmp/mx-info.log"; then
    record mx-info passed "$(grep -m1 -A1 "^  cuda" "$tmp/mx-info.log" | tr -s ' ' | tr '\n' ' ' | cut -c1-300)" "$step_secs"
  else
    record mx-info failed "no GPU seen: $(grep -m1 "^  cuda" "$tmp/mx-info.log" | tr -s ' ' | cut -c1-300)" "$step_secs"
  fi
fi

# ---- the C++ tests
if have_bin cuda_test cuda_test; then
  run_step cuda_test 90 "$build/bin/cuda_test"
  verdict_of cuda_test
fi
if have_bin conformance_test conformance_test; then
  run_step conformance_test 200 "$build/bin/conformance_test"
  grep -F "[ known  ]" "$tmp/conformance_test.log" >"$out/known.txt"
  verdict_of conformance_test
  echo "    conformance_test: $(wc -l <"$out/known.txt") '[ known  ]' line(s), in known.txt"
fi
if have_bin kvstore_gpu_test kvstore_gpu_test; then
  run_step kvstore_gpu_test 60 "$build/bin/kvstore_gpu_test" --gtest_filter='KVStoreGpu.*'
  verdict_of kvstore_gpu_test
  run_step kvstore_nccl_errors 30 "$build/bin/kvstore_gpu_test" --gtest_filter='KVStoreNcclErrors.*'
  verdict_of kvstore_nccl_errors
fi

# ---- Python: mx's binding is ctypes + numpy, so any CPython 3 with numpy (and pytest) will do
py=${MX_PYTHON:-}
py_note=""
if [ -z "$py" ]; then
  for cand in /usr/bin/python3 "$(command -v python3 || true)"; do
    [ -n "$cand" ] && [ -x "$cand" ] || continue
    if "$cand" -c "import numpy, pytest" >/dev/null 2>&1; then
      py=$cand
      break
    fi
  done
  [ "$py" = /usr/bin/python3 ] || py_note="Debian's /usr/bin/python3 with numpy and pytest is not here; "
fi
export MX_LIBRARY_PATH="$build/lib"
export PYTHONPATH="$root/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "$py" ]; then
  record test_gpu.py skipped "${py_note}no python3 with numpy and pytest on this machine" 0
else
  echo "    python: $py ($("$py" --version 2>&1)); ${py_note}"
  run_step test_gpu.py 120 "$py" -m pytest -q -rs -p no:cacheprovider tests/python/test_gpu.py
  summary_line=$(tail -n 3 "$tmp/test_gpu.py.log" | grep -E "passed|failed|skipped|error" | tail -n 1)
  if [ $step_rc -eq 0 ] && ! grep -qE "[0-9]+ passed" <<<"$summary_line"; then
    record test_gpu.py failed "every test SKIPPED: no usable GPU seen ($summary_line)" "$step_secs"
  elif [ $step_rc -eq 0 ]; then
    record test_gpu.py passed "$summary_line" "$step_secs"
  else
    verdict_of test_gpu.py
  fi
fi

# ---- the main job: LeNet on Fashion-MNIST, 2 epochs on gpu(0), 1 on the CPU; samples/s of each
data=${MX_DATA_DIR:-}
if [ -z "$data" ]; then
  for d in /usr/share/datasets/fashion-mnist "$build/data/fashion-mnist" "$root/.data/fashion-mnist"; do
    [ -f "$d/train-images-idx3-ubyte.gz" ] && data=$d && break
  done
fi
gpu_sps=null cpu_sps=null gpu_acc=null
# Samples per second of the fastest epoch: batches x batch size / the epoch's "Time cost".
samples_per_s() {  # log
  local batches
  batches=$(grep -oE "; [0-9]+ training batches" "$1" | grep -oE "[0-9]+" | head -n 1)
  grep -oE "Time cost=[0-9.]+" "$1" | cut -d= -f2 | sort -g | head -n 1 |
    awk -v b="${batches:-0}" '{ if ($1 > 0 && b > 0) printf "%.1f", b * 128 / $1; else print "null" }'
}
train() {  # name device epochs
  run_step "$1" "$4" "$py" examples/train_fashion_mnist.py --device "$2" --num-epochs "$3" --batch-size 128 \
    --data-dir "$data" --out-dir "$tmp/out-$1"
  local sps acc
  sps=$(samples_per_s "$tmp/$1.log")
  acc=$(grep -oE "test accuracy [0-9.]+" "$tmp/$1.log" | grep -oE "[0-9.]+$" | tail -n 1)
  # The example exits 1 when the test accuracy is below its 10-epoch target: after 1 or 2 epochs that
  # is no failure; under 0.8 (an untrained net) is.
  if [ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.80) }'; then
    record "$1" passed "test accuracy $acc after $3 epoch(s); ${sps} samples/s" "$step_secs"
  elif [ -n "$acc" ]; then
    record "$1" failed "test accuracy $acc after $3 epoch(s) (expected >= 0.80)" "$step_secs"
  else
    verdict_of "$1"
  fi
  last_sps=${sps:-null} last_acc=${acc:-null}
}
if [ -z "$py" ]; then
  record train_gpu skipped "${py_note}no python3 with numpy on this machine" 0
  record train_cpu skipped "${py_note}no python3 with numpy on this machine" 0
elif [ -z "$data" ]; then
  why="Fashion-MNIST not found (set MX_DATA_DIR, or copy /usr/share/datasets/fashion-mnist to .data/fashion-mnist and carry it)"
  record train_gpu skipped "$why" 0
  record train_cpu skipped "$why" 0
else
  train train_gpu gpu:0 2 150
  gpu_sps=$last_sps gpu_acc=$last_acc
  train train_cpu cpu 1 100
  cpu_sps=$last_sps
  echo "    LeNet b128 training: gpu(0) $gpu_sps samples/s, cpu $cpu_sps samples/s"
fi

# ---- bench_gpu: mx vs cuBLAS / cuDNN / cudaMemcpy
bench=null
if have_bin bench_gpu bench_gpu; then
  run_step bench_gpu 150 "$build/bin/bench_gpu"
  grep -E "^JSON " "$tmp/bench_gpu.log" | tail -n 1 | cut -c6- >"$out/bench_gpu.json"
  [ -s "$out/bench_gpu.json" ] && bench=$(cat "$out/bench_gpu.json")
  sed -n '/^benchmark/,/^JSON/p' "$tmp/bench_gpu.log" | grep -v "^JSON"
  case $step_rc in
    1) record bench_gpu failed "a result differs from its peer's or an mx call failed (see the table)" "$step_secs" ;;
    *) verdict_of bench_gpu ;;
  esac
fi

steps=$(IFS=,; echo "${steps_json[*]}")
gpu_name=$(grep -m1 "^GPU 0" "$tmp/nvidia-smi.log" | cut -c1-200)
cat >"$out/summary.json" <<EOF
{"gpu_check":"$([ $status -eq 0 ] && echo passed || echo failed)","gpu":$(json_str "$gpu_name"),"build":$(json_str "$build"),"python":$(json_str "${py:-none}"),"seconds":$((SECONDS - start)),
"steps":[$steps],
"train":{"gpu_samples_per_s":${gpu_sps:-null},"cpu_samples_per_s":${cpu_sps:-null},"gpu_test_acc_2_epochs":${gpu_acc:-null}},
"bench_gpu":${bench:-null}}
EOF
echo "gpu-check: summary in $out/summary.json, logs in $log"
[ $status -eq 0 ] && echo "gpu-check: all passed" || echo "gpu-check: FAILED"
exit $status
