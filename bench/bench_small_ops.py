#!/usr/bin/python3
"""The ops of a LeNet / MLP training step at their real shapes (batch 128), at 1 and 2 intra-op
threads (MX_OMP_NUM_THREADS), to set the CPU kernels' parallel grains (issue 19): no op should be
slower at 2 threads than at 1. Each configuration is a child process (the thread count is read
once per process); children alternate 1 / 2 threads (and the libraries given) for several rounds,
and each op's figure is the median over rounds of its best-of-3 burst (50 calls pushed back to
back, then one wait, as a training step's worker sees them).

    /usr/bin/python3 bench/bench_small_ops.py [--lib NAME=DIR ...] [--rounds 3] [--env K=V ...]

Without --lib it uses MX_LIBRARY_PATH. E.g. --lib old=/tmp/lib
--lib new=build/release/lib@MX_CPU_POOL_SPIN_US=0 --only 'relu|FC'.
Prints microseconds per op, the 2-thread / 1-thread ratio and their geometric means.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def cases(mx):
    nd = mx.nd

    def r(*shape):
        return nd.array(__import__("numpy").random.uniform(-1, 1, shape).astype("float32"))

    out = []
    for shape in [(128, 10), (128, 128), (128, 256), (128, 500), (128, 800), (128, 50, 8, 8), (128, 20, 24, 24)]:
        x, y = r(*shape), r(*shape)
        tag = "x".join(map(str, shape))
        out.append(("relu " + tag, lambda x=x: nd.Activation(x, act_type="relu")))
        out.append(("elemwise_mul " + tag, lambda x=x, y=y: nd.elemwise_mul(x, y)))
        out.append(("_greater_scalar " + tag, lambda x=x: x > 0))
        out.append(("exp " + tag, lambda x=x: nd.exp(x)))
    for rows, cols in [(128, 500), (128, 256), (128, 10)]:
        x, b = r(rows, cols), r(1, cols)
        out.append((f"broadcast_add {rows}x{cols}+1x{cols}", lambda x=x, b=b: nd.broadcast_add(x, b)))
    x = r(128, 10)
    out.append(("softmax 128x10", lambda x=x: nd.softmax(x)))
    # FullyConnected forward and the two products of its backward (dX = dY W, dW = dY^T X).
    for batch, din, dout in [(128, 800, 500), (128, 784, 256), (128, 256, 128), (128, 500, 10), (128, 128, 10)]:
        x, w, b, dy = r(batch, din), r(dout, din), r(dout), r(batch, dout)
        tag = f"{batch}x{din}->{dout}"
        out.append(("FC " + tag, lambda x=x, w=w, b=b, n=dout: nd.FullyConnected(x, w, b, num_hidden=n)))
        out.append(("dot dY.W " + tag, lambda dy=dy, w=w: nd.dot(dy, w)))
        out.append(("dot dY^T.X " + tag, lambda dy=dy, x=x: nd.dot(dy, x, transpose_a=True)))
    return out


def child(only, reps=50):
    sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
    import mx

    res = {}
    for name, fn in cases(mx):
        if only and not re.search(only, name):
            continue
        fn().wait_to_read()
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(reps):
                o = fn()
            o.wait_to_read()
            best = min(best, (time.perf_counter() - t) / reps * 1e6)
        res[name] = best
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--lib", action="append", default=[],
                    help="NAME=DIR[@K=V,...] of libmx, with env for its children (several: compared)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--env", action="append", default=[], help="K=V for every child")
    ap.add_argument("--only", default="", help="regex: the ops to run")
    a = ap.parse_args()
    if a.child:
        return child(a.only)
    libs = [s.split("=", 1) for s in a.lib] or [["mx", os.environ.get("MX_LIBRARY_PATH", "")]]
    lib_env = {}
    for lib in libs:
        lib[1], _, extra = lib[1].partition("@")
        lib_env[lib[0]] = dict(kv.split("=", 1) for kv in extra.split(",") if kv)
    threads = a.threads.split(",")
    runs = {}
    for _ in range(a.rounds):
        for lib, path in libs:
            for t in threads:
                env = dict(os.environ, MX_LIBRARY_PATH=path, MX_OMP_NUM_THREADS=t)
                env.update(kv.split("=", 1) for kv in a.env)
                env.update(lib_env[lib])
                cmd = [sys.executable, __file__, "--child", "--only", a.only]
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
                runs.setdefault((lib, t), []).append(json.loads(out.strip().splitlines()[-1]))
    med = {k: {op: sorted(r[op] for r in v)[len(v) // 2] for op in v[0]} for k, v in runs.items()}
    ops = list(next(iter(med.values())))
    head = f"{'op (us per call)':36s}"
    head += "".join(f"{lib + ' t' + t:>12s}" for lib, _ in libs for t in threads)
    if len(threads) == 2:
        head += "".join(f"{lib + ' t2/t1':>12s}" for lib, _ in libs)
    print(head)
    for op in ops:
        row = f"{op:36s}" + "".join(f"{med[(lib, t)][op]:12.1f}" for lib, _ in libs for t in threads)
        if len(threads) == 2:
            row += "".join(f"{med[(lib, threads[1])][op] / med[(lib, threads[0])][op]:12.2f}" for lib, _ in libs)
        print(row)
    gm = {k: math.exp(sum(math.log(v[op]) for op in ops) / len(ops)) for k, v in med.items()}
    row = f"{'geometric mean':36s}" + "".join(f"{gm[(lib, t)]:12.1f}" for lib, _ in libs for t in threads)
    if len(threads) == 2:
        row += "".join(f"{gm[(lib, threads[1])] / gm[(lib, threads[0])]:12.2f}" for lib, _ in libs)
    print(row)
    print("JSON " + json.dumps({f"{k[0]}:t{k[1]}": v for k, v in med.items()}))


if __name__ == "__main__":
    main()
