"""One worker of tests/python/test_gluon_trainer.py's dist_sync test, started through tools/launch.py.
argv[1]: update_on_kvstore (none / true / false); argv[2]: 'object' (a KVStore passed in) or 'name'
('dist_sync' passed as a str); or argv[1] 'async' (dist_async, the optimizer on the servers). Each worker trains one Parameter on two contexts with its own
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


def run_async():
    """dist_async: the servers apply SGD to each push as it comes; loss sum(w^2) from ones (worker 0's
    values win over rank + 1). Every push shrinks w by 0.2 w_stale, and with two workers a weight is
    at most two pushes stale, so w stays positive and falls below 0.8^20 after 20 own pushes."""
    kv = mx.kv.create("dist_async")
    rank = kv.rank
    p = Parameter("async_weight", shape=(4,))
    p.initialize(ctx=[mx.cpu(0)])
    p.set_data(mx.nd.ones((4,)) * (1 + rank))
    trainer = Trainer([p], "sgd", {"learning_rate": 0.1}, kvstore=kv)
    if not (p.data().asnumpy() == 1).all():
        sys.exit("rank %d: initial weights %s, not worker 0's ones" % (rank, p.data().asnumpy()))
    for _ in range(20):
        with autograd.record():
            loss = (p.data() * p.data()).sum()
        loss.backward()
        trainer.step(1)
        # Keeps the workers within a step of each other, so a weight is at most two pushes stale
        # (the bound below needs it; under load one worker could otherwise race many pushes ahead).
        kv.barrier()
    w = p.data().asnumpy()
    if not (trainer._update_on_kvstore and (w > 0).all() and (w < 0.8 ** 20).all()):
        sys.exit("rank %d: weights %s after 20 async steps" % (rank, w))
    kv.barrier()
    print("trainer async server ok rank %d" % rank, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "async":
        run_async()
        sys.exit(0)
    main({"none": None, "true": True, "false": False}[sys.argv[1]], sys.argv[2])
