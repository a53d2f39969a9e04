#!/usr/bin/python3
"""Max pooling 2x2 stride 2 at LeNet's shapes (128x20x24x24 and 128x50x8x8, float32), and ResNet's
3x3 stride 2 pad 1 on 16x64x28x28: mx.nd.Pooling and mx.nd._pooling_backward beside
torch.nn.functional.max_pool2d forward (input requiring grad, as in training) and backward, at 1
and 2 threads. Each (library, threads) runs in its own process, the processes alternate round by round
and each reports its best time; ratios come from the same run. With --old-lib, a second mx build
(e.g. the lead's) runs in the same rotation, so old vs new is measured in one run too.
Prints a table and one JSON line.

    /usr/bin/python3 bench/bench_pool.py [--old-lib /work/main/build/release/lib] [--rounds 3]
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = [((128, 20, 24, 24), 2, 2, 0), ((128, 50, 8, 8), 2, 2, 0), ((16, 64, 28, 28), 3, 2, 1)]  # shape, k, s, pad
REPS = 20  # calls per timing; the best of a process's timings counts


def best_ms(step, tries=5):
    step()  # warm-up: allocations, first-call caches
    best = float("inf")
    for _ in range(tries):
        t = time.perf_counter()
        for _ in range(REPS):
            step()
        best = min(best, (time.perf_counter() - t) * 1e3 / REPS)
    return best


def child_mx(threads):
    sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
    import numpy as np
    import mx
    out = {}
    for shape, k, s, p in CASES:
        x = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, shape), dtype="float32")
        attrs = dict(kernel=(k, k), stride=(s, s), pad=(p, p), pool_type="max")
        y = mx.nd.Pooling(x, **attrs)
        og = mx.nd.ones(y.shape, dtype="float32")
        key = "x".join(map(str, shape)) + f" {k}/{s}p{p}"
        out[key + " fwd"] = best_ms(lambda: mx.nd.Pooling(x, **attrs).wait_to_read())
        out[key + " bwd"] = best_ms(lambda: mx.nd._pooling_backward(og, x, y, **attrs).wait_to_read())
    return out


def child_torch(threads):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    out = {}
    for shape, k, s, p in CASES:
        xg = (torch.rand(shape, dtype=torch.float32) * 2 - 1).requires_grad_(True)
        key = "x".join(map(str, shape)) + f" {k}/{s}p{p}"
        out[key + " fwd"] = best_ms(lambda: F.max_pool2d(xg, k, s, p))
        y = F.max_pool2d(xg, k, s, p)
        og = torch.ones_like(y)
        # backward alone: the forward's indices are kept by the graph (retain_graph)
        out[key + " bwd"] = best_ms(lambda: torch.autograd.grad(y, xg, og, retain_graph=True))
    return out


def run_child(impl, lib, threads):
    env = dict(os.environ, MX_OMP_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               OPENBLAS_NUM_THREADS="1")
    if lib:
        env["MX_LIBRARY_PATH"] = lib
    cmd = [sys.executable, os.path.abspath(__file__), "--child", impl, "--threads", str(threads)]
    return json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old-lib", help="a second mx library folder to time in the same rotation")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", choices=["mx", "torch"])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    if a.child:
        print(json.dumps((child_mx if a.child == "mx" else child_torch)(a.threads)))
        return
    new_lib = os.environ.get("MX_LIBRARY_PATH", os.path.join(HERE, "..", "build", "release", "lib"))
    impls = [("mx", "mx", new_lib), ("torch", "torch", None)] + ([("mx_old", "mx", a.old_lib)] if a.old_lib else [])
    best = {}
    for _ in range(a.rounds):
        for threads in (1, 2):
            for name, impl, lib in impls:
                for k, v in run_child(impl, lib, threads).items():
                    key = (name, threads, k)
                    best[key] = min(best.get(key, float("inf")), v)
    result = {}
    for threads in (1, 2):
        for k in sorted({k for (_, t, k) in best if t == threads}):
            row = {name: round(best[(name, threads, k)], 4) for name, _, _ in impls}
            row["torch/mx"] = round(row["torch"] / row["mx"], 2)
            if a.old_lib:
                row["old/new"] = round(row["mx_old"] / row["mx"], 2)
            result[f"{k} t{threads}"] = row
            print(f"{k:>28} t{threads}  " + "  ".join(f"{n}={v}" for n, v in row.items()))
    print(json.dumps({"bench": "pool", "ms": result}))


if __name__ == "__main__":
    main()
