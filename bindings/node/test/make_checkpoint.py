#!/usr/bin/python3
"""Set-up of the Node checkpoint test: trains a small MLP briefly on Fashion-MNIST with the Python
binding, saves the checkpoint, and saves what Python predicts with it for the first test images.

    /usr/bin/python3 make_checkpoint.py OUT_DIR [--steps 300] [--num-predict 1000]

OUT_DIR receives mlp-symbol.json + mlp-0001.params (MXNet's checkpoint format), probs.f32 (the
softmax outputs, float32 little-endian, num-predict x 10), classes.i32 (their argmax) and
meta.json (with the accuracy on the whole test set, 4 decimals). libmx comes from MX_LIBRARY_PATH; `import mx` from this checkout's bindings/python.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import numpy as np  # noqa: E402

import mx  # noqa: E402


def mlp():
    net = mx.sym.Flatten(mx.sym.Variable("data"), name="flatten")
    net = mx.sym.FullyConnected(net, num_hidden=128, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.FullyConnected(net, num_hidden=10, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-predict", type=int, default=1000)
    args = p.parse_args()
    data = lambda name: os.path.join(args.data_dir, name)
    mx.random.seed(7)

    # Train: `steps` SGD steps on the first steps * batch_size training images.
    parts = max(1, 60000 // (args.steps * args.batch_size))
    train = mx.io.MNISTIter(image=data("train-images-idx3-ubyte.gz"), label=data("train-labels-idx1-ubyte.gz"),
                            batch_size=args.batch_size, shuffle=True, seed=7, num_parts=parts, silent=True)
    mod = mx.mod.Module(mlp(), context=mx.cpu())
    mod.bind(train.provide_data, train.provide_label)
    mod.init_params(mx.init.Xavier(magnitude=2.0))
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    steps = 0
    while steps < args.steps:
        train.reset()
        for batch in train:
            mod.forward_backward(batch)
            mod.update()
            steps += 1
            if steps == args.steps:
                break
    prefix = os.path.join(args.out_dir, "mlp")
    mod.save_checkpoint(prefix, 1)

    # Predict with the checkpoint as saved (not the module in memory), on the whole test set.
    batch = 100
    test = mx.io.MNISTIter(image=data("t10k-images-idx3-ubyte.gz"), label=data("t10k-labels-idx1-ubyte.gz"),
                           batch_size=batch, shuffle=False, silent=True)
    loaded = mx.mod.Module.load(prefix, 1)
    loaded.bind(test.provide_data, for_training=False)
    all_probs = loaded.predict(test).asnumpy()  # batches of 100: all 10000 images, none padded
    probs = all_probs[:args.num_predict].astype("<f4")
    classes = probs.argmax(axis=1).astype("<i4")
    probs.tofile(os.path.join(args.out_dir, "probs.f32"))
    classes.tofile(os.path.join(args.out_dir, "classes.i32"))
    test.reset()
    labels = np.concatenate([b.label[0].asnumpy() for b in test])
    meta = {"prefix": prefix, "epoch": 1, "num": int(probs.shape[0]), "num_classes": int(probs.shape[1]),
            "steps": steps, "test_accuracy": "%.4f" % (all_probs.argmax(axis=1) == labels).mean()}
    with open(os.path.join(args.out_dir, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
