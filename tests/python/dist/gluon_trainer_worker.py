"""One worker of tests/python/test_gluon_trainer.py's dist_sync test, started through tools/launch.py.
argv[1]: update_on_kvstore (none / true / false); argv[2]: 'object' (a KVStore passed in) or 'name'
('dist_sync' passed as a str). Each worker trains one Parameter on two contexts with its own
gradients; the weights must follow SGD (momentum, wd) on the gradient summed over every worker and
context, computed here in numpy."""
import os
import sys

import numpy as np

import mx
from mx import autograd
from mx.gluon.parameter import Parameter
from mx.gluon.trainer import Trainer

SHAPE = (5, 3)
LR, MOMENTUM, WD = 0.1, 0.9, 0.01


def coef(step, worker, k):
    return np.random.RandomState(100 * step + 10 * worker + k).uniform(0.5, 1.5, SHAPE)


def main(update_on_kvstore, how):
    if how == "object":
        kv = mx.kv.create("dist_sync")
        rank, workers = kv.rank, kv.num_workers
    else:
        kv = "dist_sync"
        rank, workers = int(os.environ["OMPI_COMM_WORLD_RANK"]), int(os.environ["MX_NUM_WORKERS"])
    ctxs = [mx.cpu(0), mx.cpu(1)]
    w0 = np.random.RandomState(0).uniform(-1, 1, SHAPE)
    p = Parameter("dist_weight", shape=SHAPE)
    p.initialize(ctx=ctxs)
    p.set_data(mx.nd.array(w0 + rank))  # different on every worker: worker 0's values win
    trainer = Trainer([p], "sgd", {"learning_rate": LR, "momentum": MOMENTUM, "wd": WD}, kvstore=kv,
                      update_on_kvstore=update_on_kvstore)
    ref, mom = w0.copy(), np.zeros(SHAPE)
    batch = 4 * len(ctxs) * workers  # the global batch
    for step in range(3):
        with autograd.record():
            losses = [(mx.nd.array(coef(step, rank, k), ctx=c) * p.data(c) * p.data(c)).sum()
                      for k, c in enumerate(ctxs)]
        autograd.backward(losses)
        trainer.step(batch)
        g = sum(2 * coef(step, w, k) * ref for w in range(workers) for k in range(len(ctxs)))
        mom = MOMENTUM * mom - LR * (g / batch + WD * ref)
        ref = ref + mom
        for c in ctxs:
            got = p.data(c).asnumpy()
            if not np.allclose(got, ref, rtol=1e-5, atol=1e-6):
                sys.exit("rank %d step %d on %s: max error %g\n%s\n%s" % (rank, step, c, np.abs(got - ref).max(), got, ref))
    assert trainer._distributed
    print("trainer %s %s ok rank %d" % (sys.argv[1], how, rank), flush=True)


if __name__ == "__main__":
    main({"none": None, "true": True, "false": False}[sys.argv[1]], sys.argv[2])
