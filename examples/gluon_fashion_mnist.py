#!/usr/bin/python3
"""Train a LeNet-like CNN (or an MLP) on Fashion-MNIST with Gluon: HybridSequential layers,
gluon.data.DataLoader over FashionMNIST, transforms.ToTensor, SoftmaxCrossEntropyLoss, gluon.Trainer (SGD with
momentum) and mx.metric.Accuracy, with a progress bar per epoch and test accuracy after each.

    /usr/bin/python3 examples/gluon_fashion_mnist.py                      # LeNet, hybridized, 1 context
    /usr/bin/python3 examples/gluon_fashion_mnist.py --num-contexts 2     # each batch split over cpu(0), cpu(1)
    /usr/bin/python3 examples/gluon_fashion_mnist.py --epochs 1 --num-examples 600 --no-hybridize

With --num-contexts N each batch is split with gluon.utils.split_and_load; the Trainer sums the N
gradients through a KVStore ('device') and every context's copy of the weights gets the same update.
The data is Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))  # a checkout; an installed mx works too

import mx  # noqa: E402
from mx import autograd  # noqa: E402
from mx.gluon import nn  # noqa: E402
from mx.gluon.data import DataLoader  # noqa: E402
from mx.gluon.data.vision import FashionMNIST, transforms  # noqa: E402
from mx.gluon.loss import SoftmaxCrossEntropyLoss  # noqa: E402
from mx.gluon.trainer import Trainer  # noqa: E402
from mx.gluon.utils import split_and_load  # noqa: E402

TARGET_ACCURACY = 0.90


def lenet(num_classes=10):
    """The main job's LeNet (examples/train_fashion_mnist.py) as Gluon layers."""
    net = nn.HybridSequential(prefix="lenet_")
    with net.name_scope():
        net.add(nn.Conv2D(20, kernel_size=5, activation="relu"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Conv2D(50, kernel_size=5, activation="relu"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Flatten(),
                nn.Dense(500, activation="relu"),
                nn.Dense(num_classes))
    return net


def mlp(num_classes=10):
    """784-256-128-10 (Dense flattens its input)."""
    net = nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(nn.Dense(256, activation="relu"), nn.Dense(128, activation="relu"), nn.Dense(num_classes))
    return net


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--network", choices=["lenet", "mlp"], default="lenet")
    p.add_argument("--epochs", "--num-epochs", dest="epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=128, help="the whole batch, split over the contexts")
    p.add_argument("--lr", type=float, default=0.05,
                   help="initial learning rate (SGD with momentum 0.9; 5x lower at 1/2 and 4/5 of the epochs)")
    p.add_argument("--wd", type=float, default=1e-4, help="weight decay")
    p.add_argument("--num-contexts", type=int, default=1, help="split each batch over cpu(0) .. cpu(N-1)")
    p.add_argument("--device", default="cpu", help="cpu or gpu: the kind of the contexts")
    p.add_argument("--hybridize", dest="hybridize", action="store_true", default=True,
                   help="run the network as a cached graph (default)")
    p.add_argument("--no-hybridize", dest="hybridize", action="store_false", help="run it op by op")
    p.add_argument("--kvstore", default="device", help="how the Trainer sums the contexts' gradients")
    p.add_argument("--engine", choices=["threaded", "naive"], default="threaded")
    p.add_argument("--num-examples", type=int, default=0, help="train on the first N samples only (0: all)")
    p.add_argument("--num-test-examples", type=int, default=0, help="test on the first N samples only (0: all)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out-dir", default=None, help="save the trained parameters here (net.save_parameters)")
    args = p.parse_args(argv)
    if args.num_contexts < 1 or args.batch_size < args.num_contexts:
        p.error("--num-contexts must be >= 1 and at most --batch-size")
    if args.device not in ("cpu", "gpu"):
        p.error("--device must be cpu or gpu, not %r" % args.device)
    return args


def loaders(args):
    """DataLoaders of raw (N, 28, 28, 1) uint8 batches; transforms.ToTensor turns each whole batch
    into (N, 1, 28, 28) float32 in [0, 1] (it takes a batch as MXNet's does): one op per batch rather
    than one per image, which in Python would cost more than the LeNet step itself."""
    for name in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        if not os.path.exists(os.path.join(args.data_dir, name)):
            raise SystemExit("%s is missing: install Debian's dataset-fashion-mnist (scripts/setup.sh does)"
                             % os.path.join(args.data_dir, name))
    train = FashionMNIST(args.data_dir, train=True)
    if args.num_examples:
        train = train.take(args.num_examples)
    test = FashionMNIST(args.data_dir, train=False)
    if args.num_test_examples:
        test = test.take(args.num_test_examples)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True,
                              last_batch="discard" if len(train) >= args.batch_size else "keep",
                              num_workers=args.num_workers)
    test_loader = DataLoader(test, batch_size=500, num_workers=args.num_workers)
    return train_loader, test_loader


def schedule(epochs, batches_per_epoch, lr):
    """The learning rate drops 5x at half and at four fifths of the epochs (as the main job's)."""
    steps = sorted({e * batches_per_epoch for e in (epochs // 2, epochs * 4 // 5) if e > 0})
    return mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=0.2, base_lr=lr) if steps else None


def evaluate(net, loader, ctxs, loss_fn):
    """(accuracy, mean cross-entropy) over loader."""
    acc, loss_sum, n = mx.metric.Accuracy(), 0.0, 0
    to_tensor = transforms.ToTensor()
    for data, label in loader:
        data = to_tensor(data)
        for x, y in zip(split_and_load(data, ctxs, even_split=False), split_and_load(label, ctxs, even_split=False)):
            out = net(x)
            acc.update([y], [out])
            loss_sum += float(loss_fn(out, y).sum().asscalar())
            n += x.shape[0]
    return acc.get()[1], loss_sum / max(n, 1)


def train(args):
    """Trains as args say; returns (net, history) with one dict per epoch: epoch, train_acc, train_ce,
    test_acc, test_ce, seconds."""
    mx.engine.set_engine_type(args.engine)
    mx.random.seed(args.seed)
    ctxs = [mx.Context(args.device, i) for i in range(args.num_contexts)]
    net = lenet() if args.network == "lenet" else mlp()
    net.initialize(mx.init.Xavier(magnitude=2.0), ctx=ctxs)
    if args.hybridize:
        net.hybridize()
    train_loader, test_loader = loaders(args)
    num_batches = len(train_loader)
    trainer = Trainer(net.collect_params(), "sgd",
                      {"learning_rate": args.lr, "momentum": 0.9, "wd": args.wd,
                       "lr_scheduler": schedule(args.epochs, num_batches, args.lr)}, kvstore=args.kvstore)
    loss_fn = SoftmaxCrossEntropyLoss()
    to_tensor = transforms.ToTensor()  # (N, 28, 28, 1) uint8 -> (N, 1, 28, 28) float32 in [0, 1]
    print("mx %s: Gluon %s on Fashion-MNIST, %d epochs, batch %d over %s, %s, %s engine; %d training batches"
          % (mx.__version__, args.network, args.epochs, args.batch_size, ", ".join(str(c) for c in ctxs),
             "hybridized" if args.hybridize else "imperative", args.engine, num_batches), flush=True)
    history = []
    for epoch in range(args.epochs):
        tic = time.time()
        accuracy, mean_loss, seen = mx.metric.Accuracy(), mx.metric.Loss(), 0
        metric = mx.metric.CompositeEvalMetric([accuracy, mean_loss])  # what the progress bar shows
        progress = mx.callback.ProgressBar(num_batches, batch_size=args.batch_size)
        for nbatch, (data, label) in enumerate(train_loader):
            data = to_tensor(data)
            xs, ys = split_and_load(data, ctxs), split_and_load(label, ctxs)
            with autograd.record():
                outs = [net(x) for x in xs]
                losses = [loss_fn(out, y) for out, y in zip(outs, ys)]
            autograd.backward(losses)
            trainer.step(data.shape[0])
            accuracy.update(ys, outs)
            mean_loss.update(None, losses)
            seen += data.shape[0]
            progress(mx.model.BatchEndParam(epoch, nbatch, metric, locals()))
        train_time = time.time() - tic
        test_acc, test_ce = evaluate(net, test_loader, ctxs, loss_fn)
        history.append({"epoch": epoch + 1, "train_acc": accuracy.get()[1], "train_ce": mean_loss.get()[1],
                        "test_acc": test_acc, "test_ce": test_ce, "seconds": train_time})
        print("Epoch[%d] train loss %.4f accuracy %.4f  test accuracy %.4f  (%.1f s, %.0f samples/s, lr %.4g)"
              % (epoch, history[-1]["train_ce"], history[-1]["train_acc"], test_acc, train_time,
                 seen / max(train_time, 1e-9), trainer.learning_rate), flush=True)
    return net, history


def main(argv=None):
    args = parse_args(argv)
    tic = time.time()
    net, history = train(args)
    elapsed = time.time() - tic
    if args.out_dir:
        os.makedirs(args.out_dir, exist_ok=True)
        fname = os.path.join(args.out_dir, "%s-gluon-%04d.params" % (args.network, args.epochs))
        net.save_parameters(fname)
        print("parameters saved to %s" % fname)
    final = history[-1]["test_acc"]
    print("trained in %.1f s; test accuracy %.4f: %s the %.0f%% target"
          % (elapsed, final, "reached" if final >= TARGET_ACCURACY else "BELOW", 100 * TARGET_ACCURACY))
    return 0 if final >= TARGET_ACCURACY or args.num_examples else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except mx.MXNetError as e:  # a bad device, a missing file: one line, not a traceback
        sys.exit("gluon_fashion_mnist: %s" % e)
