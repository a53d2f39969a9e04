#!/usr/bin/python3
"""LeNet on Fashion-MNIST written imperatively: parameters are NDArrays with attach_grad, the
forward pass is mx.nd calls under mx.autograd.record, and SGD with momentum is the fused
sgd_mom_update op. The same model as examples/train_fashion_mnist.py, without Module.

    /usr/bin/python3 examples/imperative_lenet.py --num-epochs 2
"""
import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
import mx  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def init_params(ctx):
    shapes = {"conv1_weight": (20, 1, 5, 5), "conv1_bias": (20,), "conv2_weight": (50, 20, 5, 5),
              "conv2_bias": (50,), "fc1_weight": (500, 800), "fc1_bias": (500,), "fc2_weight": (10, 500),
              "fc2_bias": (10,)}
    params = {}
    for name, shape in shapes.items():
        arr = mx.nd.zeros(shape, ctx=ctx)
        mx.init.Xavier(magnitude=2.0)(mx.init.InitDesc(name), arr)
        arr.attach_grad()
        params[name] = arr
    return params


def forward(p, x):
    h = mx.nd.Convolution(x, p["conv1_weight"], p["conv1_bias"], kernel=(5, 5), num_filter=20)
    h = mx.nd.Pooling(mx.nd.relu(h), kernel=(2, 2), stride=(2, 2), pool_type="max")
    h = mx.nd.Convolution(h, p["conv2_weight"], p["conv2_bias"], kernel=(5, 5), num_filter=50)
    h = mx.nd.Pooling(mx.nd.relu(h), kernel=(2, 2), stride=(2, 2), pool_type="max")
    h = mx.nd.relu(mx.nd.FullyConnected(mx.nd.flatten(h), p["fc1_weight"], p["fc1_bias"], num_hidden=500))
    return mx.nd.FullyConnected(h, p["fc2_weight"], p["fc2_bias"], num_hidden=10)


def evaluate(p, it):
    it.reset()
    correct = total = 0
    for batch in it:
        n = batch.data[0].shape[0] - batch.pad
        pred = forward(p, batch.data[0]).asnumpy()[:n].argmax(1)
        correct += int((pred == batch.label[0].asnumpy()[:n]).sum())
        total += n
    return correct / total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--num-epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--num-examples", type=int, default=0, help="train on about this many samples (0: all)")
    args = ap.parse_args(argv)
    mx.random.seed(1)
    ctx = mx.cpu()
    parts = max(1, 60000 // args.num_examples) if args.num_examples else 1
    train = mx.io.MNISTIter(image=DATA + "/train-images-idx3-ubyte.gz", label=DATA + "/train-labels-idx1-ubyte.gz",
                            batch_size=args.batch_size, shuffle=True, num_parts=parts, part_index=0, silent=True)
    test = mx.io.MNISTIter(image=DATA + "/t10k-images-idx3-ubyte.gz", label=DATA + "/t10k-labels-idx1-ubyte.gz",
                           batch_size=args.batch_size, shuffle=False, silent=True)
    params = init_params(ctx)
    moms = {k: mx.nd.zeros(v.shape, ctx=ctx) for k, v in params.items()}
    for epoch in range(args.num_epochs):
        tic, seen, loss_sum = time.time(), 0, 0.0
        train.reset()
        for batch in train:
            x, y = batch.data[0], batch.label[0]
            with mx.autograd.record():
                loss = mx.nd.softmax_cross_entropy(forward(params, x), y)
            loss.backward()
            for k, w in params.items():
                mx.nd.sgd_mom_update(w, w.grad, moms[k], out=w, lr=args.lr, momentum=0.9, wd=1e-4,
                                     rescale_grad=1.0 / x.shape[0])
            loss_sum += float(loss.asscalar())
            seen += x.shape[0]
        print("epoch %d: train loss %.4f, %.0f samples/s, test accuracy %.4f"
              % (epoch + 1, loss_sum / seen, seen / (time.time() - tic), evaluate(params, test)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
