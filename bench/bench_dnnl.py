#!/usr/bin/python3
"""The oneDNN plugin against the built-in CPU backend (OpenBLAS im2col + GEMM) and PyTorch on the
convolutions of LeNet (5x5, 1 -> 20 on 28x28 and 20 -> 50 on 12x12, batch 128) and a ResNet-50
3x3 layer (64 -> 64 on 56x56, pad 1, batch 32): forward, and forward + backward, float32.

One process: the plugin is loaded next to the built-in backend and mx_backend_set_priority picks
who serves Convolution and its gradient ops (dnnl=100 or dnnl=-1); the three contenders run in
alternating rounds and each figure is the median round. Threads: the host's intra_op_threads
(MX_OMP_NUM_THREADS, else every core) for both mx backends, the same count for torch. Prints a
table and one JSON line.

    MX_LIBRARY_PATH=<prefix>/lib MX_BACKEND_PATH=<prefix>/lib/mx/libmx_backend_dnnl.so \\
        /usr/bin/python3 bench/bench_dnnl.py
(the installed libmx finds the plugin in <prefix>/lib/mx by itself; MX_BACKEND_PATH is then only
needed for a plugin elsewhere). MX_BENCH_ROUNDS (default 7) sets the number of rounds.
"""
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import mx  # noqa: E402
from mx.base import LIB, check_call  # noqa: E402

MX_DEVICE_CPU = 1

# name, data shape (N, C, H, W), filters, kernel, pad, bias, which inputs need gradients (as in training:
# the first layer's data needs none)
LAYERS = [
    ("lenet_conv1", (128, 1, 28, 28), 20, 5, 0, True, ("weight", "bias")),
    ("lenet_conv2", (128, 20, 12, 12), 50, 5, 0, True, ("data", "weight", "bias")),
    ("resnet50_3x3", (32, 64, 56, 56), 64, 3, 1, False, ("data", "weight")),
]


def serving(op):
    name = ctypes.c_char_p()
    check_call(LIB.mx_op_get_backend(op.encode(), ctypes.c_int32(MX_DEVICE_CPU), ctypes.byref(name)))
    return name.value.decode()


def use_backend(which):
    """Makes `which` ("dnnl" or "cpu") serve the convolution ops."""
    check_call(LIB.mx_backend_set_priority(b"dnnl", ctypes.c_int32(100 if which == "dnnl" else -1)))
    for op in ("Convolution", "_conv_backward_data", "_conv_backward_weight"):
        got = serving(op)
        if got != which:
            raise RuntimeError("%s is served by %s, expected %s" % (op, got, which))


def host_threads():
    v = os.environ.get("MX_OMP_NUM_THREADS")
    return int(v) if v else os.cpu_count()


def mx_steps(layer, rng):
    _, shape, filters, k, pad, bias, grads = layer
    arrays = {"data": rng.uniform(-1, 1, shape), "weight": rng.uniform(-0.1, 0.1, (filters, shape[1], k, k))}
    if bias:
        arrays["bias"] = rng.uniform(-0.1, 0.1, (filters,))
    nd = {n: mx.nd.array(v.astype(np.float32)) for n, v in arrays.items()}
    for n in grads:
        nd[n].attach_grad()
    out = (shape[0], filters, shape[2] + 2 * pad - k + 1, shape[3] + 2 * pad - k + 1)
    head = mx.nd.array(rng.uniform(-1, 1, out).astype(np.float32))
    args = [nd["data"], nd["weight"]] + ([nd["bias"]] if bias else [])
    attrs = dict(kernel=(k, k), pad=(pad, pad), num_filter=filters, no_bias=not bias)

    def forward():
        mx.nd.Convolution(*args, **attrs).wait_to_read()

    def forward_backward():
        with mx.autograd.record():
            y = mx.nd.Convolution(*args, **attrs)
        y.backward(head)
        mx.nd.waitall()

    return forward, forward_backward


def torch_steps(layer, rng):
    import torch
    import torch.nn.functional as F
    _, shape, filters, k, pad, bias, grads = layer
    t = {"data": torch.tensor(rng.uniform(-1, 1, shape), dtype=torch.float32),
         "weight": torch.tensor(rng.uniform(-0.1, 0.1, (filters, shape[1], k, k)), dtype=torch.float32),
         "bias": torch.tensor(rng.uniform(-0.1, 0.1, (filters,)), dtype=torch.float32) if bias else None}
    for n in grads:
        t[n].requires_grad_(True)
    out = (shape[0], filters, shape[2] + 2 * pad - k + 1, shape[3] + 2 * pad - k + 1)
    head = torch.tensor(rng.uniform(-1, 1, out), dtype=torch.float32)

    def forward():
        with torch.no_grad():
            F.conv2d(t["data"], t["weight"], t["bias"], padding=pad)

    def forward_backward():
        for n in grads:
            t[n].grad = None
        F.conv2d(t["data"], t["weight"], t["bias"], padding=pad).backward(head)

    return forward, forward_backward


def timed_ms(step, reps):
    t = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - t) / reps * 1e3


def main():
    rounds = int(os.environ.get("MX_BENCH_ROUNDS", "7"))
    threads = host_threads()
    try:
        import torch
        torch.set_num_threads(threads)
        have_torch = True
    except ImportError:
        have_torch = False
    try:
        use_backend("dnnl")
    except mx.base.MXNetError as e:
        sys.exit("the oneDNN plugin is not loaded (set MX_BACKEND_PATH to libmx_backend_dnnl.so): %s" % e)
    contenders = ["dnnl", "cpu"] + (["torch"] if have_torch else [])
    rng = np.random.default_rng(0)
    results = {}
    for layer in LAYERS:
        steps = {"dnnl": mx_steps(layer, rng), "torch": torch_steps(layer, rng) if have_torch else None}
        steps["cpu"] = steps["dnnl"]  # the same arrays and calls; the priority picks the kernels
        reps = 1 if layer[1][0] * layer[1][2] * layer[1][3] * layer[2] > 4e6 else 3
        times = {(c, kind): [] for c in contenders for kind in (0, 1)}
        for r in range(rounds + 1):  # round 0 warms up (primitive creation, caches)
            for c in contenders:
                if c != "torch":
                    use_backend(c)
                for kind in (0, 1):
                    ms = timed_ms(steps[c][kind], reps)
                    if r:
                        times[(c, kind)].append(ms)
        results[layer[0]] = {"%s_%s_ms" % (c, ("fwd", "fwdbwd")[kind]): round(statistics.median(v), 3)
                             for (c, kind), v in times.items()}
    use_backend("dnnl")

    print("convolutions, float32, %d threads, median of %d alternating rounds (ms per call)" % (threads, rounds))
    header = "%-14s" % "layer" + "".join("%12s %12s" % (c + " fwd", c + " fwd+bwd") for c in contenders)
    print(header)
    for name, r in results.items():
        print("%-14s" % name + "".join("%12.2f %12.2f" % (r["%s_fwd_ms" % c], r["%s_fwdbwd_ms" % c])
                                        for c in contenders))
    for name, r in results.items():
        r["cpu_over_dnnl_fwdbwd"] = round(r["cpu_fwdbwd_ms"] / r["dnnl_fwdbwd_ms"], 2)
        if have_torch:
            r["dnnl_over_torch_fwdbwd"] = round(r["dnnl_fwdbwd_ms"] / r["torch_fwdbwd_ms"], 2)
    print(json.dumps({"bench": "dnnl_conv", "threads": threads, "rounds": rounds, "layers": results}))


if __name__ == "__main__":
    main()
