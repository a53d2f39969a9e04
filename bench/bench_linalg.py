#!/usr/bin/python3
"""linalg throughput: mx.nd.linalg.gemm2 on (64, 256, 256) x (64, 256, 256) and potrf on 64 SPD
256 x 256 matrices, float32 and float64, against numpy (np.matmul, np.linalg.cholesky) in the same
run. Prints a table and one JSON line.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_linalg.py
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import mx  # noqa: E402

BATCH, N = 64, 256


def best_ms(step, rounds):
    best = float("inf")
    for _ in range(rounds):  # best of the rounds: the machine is shared
        t = time.perf_counter()
        step()
        best = min(best, (time.perf_counter() - t) * 1e3)
    return best


def main():
    rounds = int(os.environ.get("MX_BENCH_ROUNDS", "5"))
    r = np.random.RandomState(0)
    results = {}
    rows = []
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        a = r.uniform(-1, 1, (BATCH, N, N)).astype(dtype)
        b = r.uniform(-1, 1, (BATCH, N, N)).astype(dtype)
        s = (a @ np.swapaxes(a, -1, -2) + N * np.eye(N, dtype=dtype)).astype(dtype)
        xa, xb, xs = mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype), mx.nd.array(s, dtype=dtype)
        # the same answers first (one warm-up call each)
        np.testing.assert_allclose(mx.nd.linalg.gemm2(xa, xb).asnumpy(), np.matmul(a, b), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(mx.nd.linalg.potrf(xs).asnumpy(), np.linalg.cholesky(s), rtol=1e-3, atol=1e-3)
        flops_gemm = 2.0 * BATCH * N ** 3
        flops_potrf = BATCH * N ** 3 / 3.0
        timings = {
            "gemm2_mx_ms": best_ms(lambda: mx.nd.linalg.gemm2(xa, xb).wait_to_read(), rounds),
            "gemm2_numpy_ms": best_ms(lambda: np.matmul(a, b), rounds),
            "potrf_mx_ms": best_ms(lambda: mx.nd.linalg.potrf(xs).wait_to_read(), rounds),
            "potrf_numpy_ms": best_ms(lambda: np.linalg.cholesky(s), rounds),
        }
        for k, v in timings.items():
            results["%s_%s" % (k, name)] = v
        rows.append((name, "gemm2", timings["gemm2_mx_ms"], timings["gemm2_numpy_ms"], flops_gemm))
        rows.append((name, "potrf", timings["potrf_mx_ms"], timings["potrf_numpy_ms"], flops_potrf))
    print("linalg on a batch of %d %dx%d matrices (best of %d rounds; %d CPU threads visible)"
          % (BATCH, N, N, rounds, os.cpu_count() or 1))
    print("  %-8s %-6s %10s %10s %9s %9s" % ("dtype", "op", "mx ms", "numpy ms", "mx GF/s", "np GF/s"))
    for dtype, op, t_mx, t_np, flops in rows:
        print("  %-8s %-6s %10.2f %10.2f %9.1f %9.1f" % (dtype, op, t_mx, t_np, flops / t_mx / 1e6, flops / t_np / 1e6))
    print(json.dumps({"bench": "linalg", "batch": BATCH, "n": N,
                      **{k: round(v, 3) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
