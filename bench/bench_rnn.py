#!/usr/bin/python3
"""LSTM forward + backward (2 layers, hidden 256, sequence 35, batch 32, input 256, float32: the
PTB "medium" language model's recurrent core) in mx (mx.nd.RNN under autograd, gradients of data,
parameters and states) and in PyTorch (torch.nn.LSTM, the same gradients), with the same thread
count. Each round runs each framework in its own process (they share libopenblas), alternating.
Prints both and one JSON line.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_rnn.py
    MX_BENCH_ITERS=5 MX_BENCH_ROUNDS=2 ...   # a shorter run
    MX_BENCH_THREADS=1 ...                    # both frameworks on 1 thread (default: every core)
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))

LAYERS, HIDDEN, SEQ, BATCH, INPUT = 2, 256, 35, 32, 256


def inputs():
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (SEQ, BATCH, INPUT)).astype(np.float32)
    dy = rng.uniform(-1, 1, (SEQ, BATCH, HIDDEN)).astype(np.float32)
    return x, dy


def mx_worker(iters):
    import mx
    x, dy = inputs()
    n_params = sum(4 * HIDDEN * ((INPUT if l == 0 else HIDDEN) + HIDDEN + 2) for l in range(LAYERS))
    rng = np.random.RandomState(1)
    params = mx.nd.array(rng.uniform(-0.06, 0.06, n_params).astype(np.float32))
    data, h0, c0 = mx.nd.array(x), mx.nd.zeros((LAYERS, BATCH, HIDDEN)), mx.nd.zeros((LAYERS, BATCH, HIDDEN))
    head = mx.nd.array(dy)
    for a in (data, params, h0, c0):
        a.attach_grad()

    def step():
        with mx.autograd.record():
            y = mx.nd.RNN(data, params, h0, c0, state_size=HIDDEN, num_layers=LAYERS, mode="lstm")
        y.backward(head)
        params.grad.wait_to_read()
        data.grad.wait_to_read()
    step()  # warm-up: kernel plans, memory pools
    times = []
    for _ in range(iters):
        tic = time.perf_counter()
        step()
        times.append(time.perf_counter() - tic)
    return times, mx.__version__


def torch_worker(iters):
    import torch
    torch.set_num_threads(int(os.environ["MX_OMP_NUM_THREADS"]))
    x, dy = inputs()
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(INPUT, HIDDEN, LAYERS)
    data = torch.tensor(x, requires_grad=True)
    h0 = torch.zeros(LAYERS, BATCH, HIDDEN, requires_grad=True)
    c0 = torch.zeros(LAYERS, BATCH, HIDDEN, requires_grad=True)
    head = torch.tensor(dy)

    def step():
        lstm.zero_grad()
        y, _ = lstm(data, (h0, c0))
        y.backward(head)
    step()
    times = []
    for _ in range(iters):
        tic = time.perf_counter()
        step()
        times.append(time.perf_counter() - tic)
    return times, torch.__version__


def main():
    iters = int(os.environ.get("MX_BENCH_ITERS", "20"))
    rounds = int(os.environ.get("MX_BENCH_ROUNDS", "3"))
    threads = int(os.environ.get("MX_BENCH_THREADS", os.cpu_count()))
    env = dict(os.environ, MX_OMP_NUM_THREADS=str(threads))  # mx's intra-op threads; torch reads it too
    try:
        import torch  # noqa: F401
        names = ["mx", "torch"]
    except ImportError:
        print("torch: not installed (Debian: python3-torch)")
        names = ["mx"]
    runs = {n: [] for n in names}
    for _ in range(rounds):
        for n in names:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", n, str(iters)], check=True,
                                 capture_output=True, text=True, env=env)
            runs[n].append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = {"bench": "lstm_fwd_bwd", "layers": LAYERS, "hidden": HIDDEN, "seq": SEQ, "batch": BATCH,
              "input": INPUT, "dtype": "float32", "threads": threads, "iters": iters, "rounds": rounds}
    for n in names:
        med = [r["median_ms"] for r in runs[n]]
        best = min(med)
        print("%-14s best round median %7.2f ms per forward+backward (round medians: %s; %d threads)"
              % (n + " " + runs[n][0]["version"], best, ", ".join("%.2f" % m for m in med), threads))
        result[n + "_ms"] = round(best, 3)
    if "torch" in runs:
        per_round = [t["median_ms"] / m["median_ms"] for m, t in zip(runs["mx"], runs["torch"])]
        overall = result["torch_ms"] / result["mx_ms"]
        print("mx / torch speed: %.2fx (best vs best; rounds: %s)" % (overall, ", ".join("%.2f" % r for r in per_round)))
        result.update(mx_over_torch=round(overall, 3), round_ratios=[round(r, 3) for r in per_round])
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        times, version = (mx_worker if sys.argv[2] == "mx" else torch_worker)(int(sys.argv[3]))
        print(json.dumps({"median_ms": 1000 * float(np.median(times)), "version": version}))
    else:
        main()
