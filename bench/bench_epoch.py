#!/usr/bin/python3
"""One epoch of the main job (LeNet on Fashion-MNIST, batch 128, SGD with momentum, CPU) in mx
(mx.mod.Module.fit over mx.io.MNISTIter) and in PyTorch (the same model, batch, optimizer and
initial learning rate over in-memory tensors), in one run with the same thread count. Prints both
and one JSON line. Each epoch runs in its own process; rounds alternate mx and torch.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_epoch.py
    MX_BENCH_BATCHES=50 ...   # a shorter run
"""
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "examples"))
import mx  # noqa: E402
from train_fashion_mnist import lenet  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
BATCH, LR, MOMENTUM, WD = 128, 0.05, 0.9, 1e-4


class MxRun:
    """mx.mod.Module over mx.io.MNISTIter; run(k) trains the next k batches (Module.fit's loop body)."""

    def __init__(self):
        self.train = mx.io.MNISTIter(image=DATA + "/train-images-idx3-ubyte.gz",
                                     label=DATA + "/train-labels-idx1-ubyte.gz", batch_size=BATCH, shuffle=True,
                                     seed=1, silent=True)
        self.mod = mx.mod.Module(lenet())
        self.mod.bind(self.train.provide_data, self.train.provide_label)
        mx.random.seed(1)
        self.mod.init_params(mx.init.Xavier(magnitude=2.0))
        self.mod.init_optimizer(optimizer="sgd",
                                optimizer_params={"learning_rate": LR, "momentum": MOMENTUM, "wd": WD})
        self.metric = mx.metric.Accuracy()
        self.batches = iter(self.train)
        mx.nd.waitall()

    def run(self, k):
        tic = time.perf_counter()
        for _ in range(k):
            batch = next(self.batches)
            self.mod.forward_backward(batch)
            self.mod.update()
            self.mod.update_metric(self.metric, batch.label, pad=batch.pad)
        mx.nd.waitall()
        return time.perf_counter() - tic

    def accuracy(self):
        return self.metric.get()[1]


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw[4:4 + 4 * ndim], dtype=">u4")
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


class TorchRun:
    """The same model, initialisation rule, loss and optimizer in PyTorch over in-memory tensors."""

    def __init__(self, torch):
        nn = self.nn = torch.nn
        self.torch = torch
        torch.manual_seed(1)
        self.x = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 256.0).unsqueeze(1)
        self.y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
        self.model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5),
                                   nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.ReLU(),
                                   nn.Linear(500, 10))
        for m in self.model:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight, gain=(2.0 / 3.0) ** 0.5)  # = mx Xavier(magnitude=2)
                nn.init.zeros_(m.bias)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
        self.loss_fn = nn.CrossEntropyLoss()
        self.perm = torch.randperm(self.x.shape[0])
        self.cursor = self.correct = self.seen = 0

    def run(self, k):
        tic = time.perf_counter()
        for _ in range(k):
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


def worker(name, num_batches):
    """One framework's epoch in this process: prints {"s": seconds, "acc": train accuracy}."""
    if name == "mx":
        r = MxRun()
    else:
        import torch
        torch.set_num_threads(os.cpu_count())
        r = TorchRun(torch)
    seconds = r.run(num_batches)
    print(json.dumps({"s": seconds, "acc": r.accuracy(),
                      "version": mx.__version__ if name == "mx" else r.torch.__version__}))


def main():
    num_batches = int(os.environ.get("MX_BENCH_BATCHES", "468"))  # 468 full batches: one epoch
    rounds = int(os.environ.get("MX_BENCH_ROUNDS", "2"))
    threads = os.cpu_count()
    try:
        import torch  # noqa: F401
        names = ["mx", "torch"]
    except ImportError:
        print("torch: not installed (Debian: python3-torch)")
        names = ["mx"]
    # Each epoch runs in its own process (the two share libopenblas, whose thread settings would
    # otherwise leak from one to the other), alternating, so that the shared machine's drift falls
    # on both.
    runs = {n: [] for n in names}
    for _ in range(rounds):
        for n in names:
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", n, str(num_batches)],
                                 check=True, capture_output=True, text=True)
            runs[n].append(json.loads(out.stdout.strip().splitlines()[-1]))
    samples = num_batches * BATCH
    result = {"bench": "epoch_lenet_fashion_mnist", "batch": BATCH, "threads": threads, "batches": num_batches,
              "rounds": rounds}
    for n in names:
        best = min(r["s"] for r in runs[n])
        print("%-16s best of %d: %6.2f s for %d samples, %7.1f samples/s, train accuracy %.4f (%d threads)"
              % (n + " " + runs[n][0]["version"], rounds, best, samples, samples / best, runs[n][0]["acc"], threads))
        result[n + "_s"] = round(best, 3)
        result[n + "_samples_per_s"] = round(samples / best, 1)
    if "torch" in runs:
        per_round = [t["s"] / m["s"] for m, t in zip(runs["mx"], runs["torch"])]
        overall = result["torch_s"] / result["mx_s"]
        print("mx / torch throughput: %.2fx (best vs best; rounds: %s)"
              % (overall, ", ".join("%.2f" % r for r in per_round)))
        result.update(mx_over_torch=round(overall, 3), round_ratios=[round(r, 3) for r in per_round])
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
