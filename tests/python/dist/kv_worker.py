"""One process of a multi-process KVStore test, started by tests/python/test_kvstore_dist.py through
tools/launch.py. argv[1] names the scenario; every check compares with values computed here
(numpy), and a failing check exits non-zero with the reason."""
import os
import signal
import sys
import time

import numpy as np

import mx


def sync_sums():
    """dist_sync: pushes summed exactly over the workers, many keys per call, 1 element to 16 MB,
    int and str keys, several values per key (two CPU contexts)."""
    kv = mx.kv.create("dist_sync")
    r, n = kv.rank, kv.num_workers
    shapes = {0: (1,), 1: (3, 5), 2: (4 * 1024 * 1024,), 3: (17,)}  # key 2: 16 MB of float32
    kv.init(list(shapes), [mx.nd.full(s, 100 + r) for s in shapes.values()])
    outs = [mx.nd.zeros(s) for s in shapes.values()]
    kv.pull(list(shapes), out=outs)
    for o in outs:  # worker 0's init wins everywhere
        assert (o.asnumpy() == 100).all(), "init: %s" % o.asnumpy().ravel()[:4]
    for step in range(3):
        vals = [[mx.nd.full(s, (r + 1) * (step + 1) + k, ctx=mx.cpu(0)), mx.nd.full(s, 0.5, ctx=mx.cpu(1))]
                for k, s in shapes.items()]
        kv.push(list(shapes), vals)
        kv.pull(list(shapes), out=outs)
        for (k, s), o in zip(shapes.items(), outs):
            want = sum((w + 1) * (step + 1) + k + 0.5 for w in range(n))
            got = o.asnumpy()
            assert got.shape == s and (got == want).all(), "step %d key %d: %s != %s" % (step, k, got.ravel()[:3], want)
    # pushpull into another array, and in place; the stored value follows (a later pull sees it).
    total = n * (n + 1) / 2
    o, later = mx.nd.zeros((17,)), mx.nd.zeros((17,))
    kv.pushpull(3, mx.nd.full((17,), r + 1), out=o)
    kv.pull(3, out=later)
    assert (o.asnumpy() == total).all() and (later.asnumpy() == total).all(), (o.asnumpy(), later.asnumpy())
    v = mx.nd.full((17,), 2 * (r + 1))
    kv.pushpull(3, v)
    kv.pull(3, out=later)
    assert (v.asnumpy() == 2 * total).all() and (later.asnumpy() == 2 * total).all(), (v.asnumpy(), later.asnumpy())
    skv = mx.kv.create("dist_sync")
    skv.init(["w_a", "w_b"], [mx.nd.zeros((2, 2)), mx.nd.zeros((1,), dtype="int64")])
    skv.push(["w_a", "w_b"], [mx.nd.full((2, 2), r), mx.nd.full((1,), 1 << 40, dtype="int64")])
    a, b = mx.nd.zeros((2, 2)), mx.nd.zeros((1,), dtype="int64")
    skv.pull(["w_a", "w_b"], out=[a, b])
    assert (a.asnumpy() == n * (n - 1) / 2).all() and int(b.asnumpy()[0]) == n << 40, (a.asnumpy(), b.asnumpy())
    kv.barrier()
    print("sync_sums ok rank %d" % r)


def sync_2bit():
    """dist_sync with 2bit compression against a numpy model of every worker (residuals included)."""
    t, n_elem, steps = 0.5, 1000, 6
    kv = mx.kv.create("dist_sync")
    kv.set_gradient_compression({"type": "2bit", "threshold": t})
    r, n = kv.rank, kv.num_workers
    kv.init(7, mx.nd.zeros((n_elem,)))
    residual = np.zeros((n, n_elem), np.float32)
    grads = lambda w, s: np.random.RandomState(1000 * w + s).uniform(-1, 1, n_elem).astype(np.float32)
    out = mx.nd.zeros((n_elem,))
    for s in range(steps):
        kv.push(7, mx.nd.array(grads(r, s)))
        kv.pull(7, out=out)
        want = np.zeros(n_elem, np.float32)
        for w in range(n):
            residual[w] += grads(w, s)
            sent = np.where(residual[w] >= t, t, np.where(residual[w] <= -t, -t, 0)).astype(np.float32)
            residual[w] -= sent
            want += sent
        got = out.asnumpy()
        assert np.array_equal(got, want), "step %d: %d of %d differ" % (s, (got != want).sum(), n_elem)
    print("sync_2bit ok rank %d" % r)


def async_counter():
    """dist_async: every push applied exactly once (a counter), and SGD on a quadratic converges."""
    kv = mx.kv.create("dist_async")
    r, n = kv.rank, kv.num_workers
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=-1.0))  # w -= -1 * g: the pushes add up
    kv.init("count", mx.nd.zeros((1,)))
    for _ in range(40):
        kv.push("count", mx.nd.ones((1,)))
    kv.barrier()
    c = mx.nd.zeros((1,))
    kv.pull("count", out=c)
    assert c.asnumpy()[0] == 40 * n, c.asnumpy()
    qkv = mx.kv.create("dist_async")
    qkv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1))
    target = np.arange(10, dtype=np.float32)
    qkv.init("w", mx.nd.zeros((10,)))
    w = mx.nd.zeros((10,))
    for _ in range(150):
        qkv.pull("w", out=w)
        qkv.push("w", w - mx.nd.array(target))  # the gradient of |w - target|^2 / 2
    qkv.barrier()
    qkv.pull("w", out=w)
    assert np.abs(w.asnumpy() - target).max() < 1e-3, w.asnumpy()
    print("async_counter ok rank %d" % r)


def async_states():
    """dist_async: the servers' optimizer states saved by a worker (values against numpy) and loaded
    back (the next pushes continue from the loaded momentum)."""
    kv = mx.kv.create("dist_async")
    r = kv.rank
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    kv.init("w", mx.nd.zeros((5,)))
    kv.push("w", mx.nd.ones((5,)))  # the same gradient from every worker: the order does not matter
    kv.barrier()
    path = "/tmp/mx_kv_states_%s.params" % os.environ.get("OMPI_MCA_ess_base_jobid", "0")
    if r == 0:
        kv.save_optimizer_states(path)
        saved = mx.nd.load(path)
        mom = sum(-0.1 * 0.9 ** k for k in range(kv.num_workers))  # momentum after num_workers pushes
        assert np.allclose(saved["w:0"].asnumpy(), mom, atol=1e-6), saved["w:0"].asnumpy()
        assert int(saved["w:t"].asnumpy()[0]) == kv.num_workers
        mx.nd.save(path, {"w:0": mx.nd.zeros((5,)), "w:t": mx.nd.array([kv.num_workers], dtype="int64")})
        kv.load_optimizer_states(path)  # the momentum restarts from zero
        os.remove(path)
    kv.barrier()
    w = mx.nd.zeros((5,))
    kv.pull("w", out=w)
    before = w.asnumpy().copy()
    kv.barrier()  # every worker holds `before` before anyone pushes (a fast worker's push raced a slow pull)
    kv.push("w", mx.nd.ones((5,)))
    kv.barrier()
    kv.pull("w", out=w)
    step = sum(-0.1 * sum(0.9 ** j for j in range(k + 1)) for k in range(kv.num_workers))  # from mom = 0
    assert np.allclose(w.asnumpy() - before, step, atol=1e-5), (w.asnumpy() - before, step)
    print("async_states ok rank %d" % r)


def killed_worker():
    """Worker 2 dies mid-training; the others must fail naming it, within MX_KVSTORE_TIMEOUT."""
    kv = mx.kv.create("dist_sync")
    r = kv.rank
    kv.init(0, mx.nd.zeros((1000,)))
    out = mx.nd.zeros((1000,))
    start = time.time()
    try:
        for step in range(100000):
            if r == 2 and step == 20:
                os.kill(os.getpid(), signal.SIGKILL)
            kv.push(0, mx.nd.ones((1000,)))
            kv.pull(0, out=out)
            out.wait_to_read()
    except mx.MXNetError as e:
        print("rank %d failed after %.1f s: %s" % (r, time.time() - start, e), flush=True)
        sys.exit(3)
    print("rank %d: never noticed" % r)


def _pid_of_world_rank(rank):
    """The pid of this job's process of world rank `rank` (same machine), from /proc."""
    job = os.environ.get("OMPI_MCA_ess_base_jobid")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        except OSError:
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                is_python = b"python" in f.read().split(b"\0")[0]
        except OSError:
            continue
        if is_python and env.get(b"OMPI_COMM_WORLD_RANK") == str(rank).encode() and \
                env.get(b"OMPI_MCA_ess_base_jobid") == (job.encode() if job else None):
            return int(pid)  # the python process, not the launcher's sh around it
    raise SystemExit("no process of world rank %d found" % rank)


def killed_server():
    """dist_async: the server dies mid-training; every worker fails naming it."""
    kv = mx.kv.create("dist_async")
    r, n = kv.rank, kv.num_workers
    kv.set_optimizer(mx.optimizer.SGD(learning_rate=0.01))
    kv.init("w", mx.nd.zeros((100,)))
    out = mx.nd.zeros((100,))
    start = time.time()
    try:
        for step in range(100000):
            if r == 0 and step == 20:
                os.kill(_pid_of_world_rank(n), signal.SIGKILL)  # world rank n: the first server
            kv.push("w", mx.nd.ones((100,)))
            kv.pull("w", out=out)
            out.wait_to_read()
    except mx.MXNetError as e:
        print("rank %d failed after %.1f s: %s" % (r, time.time() - start, e), flush=True)
        sys.exit(3)
    print("rank %d: never noticed" % r)


def shape_mismatch():
    """Workers that init a key with different shapes: init fails naming the key and both shapes."""
    kv = mx.kv.create("dist_sync")
    r = kv.rank
    try:
        kv.init("emb", mx.nd.zeros((4, 3) if r != 1 else (4, 5)))
    except mx.MXNetError as e:
        msg = str(e)
        assert "emb" in msg and "(4,3)" in msg and "(4,5)" in msg and "worker 1" in msg, msg
        print("shape_mismatch ok rank %d: %s" % (r, msg))
        return
    raise SystemExit("rank %d: init with differing shapes did not fail" % r)


if __name__ == "__main__":
    globals()[sys.argv[1]]()
