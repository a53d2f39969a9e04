#!/usr/bin/python3
"""One epoch of the main job (LeNet on Fashion-MNIST, batch 128, SGD with momentum, CPU) in mx
(mx.mod.Module.fit over mx.io.MNISTIter) and in PyTorch (the same model, batch, optimizer and
initial learning rate over in-memory tensors), in one run with the same thread count. Prints both
and one JSON line.

    MX_LIBRARY_PATH=build/release/lib /usr/bin/python3 bench/bench_epoch.py
    MX_BENCH_BATCHES=50 ...   # a shorter run
"""
import gzip
import json
import os
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


def mx_epoch(num_batches):
    train = mx.io.MNISTIter(image=DATA + "/train-images-idx3-ubyte.gz", label=DATA + "/train-labels-idx1-ubyte.gz",
                            batch_size=BATCH, shuffle=True, seed=1, silent=True)
    mod = mx.mod.Module(lenet())
    mod.bind(train.provide_data, train.provide_label)
    mx.random.seed(1)
    mod.init_params(mx.init.Xavier(magnitude=2.0))
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": LR, "momentum": MOMENTUM, "wd": WD})
    metric = mx.metric.Accuracy()
    mx.nd.waitall()
    tic = time.perf_counter()
    seen = 0
    for i, batch in enumerate(train):  # Module.fit's loop body
        if i == num_batches:
            break
        mod.forward_backward(batch)
        mod.update()
        mod.update_metric(metric, batch.label, pad=batch.pad)
        seen += BATCH
    mx.nd.waitall()
    return time.perf_counter() - tic, seen, metric.get()[1]


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw[4:4 + 4 * ndim], dtype=">u4")
    return np.frombuffer(raw[4 + 4 * ndim:], dtype=np.uint8).reshape(dims)


def torch_epoch(num_batches, torch):
    nn = torch.nn
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 256.0).unsqueeze(1)
    y = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.ReLU(),
                          nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight, gain=(2.0 / 3.0) ** 0.5)  # = mx Xavier(magnitude=2)
            nn.init.zeros_(m.bias)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    loss_fn = nn.CrossEntropyLoss()
    perm = torch.randperm(x.shape[0])
    correct = seen = 0
    tic = time.perf_counter()
    for i in range(min(num_batches, x.shape[0] // BATCH)):
        idx = perm[i * BATCH:(i + 1) * BATCH]
        xb, yb = x[idx], y[idx]
        opt.zero_grad()
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        opt.step()
        correct += int((out.argmax(1) == yb).sum())
        seen += BATCH
    return time.perf_counter() - tic, seen, correct / seen


def main():
    num_batches = int(os.environ.get("MX_BENCH_BATCHES", "468"))  # 468 full batches: one epoch
    threads = os.cpu_count()
    mx_time, mx_seen, mx_acc = mx_epoch(num_batches)
    print("mx     : %6.2f s for %d samples, %7.1f samples/s, train accuracy %.4f"
          % (mx_time, mx_seen, mx_seen / mx_time, mx_acc))
    result = {"bench": "epoch_lenet_fashion_mnist", "batch": BATCH, "threads": threads, "batches": num_batches,
              "mx_s": round(mx_time, 3), "mx_samples_per_s": round(mx_seen / mx_time, 1)}
    try:
        import torch
    except ImportError:
        print("torch: not installed (Debian: python3-torch)")
    else:
        torch.set_num_threads(threads)
        t_time, t_seen, t_acc = torch_epoch(num_batches, torch)
        print("torch %s: %6.2f s for %d samples, %7.1f samples/s, train accuracy %.4f (%d threads)"
              % (torch.__version__, t_time, t_seen, t_seen / t_time, t_acc, threads))
        print("mx / torch throughput: %.2fx" % ((mx_seen / mx_time) / (t_seen / t_time)))
        result.update(torch_s=round(t_time, 3), torch_samples_per_s=round(t_seen / t_time, 1),
                      mx_over_torch=round((mx_seen / mx_time) / (t_seen / t_time), 3))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
