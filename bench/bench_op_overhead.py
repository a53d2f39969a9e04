#!/usr/bin/python3
"""Per-op overhead: `c = a + b` on 1-element float32 arrays, mx (NDArray, through the C API and the
engine; the _mx_fastpath extension where built, and the ctypes path alone) against numpy and torch
(where installed), in one run. Prints a table and one JSON line.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_op_overhead.py
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import mx  # noqa: E402


def per_op_us(step, finish, n):
    best = float("inf")
    for _ in range(5):  # best of 5 rounds: the machine is shared
        t = time.perf_counter()
        for _ in range(n):
            step()
        finish()
        best = min(best, (time.perf_counter() - t) / n * 1e6)
    return best


def main():
    n = int(os.environ.get("MX_BENCH_ITERS", "20000"))
    a, b = mx.nd.array([1.0]), mx.nd.array([2.0])
    results = {"mx_us": per_op_us(lambda: a + b, mx.nd.waitall, n)}
    # The same `a + b` through ctypes only (what MX_NO_FASTPATH=1 or a build without the
    # _mx_fastpath extension runs), for comparison.
    from mx import _fastpath
    results["fastpath"] = _fastpath.active
    if _fastpath.active:
        fast = {name: mx.nd.NDArray.__dict__[name] for name in _fastpath.METHODS}
        _fastpath.uninstall(mx.nd.NDArray, mx.ndarray._PY_METHODS)
        results["mx_ctypes_us"] = per_op_us(lambda: a + b, mx.nd.waitall, n)
        for name, method in fast.items():
            setattr(mx.nd.NDArray, name, method)
        _fastpath.active = True
    x, y = np.array([1.0], np.float32), np.array([2.0], np.float32)
    results["numpy_us"] = per_op_us(lambda: x + y, lambda: None, n)
    try:
        import torch
        torch.set_num_threads(1)
        tx, ty = torch.tensor([1.0]), torch.tensor([2.0])
        results["torch_us"] = per_op_us(lambda: tx + ty, lambda: None, n)
    except ImportError:
        results["torch_us"] = None
    print("per-op overhead of a + b on 1-element arrays (best of 5 rounds of %d)" % n)
    for name in ("mx", "mx_ctypes", "numpy", "torch"):
        v = results.get(name + "_us")
        print("  %-9s %s" % (name, "%8.2f us" % v if v is not None else "  (not installed / not built)"))
    results["mx_over_numpy"] = results["mx_us"] / results["numpy_us"]
    if results["torch_us"]:
        results["mx_over_torch"] = results["mx_us"] / results["torch_us"]
    print(json.dumps({"bench": "op_overhead", **{k: (round(v, 3) if isinstance(v, float) else v)
                                                  for k, v in results.items()}}))


if __name__ == "__main__":
    main()
