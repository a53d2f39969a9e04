#!/usr/bin/python3
"""Issue 19's per-op table: the ops of LeNet and of the MLP 784-256-128-10 at their real training
shapes (batch 128), mx (mx.nd ops, backward through mx.autograd, mx.nd.waitall) beside PyTorch
(torch.nn.functional, autograd), each at 1 thread and at all cores (os.cpu_count()).

Each of the four configurations runs in its own process (mx reads MX_OMP_NUM_THREADS at start), in
alternating rounds; a time is the median of the repeats (at least MX_BENCH_REPEATS calls and
MX_BENCH_MIN_MS ms, default 100) within a process, the best of the rounds,
in ms. "fwd" is the op alone (mx outside autograd.record, torch under no_grad); "bwd" is the
backward alone over a retained graph, giving the gradients of every input (data, weight, bias).
"all/1t" is mx's all-core time over its 1-thread time: issue 19 asks that no op be slower at all
threads than at 1; rows more than 10 % slower (beyond this machine's noise) are flagged. Prints a
table and one JSON line.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_layer_ops.py
    MX_BENCH_REPEATS=50 MX_BENCH_ROUNDS=3 MX_BENCH_MODELS=lenet ...
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
sys.path.insert(0, HERE)
import peer  # noqa: E402  (bench/peer.py)

BATCH, LR, MOMENTUM, WD = 128, 0.05, 0.9, 1e-4
FLAG_RATIO = 1.10  # mx all-core / 1-thread above this is flagged

# (label, model, kind, shapes): conv (data, weight), pool (data), relu (data), fc (data, weight),
# softmax_ce (logits), sgd (every parameter of the model, as Module updates them: one call each).
CASES = [
    ("conv1 1->20 5x5 28x28", "lenet", "conv", [(BATCH, 1, 28, 28), (20, 1, 5, 5)]),
    ("conv2 20->50 5x5 12x12", "lenet", "conv", [(BATCH, 20, 12, 12), (50, 20, 5, 5)]),
    ("pool1 max 2x2/2 20x24x24", "lenet", "pool", [(BATCH, 20, 24, 24)]),
    ("pool2 max 2x2/2 50x8x8", "lenet", "pool", [(BATCH, 50, 8, 8)]),
    ("relu 20x24x24", "lenet", "relu", [(BATCH, 20, 24, 24)]),
    ("relu 50x8x8", "lenet", "relu", [(BATCH, 50, 8, 8)]),
    ("relu 500", "lenet", "relu", [(BATCH, 500)]),
    ("fc 800->500", "lenet", "fc", [(BATCH, 800), (500, 800)]),
    ("fc 500->10", "lenet", "fc", [(BATCH, 500), (10, 500)]),
    ("softmax CE 10", "lenet,mlp", "softmax_ce", [(BATCH, 10)]),
    ("sgd_mom_update LeNet 8 params", "lenet", "sgd",
     [(20, 1, 5, 5), (20,), (50, 20, 5, 5), (50,), (500, 800), (500,), (10, 500), (10,)]),
    ("fc 784->256", "mlp", "fc", [(BATCH, 784), (256, 784)]),
    ("relu 256", "mlp", "relu", [(BATCH, 256)]),
    ("fc 256->128", "mlp", "fc", [(BATCH, 256), (128, 256)]),
    ("relu 128", "mlp", "relu", [(BATCH, 128)]),
    ("fc 128->10", "mlp", "fc", [(BATCH, 128), (10, 128)]),
    ("sgd_mom_update MLP 6 params", "mlp", "sgd", [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]),
]


def inputs(shapes):
    """The same values for both frameworks: normal data, small weights, zero bias."""
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) * (1.0 if i == 0 else 0.1) for i, s in enumerate(shapes)]


def labels():
    return np.random.default_rng(1).integers(0, 10, BATCH)


# A case runs at least `repeats` times and at least this long (ms), at most MAX_CALLS times: 30
# calls of a 15 us relu are half a millisecond, where one scheduler hiccup moves the median.
MIN_MS = float(os.environ.get("MX_BENCH_MIN_MS", "100"))
MAX_CALLS = 5000


def median_ms(fn, sync, repeats):
    fn()
    sync()  # warm-up: allocations, packing buffers, thread start
    times = []
    start = time.perf_counter()
    while len(times) < repeats or (
            (time.perf_counter() - start) * 1e3 < MIN_MS and len(times) < MAX_CALLS and repeats > 1):
        tic = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - tic) * 1e3)
    return statistics.median(times)


def mx_case(mx, kind, shapes):
    """(forward, backward) closures of one case in mx; backward is None for the optimizer step."""
    nd = mx.nd
    arrays = [nd.array(a) for a in inputs(shapes)]
    if kind == "sgd":
        weights, grads = arrays, [nd.array(a) * 0.01 for a in inputs(shapes)]
        moms = [nd.zeros(s) for s in shapes]

        def step():
            for w, g, m in zip(weights, grads, moms):
                nd.sgd_mom_update(w, g, m, lr=LR, momentum=MOMENTUM, wd=WD, rescale_grad=1.0 / BATCH, out=w)
        return step, None
    if kind == "conv":
        cout = shapes[1][0]
        arrays.append(nd.zeros((cout,)))
        op = lambda x, w, b: nd.Convolution(x, w, b, kernel=shapes[1][2:], num_filter=cout)  # noqa: E731
    elif kind == "fc":
        arrays.append(nd.zeros((shapes[1][0],)))
        op = lambda x, w, b: nd.FullyConnected(x, w, b, num_hidden=shapes[1][0])  # noqa: E731
    elif kind == "pool":
        op = lambda x: nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max")  # noqa: E731
    elif kind == "relu":
        op = lambda x: nd.Activation(x, act_type="relu")  # noqa: E731
    else:
        label = nd.array(labels().astype(np.float32))  # MXNet's labels are float
        op = lambda x: nd.SoftmaxOutput(x, label)  # noqa: E731
    for a in arrays:
        a.attach_grad()
    with mx.autograd.record():
        y = op(*arrays)
    head = nd.ones_like(y)
    return (lambda: op(*arrays)), (lambda: y.backward(head, retain_graph=True))


def torch_case(torch, kind, shapes):
    """The same case in PyTorch: torch.nn.functional, gradients by torch.autograd.grad."""
    F = torch.nn.functional
    tensors = [torch.from_numpy(a) for a in inputs(shapes)]
    if kind == "sgd":
        for p, g in zip(tensors, inputs(shapes)):
            p.grad = torch.from_numpy(g) * 0.01
        opt = torch.optim.SGD(tensors, lr=LR, momentum=MOMENTUM, weight_decay=WD)
        return opt.step, None
    if kind in ("conv", "fc"):
        tensors.append(torch.zeros(shapes[1][0]))
        op = F.conv2d if kind == "conv" else F.linear
    elif kind == "pool":
        op = lambda x: F.max_pool2d(x, 2, 2)  # noqa: E731
    elif kind == "relu":
        op = F.relu
    else:
        label = torch.from_numpy(labels())
        op = lambda x: F.cross_entropy(x, label)  # noqa: E731
    for t in tensors:
        t.requires_grad_(True)
    y = op(*tensors)
    head = torch.ones_like(y)

    def forward():
        with torch.no_grad():
            op(*tensors)
    return forward, (lambda: torch.autograd.grad(y, tensors, head, retain_graph=True))


def worker(framework, threads, models, repeats):
    """Every case of `models` in this process: prints {label + " fwd" / " bwd" / " step": ms}."""
    if framework == "mx":
        import mx
        make, sync = (lambda kind, shapes: mx_case(mx, kind, shapes)), mx.nd.waitall
    else:
        import torch
        torch.set_num_threads(threads)
        make, sync = (lambda kind, shapes: torch_case(torch, kind, shapes)), (lambda: None)
    out = {}
    for label, case_models, kind, shapes in CASES:
        if not set(case_models.split(",")) & set(models):
            continue
        forward, backward = make(kind, shapes)
        if backward is None:
            out[label + " step"] = median_ms(forward, sync, repeats)
        else:
            out[label + " fwd"] = median_ms(forward, sync, repeats)
            out[label + " bwd"] = median_ms(backward, sync, repeats)
    print(json.dumps(out))


def main():
    repeats = int(os.environ.get("MX_BENCH_REPEATS", "30"))
    rounds = int(os.environ.get("MX_BENCH_ROUNDS", "2"))
    models = peer.models_from_env({"lenet", "mlp"})
    all_cores = os.cpu_count() or 1
    frameworks = peer.frameworks()
    configs = [(f, t) for f in frameworks for t in (1, all_cores)]
    best = {}  # (framework, threads) -> row -> best median over the rounds
    for _ in range(rounds):  # alternating, so that the shared machine's drift falls on all
        for f, t in configs:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", f, str(t), ",".join(models),
                                  str(repeats)], env=peer.thread_env(t), capture_output=True, text=True)
            if out.returncode:
                raise SystemExit("%s at %d threads failed:\n%s" % (f, t, out.stderr))
            for row, ms in json.loads(out.stdout.strip().splitlines()[-1]).items():
                prev = best.setdefault((f, t), {}).get(row, float("inf"))
                best[(f, t)][row] = min(prev, ms)
    cols = ["%s %s" % (f, which) for f in frameworks for which in ("1t", "all")]  # in configs' order
    print("ms per call, batch %d, median of >= %d calls and >= %g ms, best of %d rounds; all = %d threads"
          % (BATCH, repeats, MIN_MS, rounds, all_cores))
    print("  %-36s" % "op" + "".join("%11s" % c for c in cols) + "%8s" % "all/1t")
    table, worse = {}, []
    for row in best[configs[0]]:
        ms = {c.replace(" ", "_"): best[cfg][row] for c, cfg in zip(cols, configs)}
        ratio = ms["mx_all"] / ms["mx_1t"]
        flag = "  slower at all threads" if ratio > FLAG_RATIO else ""
        if flag:
            worse.append(row)
        print("  %-36s" % row + "".join("%11.3f" % v for v in ms.values()) + "%8.2f%s" % (ratio, flag))
        table[row] = {k: round(v, 4) for k, v in ms.items()}
    print(json.dumps({"bench": "layer_ops", "batch": BATCH, "all_cores": all_cores, "repeats": repeats,
                      "rounds": rounds, "ms": table, "mx_all_slower_than_1t": worse}))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","), int(sys.argv[5]))
    else:
        main()
