#!/usr/bin/python3
"""The main job: train LeNet (or an MLP) on Fashion-MNIST with mx.mod.Module and mx.io.MNISTIter
(--api module, the default) or with Gluon (--api gluon: examples/gluon_fashion_mnist.py's code path,
hybridized, over gluon.data.DataLoader and gluon.Trainer).

Prints a progress bar per epoch with samples/s, train and test accuracy per epoch; saves a
checkpoint in MXNet's format (prefix-symbol.json, prefix-%04d.params) and a PNG of the training
curves. The data is Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).

    /usr/bin/python3 examples/train_fashion_mnist.py --network lenet --num-epochs 10
    /usr/bin/python3 examples/train_fashion_mnist.py --api gluon
"""
import argparse
import subprocess
import logging
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bindings", "python"))  # a checkout; an installed mx works too

import mx  # noqa: E402

TARGET_ACCURACY = 0.90


def lenet(num_classes=10):
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name="conv1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.Pooling(net, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool1")
    net = mx.sym.Convolution(net, kernel=(5, 5), num_filter=50, name="conv2")
    net = mx.sym.Activation(net, act_type="relu", name="relu2")
    net = mx.sym.Pooling(net, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool2")
    net = mx.sym.Flatten(net, name="flatten")
    net = mx.sym.FullyConnected(net, num_hidden=500, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu3")
    net = mx.sym.FullyConnected(net, num_hidden=num_classes, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def mlp(num_classes=10):
    net = mx.sym.Flatten(mx.sym.Variable("data"), name="flatten")
    net = mx.sym.FullyConnected(net, num_hidden=256, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.FullyConnected(net, num_hidden=128, name="fc2")
    net = mx.sym.Activation(net, act_type="relu", name="relu2")
    net = mx.sym.FullyConnected(net, num_hidden=num_classes, name="fc3")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--api", choices=["module", "gluon"], default="module",
                   help="train through mx.mod.Module, or through Gluon (examples/gluon_fashion_mnist.py)")
    p.add_argument("--network", choices=["lenet", "mlp"], default="lenet")
    p.add_argument("--num-epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.05,
                   help="initial learning rate (SGD with momentum 0.9; 5x lower at 1/2 and 4/5 of the epochs)")
    p.add_argument("--wd", type=float, default=1e-4, help="weight decay")
    p.add_argument("--engine", choices=["threaded", "naive"], default="threaded")
    p.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--num-examples", type=int, default=0, help="train on the first N shards' worth only (0: all)")
    p.add_argument("--out-dir", default="out/fashion_mnist", help="checkpoint and plot go here")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--kvstore", default=None,
                   help="local, device, dist_sync, dist_async (default: local; dist_sync with --num-workers > 1)")
    p.add_argument("--num-workers", type=int, default=1,
                   help="worker processes (started with tools/launch.py over mpirun); the global batch stays "
                        "--batch-size, split evenly between them")
    return p.parse_args(argv)


def device(name):
    kind, _, index = name.partition(":")
    if kind not in ("cpu", "gpu"):
        raise SystemExit("--device must be cpu, gpu or gpu:N, not %r" % name)
    return mx.Context(kind, int(index or 0))


def iterators(args):
    def path(name):
        f = os.path.join(args.data_dir, name)
        if not os.path.exists(f):
            raise SystemExit("%s is missing: install Debian's dataset-fashion-mnist (scripts/setup.sh does)" % f)
        return f
    flat = args.network == "mlp"
    # num_parts keeps a subset for a quick run: 60000 / num_parts training samples.
    parts = max(1, 60000 // args.num_examples) if args.num_examples else 1
    # With several workers each reads its shard of the (subset of the) data, with its share of the batch.
    workers, rank = args.workers, args.rank
    train = mx.io.MNISTIter(image=path("train-images-idx3-ubyte.gz"), label=path("train-labels-idx1-ubyte.gz"),
                            batch_size=args.batch_size // workers, shuffle=True, flat=flat, seed=args.seed,
                            num_parts=parts * workers, part_index=rank, silent=True)
    test = mx.io.MNISTIter(image=path("t10k-images-idx3-ubyte.gz"), label=path("t10k-labels-idx1-ubyte.gz"),
                           batch_size=args.batch_size, shuffle=False, flat=flat, silent=True)
    return train, test


def plot(history, filename):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    epochs = [h["epoch"] for h in history]
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    ax_acc.plot(epochs, [h["train_acc"] for h in history], "o-", label="train")
    ax_acc.plot(epochs, [h["test_acc"] for h in history], "s-", label="test")
    ax_acc.axhline(TARGET_ACCURACY, color="gray", linestyle=":", label="target")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend()
    ax_loss.plot(epochs, [h["train_ce"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["test_ce"] for h in history], "s-", label="test")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy")
    ax_loss.legend()
    fig.suptitle("mx: Fashion-MNIST")
    fig.tight_layout()
    fig.savefig(filename, dpi=100)
    plt.close(fig)


def schedule(num_epochs, num_batches, lr):
    """The learning rate drops 5x at half and at four fifths of the epochs."""
    steps = sorted({e * num_batches for e in (num_epochs // 2, num_epochs * 4 // 5) if e > 0})
    return mx.lr_scheduler.MultiFactorScheduler(step=steps, factor=0.2, base_lr=lr) if steps else None


def relaunch(args, argv):
    """--num-workers N outside a launched job: run this script again as N workers of one job."""
    launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "launch.py")
    cmd = [sys.executable, launcher, "-n", str(args.num_workers), sys.executable, os.path.abspath(__file__)]
    cmd += list(argv if argv is not None else sys.argv[1:])
    env = dict(os.environ)
    # Each worker computes with its share of the cores (the backend's intra-op threads).
    env.setdefault("MX_OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // args.num_workers)))
    print("train_fashion_mnist: %d workers: %s" % (args.num_workers, " ".join(cmd)), flush=True)
    return subprocess.call(cmd, env=env)


def train_gluon(args):
    """--api gluon: the Gluon example's training loop (one device), then the same outputs as the
    Module path: a checkpoint in MXNet's format (HybridBlock.export) and the curves."""
    if args.num_workers > 1 or (args.kvstore or "").startswith("dist"):
        raise SystemExit("--api gluon trains in one process; for several workers use --api module")
    sys.path.insert(0, HERE)
    import gluon_fashion_mnist
    kind, _, index = args.device.partition(":")
    if kind not in ("cpu", "gpu") or index not in ("", "0"):
        raise SystemExit("--api gluon: --device must be cpu or gpu (gluon_fashion_mnist.py --num-contexts "
                         "picks several)")
    gargs = gluon_fashion_mnist.parse_args([
        "--network", args.network, "--epochs", str(args.num_epochs), "--batch-size", str(args.batch_size),
        "--lr", str(args.lr), "--wd", str(args.wd), "--device", kind, "--engine", args.engine,
        "--num-examples", str(args.num_examples), "--data-dir", args.data_dir, "--seed", str(args.seed)])
    tic = time.time()
    net, history = gluon_fashion_mnist.train(gargs)
    elapsed = time.time() - tic
    os.makedirs(args.out_dir, exist_ok=True)
    prefix = os.path.join(args.out_dir, args.network)
    net.export(prefix, epoch=args.num_epochs)
    png = prefix + "-curves.png"
    plot(history, png)
    final = history[-1]["test_acc"]
    print("trained in %.1f s; checkpoint %s-symbol.json + %s-%04d.params; curves %s"
          % (elapsed, prefix, prefix, args.num_epochs, png))
    reached = final >= TARGET_ACCURACY
    print("test accuracy %.4f: %s the %.0f%% target" % (final, "reached" if reached else "BELOW", 100 * TARGET_ACCURACY))
    return 0 if reached or args.num_examples else 1


def main(argv=None):
    args = parse_args(argv)
    if args.api == "gluon":
        return train_gluon(args)
    launched = "OMPI_COMM_WORLD_RANK" in os.environ
    if args.num_workers > 1 and not launched:
        return relaunch(args, argv)
    if args.kvstore is None:
        args.kvstore = "dist_sync" if args.num_workers > 1 else "local"
    kv = mx.kv.create(args.kvstore) if args.kvstore.startswith("dist") else args.kvstore
    args.rank, args.workers = (kv.rank, kv.num_workers) if not isinstance(kv, str) else (0, 1)
    if args.batch_size % args.workers:
        raise SystemExit("--batch-size %d does not split evenly over %d workers" % (args.batch_size, args.workers))
    lead = args.rank == 0  # only worker 0 reports, evaluates and writes files
    logging.basicConfig(level=logging.INFO if lead else logging.WARNING, format="%(message)s")
    mx.engine.set_engine_type(args.engine)
    mx.random.seed(args.seed)
    ctx = device(args.device)
    os.makedirs(args.out_dir, exist_ok=True)
    prefix = os.path.join(args.out_dir, args.network)

    train, test = iterators(args)
    num_batches = sum(1 for _ in train)
    train.reset()
    symbol = lenet() if args.network == "lenet" else mlp()
    mod = mx.mod.Module(symbol, context=ctx)
    history = []
    metrics = lambda: mx.metric.create(["acc", "ce"])

    def on_epoch_end(epoch, sym, arg_params, aux_params):
        mod.save_checkpoint(prefix, epoch + 1)

    def on_score_end(param):
        names_values = dict(param.eval_metric.get_name_value())
        history[-1].update(test_acc=names_values["accuracy"], test_ce=names_values["cross-entropy"])

    class TrainMetrics:
        def __call__(self, param):
            if not lead:
                return
            if param.nbatch == num_batches - 1:
                names_values = dict(param.eval_metric.get_name_value())
                history.append({"epoch": param.epoch + 1, "train_acc": names_values["accuracy"],
                                "train_ce": names_values["cross-entropy"]})

    if lead:
        print("mx %s: %s on Fashion-MNIST, %d epochs, batch %d, %s engine, %s, kvstore %s (%d worker%s); "
              "%d training batches" % (mx.__version__, args.network, args.num_epochs, args.batch_size, args.engine,
                                       ctx, args.kvstore, args.workers, "s" if args.workers > 1 else "", num_batches))
    tic = time.time()
    progress = mx.callback.ProgressBar(num_batches, batch_size=args.batch_size)
    mod.fit(train, eval_data=test if lead else None, eval_metric=metrics(), validation_metric=metrics(), kvstore=kv,
            initializer=mx.init.Xavier(magnitude=2.0), optimizer="sgd",
            optimizer_params={"learning_rate": args.lr, "momentum": 0.9, "wd": args.wd,
                              "lr_scheduler": schedule(args.num_epochs, num_batches, args.lr)},
            num_epoch=args.num_epochs,
            batch_end_callback=[progress, TrainMetrics()] if lead else [],
            epoch_end_callback=on_epoch_end if lead else None, eval_end_callback=on_score_end)
    elapsed = time.time() - tic
    if not lead:
        return 0

    png = prefix + "-curves.png"
    plot(history, png)
    final = history[-1]["test_acc"]
    print("trained in %.1f s; checkpoint %s-symbol.json + %s-%04d.params; curves %s"
          % (elapsed, prefix, prefix, args.num_epochs, png))
    if final >= TARGET_ACCURACY:
        print("test accuracy %.4f: reached the %.0f%% target" % (final, 100 * TARGET_ACCURACY))
        return 0
    print("test accuracy %.4f: BELOW the %.0f%% target" % (final, 100 * TARGET_ACCURACY))
    return 0 if args.num_examples else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except mx.MXNetError as e:  # a bad device, a missing file: one line, not a traceback
        sys.exit("train_fashion_mnist: %s" % e)
