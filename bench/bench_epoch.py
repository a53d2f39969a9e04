#!/usr/bin/python3
"""Issue 19's bench: training on Fashion-MNIST (batch 128, SGD momentum 0.9, wd 1e-4, lr 0.05, CPU)
in mx (mx.mod.Module over mx.io.MNISTIter, metric Accuracy) against PyTorch (the same model, init
rule, loss and optimizer over in-memory tensors), for LeNet and the MLP 784-256-128-10 (relu).

Each framework runs at 1 thread and at all cores (os.cpu_count()), each configuration in its own
process, in alternating rounds (mx 1t, mx all, torch 1t, torch all, repeat). Ratios come from this
one run: mx's best thread count against torch's best, and 1 thread against 1 thread; the targets of
issue 19 are printed beside them. Prints a table and one JSON line.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_epoch.py
    MX_BENCH_BATCHES=50 MX_BENCH_ROUNDS=3 MX_BENCH_MODELS=lenet ...   # shorter / more rounds / one model
    ... bench/bench_epoch.py --profile [--batches 50]   # mx LeNet per-op split and the GEMM floor
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
sys.path.insert(0, HERE)
import peer  # noqa: E402  (bench/peer.py)
sys.path.insert(0, os.path.join(HERE, "..", "examples"))

DATA = "/usr/share/datasets/fashion-mnist"
WARMUP_BATCHES = 3  # untimed, on both sides
BATCH, LR, MOMENTUM, WD = 128, 0.05, 0.9, 1e-4
EPOCH_BATCHES = 60000 // BATCH  # 468 full batches
TARGET_BEST, TARGET_1T = 1.5, 1.2  # issue 19: mx best / torch best, and 1 thread each
# (in channels, out channels, kernel, output side) of LeNet's convolutions and the FC layers of
# both models, for the FLOP count of the profile's GEMM floor.
LENET_CONVS = [(1, 20, 5, 24), (20, 50, 5, 8)]
FCS = {"lenet": [(800, 500), (500, 10)], "mlp": [(784, 256), (256, 128), (128, 10)]}


def mx_symbol(model):
    from train_fashion_mnist import lenet, mlp
    return {"lenet": lenet, "mlp": mlp}[model]()


class MxRun:
    """mx.mod.Module over mx.io.MNISTIter; run(k) trains the next k batches (Module.fit's loop body)."""

    def __init__(self, mx, model):
        self.mx = mx
        self.train = mx.io.MNISTIter(image=DATA + "/train-images-idx3-ubyte.gz",
                                     label=DATA + "/train-labels-idx1-ubyte.gz", batch_size=BATCH, shuffle=True,
                                     seed=1, silent=True)
        self.mod = mx.mod.Module(mx_symbol(model))
        self.mod.bind(self.train.provide_data, self.train.provide_label)
        mx.random.seed(1)
        self.mod.init_params(mx.init.Xavier(magnitude=2.0))
        self.mod.init_optimizer(optimizer="sgd",
                                optimizer_params={"learning_rate": LR, "momentum": MOMENTUM, "wd": WD})
        self.metric = mx.metric.Accuracy()
        self.batches = iter(self.train)
        mx.nd.waitall()

    def next_batch(self):
        try:
            return next(self.batches)
        except StopIteration:  # past one epoch: start the next
            self.train.reset()
            self.batches = iter(self.train)
            return next(self.batches)

    def run(self, k):
        tic = time.perf_counter()
        for _ in range(k):
            batch = self.next_batch()
            self.mod.forward_backward(batch)
            self.mod.update()
            self.mod.update_metric(self.metric, batch.label, pad=batch.pad)
        self.mx.nd.waitall()
        return time.perf_counter() - tic

    def accuracy(self):
        return self.metric.get()[1]


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw[4:4 + 4 * ndim], dtype=">u4")
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def torch_model(torch, model):
    nn = torch.nn
    if model == "lenet":
        layers = [nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.ReLU(),
                  nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10)]
    else:
        layers = [nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)]
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight, gain=(2.0 / 3.0) ** 0.5)  # = mx Xavier(magnitude=2)
            nn.init.zeros_(m.bias)
    return net


class TorchRun:
    """The same model, initialisation rule, loss (softmax cross-entropy, mean over the batch: mx's
    SoftmaxOutput with Module's rescale_grad 1/batch) and optimizer in PyTorch over in-memory tensors."""

    def __init__(self, torch, model):
        self.torch = torch
        torch.manual_seed(1)
        self.x = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 256.0).unsqueeze(1)
        self.y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
        self.model = torch_model(torch, model)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.perm = torch.randperm(self.x.shape[0])
        self.cursor = self.correct = self.seen = 0

    def run(self, k):
        tic = time.perf_counter()
        for _ in range(k):
            if self.cursor + BATCH > self.x.shape[0]:  # past one epoch: start the next
                self.cursor = 0
            idx = self.perm[self.cursor:self.cursor + BATCH]
            self.cursor += BATCH
            xb, yb = self.x[idx], self.y[idx]
            self.opt.zero_grad()
            out = self.model(xb)
            loss = self.loss_fn(out, yb)
            loss.backward()
            self.opt.step()
            self.correct += int((out.argmax(1) == yb).sum())
            self.seen += BATCH
        return time.perf_counter() - tic

    def accuracy(self):
        return self.correct / max(1, self.seen)


def worker(framework, model, threads, num_batches):
    """One configuration in this process: prints {"s": seconds, "acc": train accuracy, "version"}."""
    if framework == "mx":
        import mx
        r, version = MxRun(mx, model), mx.__version__
    else:
        import torch
        torch.set_num_threads(threads)
        r, version = TorchRun(torch, model), torch.__version__
    r.run(WARMUP_BATCHES)  # first-call costs (torch's lazy init, mx's first allocations) stay out
    seconds = r.run(num_batches)
    print(json.dumps({"s": seconds, "acc": r.accuracy(), "version": version}))


def run_config(framework, model, threads, num_batches):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", framework, model, str(threads),
                          str(num_batches)], env=peer.thread_env(threads), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(model, runs, frameworks, all_cores, num_batches, rounds):
    """Prints one model's table and returns its part of the JSON line."""
    configs = [(f, t) for f in frameworks for t in (1, all_cores)]
    best = {c: min(r["s"] for r in runs[(model,) + c]) for c in configs}
    samples = num_batches * BATCH
    print("%s, %d batches of %d, best of %d rounds:" % (model, num_batches, BATCH, rounds))
    print("  %-18s %9s %12s %10s" % ("config", "s", "samples/s", "train acc"))
    res = {}
    for f, t in configs:
        first = runs[(model, f, t)][0]
        print("  %-18s %9.3f %12.1f %10.4f" % ("%s %s %dt" % (f, first["version"], t), best[(f, t)],
                                                samples / best[(f, t)], first["acc"]))
        res["%s_%s_%dt_s" % (model, f, t)] = round(best[(f, t)], 3)
        res["%s_%s_%dt_acc" % (model, f, t)] = round(first["acc"], 4)
    if "torch" not in frameworks:
        return res
    mx_best = min(best[("mx", 1)], best[("mx", all_cores)])
    torch_best = min(best[("torch", 1)], best[("torch", all_cores)])
    ratio_best, ratio_1t = torch_best / mx_best, best[("torch", 1)] / best[("mx", 1)]
    per_round = [min(r[("torch", t)]["s"] for t in (1, all_cores)) / min(r[("mx", t)]["s"] for t in (1, all_cores))
                 for r in ({(f, t): runs[(model, f, t)][i] for f, t in configs} for i in range(rounds))]
    print("  mx best / torch best: %.2fx (target >= %.1fx: %s; rounds: %s)"
          % (ratio_best, TARGET_BEST, "met" if ratio_best >= TARGET_BEST else "NOT met",
             ", ".join("%.2f" % r for r in per_round)))
    print("  mx 1t / torch 1t:     %.2fx (target >= %.1fx: %s)"
          % (ratio_1t, TARGET_1T, "met" if ratio_1t >= TARGET_1T else "NOT met"))
    res.update({"%s_best_over_best" % model: round(ratio_best, 3), "%s_1t_over_1t" % model: round(ratio_1t, 3),
                "%s_round_ratios" % model: [round(r, 3) for r in per_round]})
    return res


def main():
    num_batches = int(os.environ.get("MX_BENCH_BATCHES", str(EPOCH_BATCHES)))
    rounds = int(os.environ.get("MX_BENCH_ROUNDS", "2"))
    models = peer.models_from_env(FCS)
    all_cores = os.cpu_count() or 1
    frameworks = peer.frameworks()
    # Each configuration runs in its own process (thread counts are read at start, and the two
    # frameworks share libopenblas), alternating, so that the shared machine's drift falls on all.
    runs = {}
    for _ in range(rounds):
        for model in models:
            for f in frameworks:
                for t in (1, all_cores):
                    runs.setdefault((model, f, t), []).append(run_config(f, model, t, num_batches))
    result = {"bench": "epoch_fashion_mnist", "batch": BATCH, "all_cores": all_cores, "batches": num_batches,
              "rounds": rounds, "targets": {"best_over_best": TARGET_BEST, "1t_over_1t": TARGET_1T}}
    for model in models:
        result.update(compare(model, runs, frameworks, all_cores, num_batches, rounds))
    print(json.dumps(result))


def flops_per_step(model):
    """Multiply-adds x 2 of one training step's GEMMs: forward, weight gradient, and data gradient
    for every layer but the first (Module does not ask for the input's gradient)."""
    fwd = [2 * BATCH * cout * side * side * cin * k * k for cin, cout, k, side in
           (LENET_CONVS if model == "lenet" else [])]
    fwd += [2 * BATCH * n_in * n_out for n_in, n_out in FCS[model]]
    return 3 * sum(fwd) - fwd[0]


def sgemm_gflops(mx, n=1024, repeats=5):
    """The best rate of one large n x n x n float32 dot, at this process's thread count."""
    a, b = mx.nd.ones((n, n)), mx.nd.ones((n, n))
    mx.nd.dot(a, b).wait_to_read()
    best = float("inf")
    for _ in range(repeats):
        tic = time.perf_counter()
        mx.nd.dot(a, b).wait_to_read()
        best = min(best, time.perf_counter() - tic)
    return 2.0 * n ** 3 / best / 1e9


def profile(model, num_batches):
    """mx's model for num_batches under mx.profiler (aggregate; MX_EXEC_BULK_SIZE=1, so that every
    op is its own engine op): per-op ms per step, what the ops leave (Python, engine, waits), and
    the GEMM floor."""
    import mx
    run = MxRun(mx, model)
    run.run(3)  # warm-up: first-touch allocations, caches
    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename=os.devnull)
    mx.profiler.set_state("run")
    seconds = run.run(num_batches)
    mx.profiler.set_state("stop")
    ops = json.loads(mx.profiler.dumps(format="json"))["Time"].get("operator", {})
    step_ms = seconds * 1e3 / num_batches
    threads = os.environ.get("MX_OMP_NUM_THREADS", "?")
    print("mx %s, batch %d, %d profiled steps, MX_OMP_NUM_THREADS=%s, MX_EXEC_BULK_SIZE=%s: %.2f ms per step"
          % (model, BATCH, num_batches, threads, os.environ.get("MX_EXEC_BULK_SIZE"), step_ms))
    print("  %-28s %10s %8s %7s" % ("op", "ms/step", "calls", "% step"))
    op_ms = 0.0
    for name, s in sorted(ops.items(), key=lambda kv: -kv[1]["Total"]):
        ms = s["Total"] / num_batches
        op_ms += ms
        print("  %-28s %10.3f %8.1f %6.1f%%" % (name, ms, s["Count"] / num_batches, 100 * ms / step_ms))
    rest = step_ms - op_ms
    print("  %-28s %10.3f %8s %6.1f%%" % ("(not in an op)", rest, "", 100 * rest / step_ms))
    gflops = sgemm_gflops(mx)
    flops = flops_per_step(model)
    floor_ms = flops / gflops / 1e6
    print("GEMM floor: %.3f GFLOP per step / %.1f GFLOP/s (1024^3 sgemm, same threads) = %.2f ms; "
          "%.2f ms per step (%.0f%%) is above it" % (flops / 1e9, gflops, floor_ms, step_ms - floor_ms,
                                                     100 * (step_ms - floor_ms) / step_ms))
    print(json.dumps({"bench": "epoch_profile", "model": model, "threads": threads, "step_ms": round(step_ms, 3),
                      "ops_ms": {k: round(v["Total"] / num_batches, 4) for k, v in ops.items()},
                      "not_in_op_ms": round(rest, 3), "gflop_per_step": round(flops / 1e9, 4),
                      "sgemm_gflops": round(gflops, 1), "gemm_floor_ms": round(floor_ms, 3)}))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", action="store_true", help="profile mx's training steps instead (one process)")
    p.add_argument("--model", choices=sorted(FCS), default="lenet", help="--profile's model")
    p.add_argument("--batches", type=int, default=50, help="--profile's steps")
    p.add_argument("--worker", nargs=4, metavar=("FRAMEWORK", "MODEL", "THREADS", "BATCHES"), help=argparse.SUPPRESS)
    return p.parse_args()


if __name__ == "__main__":
    args = parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], int(args.worker[2]), int(args.worker[3]))
    elif args.profile:
        if os.environ.get("MX_EXEC_BULK_SIZE") != "1" or "MX_OMP_NUM_THREADS" not in os.environ:
            # Both are read when the library starts: rerun this process with them set (1 thread
            # unless MX_OMP_NUM_THREADS says otherwise).
            env = dict(os.environ, MX_EXEC_BULK_SIZE="1")
            env.setdefault("MX_OMP_NUM_THREADS", "1")
            sys.exit(subprocess.run([sys.executable] + sys.argv, env=env).returncode)
        profile(args.model, args.batches)
    else:
        main()
