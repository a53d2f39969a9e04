#!/usr/bin/python3
"""An image classifier written the way MXNet 1.x users write one: Module.fit with a Speedometer,
do_checkpoint and a FactorScheduler, on Fashion-MNIST. It imports `mxnet`, so it runs unchanged
on MXNet 1.9.1 or on mx with the optional alias package on the path:

    PYTHONPATH=bindings/python:bindings/mxnet-alias /usr/bin/python3 examples/mxnet_module_classifier.py
"""
import argparse
import logging
import os

import mxnet as mx


def get_symbol(num_classes=10):
    data = mx.sym.var("data")
    net = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name="conv1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.Pooling(net, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool1")
    net = mx.sym.Flatten(net, name="flatten")
    net = mx.sym.FullyConnected(net, num_hidden=128, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu2")
    net = mx.sym.FullyConnected(net, num_hidden=num_classes, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def main():
    p = argparse.ArgumentParser(description="Module + Speedometer + do_checkpoint + FactorScheduler")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--num-epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--num-examples", type=int, default=60000, help="train on the first N images")
    p.add_argument("--log-every", type=int, default=50, help="Speedometer: batches between reports")
    p.add_argument("--model-prefix", default="out/mxnet_module_classifier/model")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    def path(name):
        return os.path.join(args.data_dir, name)
    parts = max(1, 60000 // args.num_examples)
    train = mx.io.MNISTIter(image=path("train-images-idx3-ubyte.gz"), label=path("train-labels-idx1-ubyte.gz"),
                            batch_size=args.batch_size, shuffle=True, num_parts=parts, part_index=0)
    val = mx.io.MNISTIter(image=path("t10k-images-idx3-ubyte.gz"), label=path("t10k-labels-idx1-ubyte.gz"),
                          batch_size=args.batch_size, shuffle=False)

    os.makedirs(os.path.dirname(args.model_prefix) or ".", exist_ok=True)
    epoch_size = max(1, args.num_examples // args.batch_size)
    scheduler = mx.lr_scheduler.FactorScheduler(step=epoch_size, factor=0.5)
    mod = mx.mod.Module(get_symbol(), context=mx.cpu())
    mod.fit(train, eval_data=val, eval_metric="acc", num_epoch=args.num_epochs,
            optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4,
                                               "lr_scheduler": scheduler},
            initializer=mx.init.Xavier(magnitude=2.0),
            batch_end_callback=mx.callback.Speedometer(args.batch_size, args.log_every),
            epoch_end_callback=mx.callback.do_checkpoint(args.model_prefix))
    name, acc = mod.score(val, "acc")[0]
    print("final validation %s=%.4f" % (name, acc))

    # The checkpoint loads back the MXNet way and predicts the same.
    sym, arg_params, aux_params = mx.model.load_checkpoint(args.model_prefix, args.num_epochs)
    again = mx.mod.Module(sym, context=mx.cpu())
    again.bind(data_shapes=val.provide_data, label_shapes=val.provide_label, for_training=False)
    again.set_params(arg_params, aux_params)
    print("reloaded validation %s=%.4f" % again.score(val, "acc")[0])


if __name__ == "__main__":
    main()
