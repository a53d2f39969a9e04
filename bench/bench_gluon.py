#!/usr/bin/python3
"""Gluon training steps per second against PyTorch eager (issue 18), Fashion-MNIST shapes, batch 64,
synthetic data (a few fixed random batches, cycled):

  mlp    784-256-128-10 MLP, mx Gluon imperative (not hybridized) vs PyTorch eager
  lenet  the main job's LeNet, mx Gluon hybridized (one CachedOp) vs PyTorch eager

A step is forward, SoftmaxCrossEntropyLoss, backward and an SGD-with-momentum update (gluon.Trainer
/ torch.optim.SGD). Both frameworks get the same intra-op thread count (MX_BENCH_THREADS, default 1:
per-op overhead is what this measures; mx through MX_OMP_NUM_THREADS, torch through
set_num_threads). Each (framework, model) runs in its own process, alternating over rounds; each
process warms up, then reports its best of 3 timed chunks. Prints a table and one JSON line.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_gluon.py
    MX_BENCH_THREADS=2 MX_BENCH_ROUNDS=3 ...        # every core, more rounds
    ... bench/bench_gluon.py --profile mlp            # cProfile of mx's steps: what dominates
"""
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

BATCH, LR, MOMENTUM, NUM_BATCHES = 64, 0.05, 0.9, 8
STEPS = {"mlp": 200, "lenet": 40}
TARGETS = {"mlp": 1.0, "lenet": 1.2}  # mx steps/s over torch steps/s (issue 18)


def batches(model):
    rng = np.random.RandomState(0)
    shape = (BATCH, 1, 28, 28) if model == "lenet" else (BATCH, 784)
    return [(rng.uniform(0, 1, shape).astype(np.float32), rng.randint(0, 10, BATCH)) for _ in range(NUM_BATCHES)]


class MxRun:
    def __init__(self, model):
        import mx
        from mx import autograd
        from mx.gluon.loss import SoftmaxCrossEntropyLoss
        from mx.gluon.trainer import Trainer
        sys.path.insert(0, os.path.join(HERE, "..", "examples"))
        from gluon_fashion_mnist import lenet, mlp
        self.mx, self.autograd = mx, autograd
        mx.random.seed(1)
        self.net = lenet() if model == "lenet" else mlp()
        self.net.initialize(mx.init.Xavier(magnitude=2.0))
        if model == "lenet":
            self.net.hybridize()
        self.trainer = Trainer(self.net.collect_params(), "sgd", {"learning_rate": LR, "momentum": MOMENTUM})
        self.loss_fn = SoftmaxCrossEntropyLoss()
        self.data = [(mx.nd.array(x), mx.nd.array(y)) for x, y in batches(model)]
        self.version = mx.__version__
        self.i = 0

    def step(self):
        x, y = self.data[self.i % NUM_BATCHES]
        self.i += 1
        with self.autograd.record():
            loss = self.loss_fn(self.net(x), y)
        loss.backward()
        self.trainer.step(BATCH)

    def sync(self):
        self.mx.nd.waitall()


class TorchRun:
    def __init__(self, model, threads):
        import torch
        nn = torch.nn
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        if model == "lenet":
            self.net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5),
                                     nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.ReLU(),
                                     nn.Linear(500, 10))
        else:
            self.net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                     nn.Linear(128, 10))
        self.opt = torch.optim.SGD(self.net.parameters(), lr=LR, momentum=MOMENTUM)
        self.loss_fn = nn.CrossEntropyLoss()
        self.data = [(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))) for x, y in batches(model)]
        self.version = torch.__version__
        self.i = 0

    def step(self):
        x, y = self.data[self.i % NUM_BATCHES]
        self.i += 1
        self.opt.zero_grad()
        self.loss_fn(self.net(x), y).backward()
        self.opt.step()

    def sync(self):
        pass


def steps_per_s(run, n):
    for _ in range(max(5, n // 10)):  # warm-up: caches, the CachedOp, the allocator pools
        run.step()
    run.sync()
    best = 0.0
    for _ in range(3):
        tic = time.perf_counter()
        for _ in range(n):
            run.step()
        run.sync()
        best = max(best, n / (time.perf_counter() - tic))
    return best


def worker(framework, model, threads, n):
    run = MxRun(model) if framework == "mx" else TorchRun(model, threads)
    print(json.dumps({"steps_per_s": steps_per_s(run, n), "version": run.version}))


def profile(model, n):
    """cProfile of n mx steps (after a warm-up): the top functions by own time."""
    import cProfile
    import pstats
    run = MxRun(model)
    steps_per_s(run, 10)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        run.step()
    run.sync()
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(25)


def main():
    threads = int(os.environ.get("MX_BENCH_THREADS", "1"))
    rounds = int(os.environ.get("MX_BENCH_ROUNDS", "2"))
    scale = float(os.environ.get("MX_BENCH_SCALE", "1"))
    env = dict(os.environ, MX_OMP_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    frameworks = peer.frameworks()
    runs = {(f, m): [] for f in frameworks for m in STEPS}
    for _ in range(rounds):  # alternating, so that the shared machine's drift falls on both
        for m in STEPS:
            for f in frameworks:
                n = max(5, int(STEPS[m] * scale))
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", f, m, str(threads),
                                      str(n)], env=env, check=True, capture_output=True, text=True)
                runs[(f, m)].append(json.loads(out.stdout.strip().splitlines()[-1]))
    result = {"bench": "gluon_steps", "batch": BATCH, "threads": threads, "rounds": rounds}
    print("training steps/s, batch %d, %d intra-op thread%s each, best of %d rounds"
          % (BATCH, threads, "s" if threads > 1 else "", rounds))
    print("  %-34s %10s %10s %8s %8s" % ("case", "mx", "torch", "mx/torch", "target"))
    for m, label in (("mlp", "MLP 784-256-128-10, mx imperative"), ("lenet", "LeNet, mx hybridized")):
        best = {f: max(r["steps_per_s"] for r in runs[(f, m)]) for f in frameworks}
        result["%s_mx_steps_per_s" % m] = round(best["mx"], 1)
        if "torch" in best:
            ratio = best["mx"] / best["torch"]
            result["%s_torch_steps_per_s" % m] = round(best["torch"], 1)
            result["%s_mx_over_torch" % m] = round(ratio, 3)
            print("  %-34s %10.1f %10.1f %8.2f %7.1fx" % (label, best["mx"], best["torch"], ratio, TARGETS[m]))
        else:
            print("  %-34s %10.1f" % (label, best["mx"]))
    versions = {f: runs[(f, "mlp")][0]["version"] for f in frameworks}
    result.update({"%s_version" % f: v for f, v in versions.items()})
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) == 3 and sys.argv[1] == "--profile":
        profile(sys.argv[2], STEPS.get(sys.argv[2], 50))
    else:
        main()
