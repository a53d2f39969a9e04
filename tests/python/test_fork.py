"""mx across os.fork(): the engine stops its threads before fork() and the child starts its own,
so a forked child (a DataLoader worker) runs ops, asnumpy and autograd. Values are checked against
numpy; every child is bounded by a deadline and killed past it (a hang fails, never stalls)."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import mx
from mx.gluon.data import DataLoader, Dataset

DEADLINE_S = 30


def wait_child(pid, seconds=DEADLINE_S):
    """The child's exit code, or None if it had not exited by the deadline (it is killed then)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def fork_and_run(child_fn):
    """Runs child_fn in a forked child; returns its exit code (0: child_fn returned True)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(DEADLINE_S + 5)  # no orphan outlives a killed parent
            code = 0 if child_fn() else 1
        except BaseException:  # pylint: disable=broad-except
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    return wait_child(pid)


def child_computes():
    """Imperative ops, asnumpy and autograd in the child, against numpy."""
    a_np = np.arange(12, dtype=np.float32).reshape(3, 4)
    a = mx.nd.array(a_np)
    out = mx.nd.dot(a, a.T) * 0.01 + mx.nd.exp(a * 0.1).sum(axis=1, keepdims=True)
    ok = np.allclose(out.asnumpy(), (a_np @ a_np.T) * 0.01 + np.exp(a_np * 0.1).sum(axis=1, keepdims=True), rtol=1e-5)
    x = mx.nd.array(a_np)
    x.attach_grad()
    with mx.autograd.record():
        y = (x * x).sum()
    y.backward()
    ok = ok and np.allclose(x.grad.asnumpy(), 2 * a_np)
    r = mx.nd.random.uniform(shape=(100,)).asnumpy()
    return ok and r.min() >= 0 and r.max() < 1


def test_child_runs_ops_after_fork_with_pending_work():
    a_np = np.random.RandomState(0).rand(64, 64).astype(np.float32)
    a = mx.nd.array(a_np)
    b = a
    for _ in range(20):  # pending at fork(): the engine finishes it first
        b = mx.nd.dot(b, a) * 0.01
    assert fork_and_run(child_computes) == 0
    # the parent keeps working, and the pending chain was not lost
    ref = a_np.astype(np.float64)
    for _ in range(20):
        ref = (ref @ a_np) * 0.01
    np.testing.assert_allclose(b.asnumpy(), ref, rtol=1e-3)
    assert child_computes()


def test_child_inherits_arrays_computed_before_fork():
    a = mx.nd.arange(10) * 3
    assert fork_and_run(lambda: np.array_equal((a + 1).asnumpy(), np.arange(10) * 3 + 1)) == 0
    np.testing.assert_array_equal(a.asnumpy(), np.arange(10) * 3)


def test_fork_while_another_thread_pushes():
    stop = threading.Event()
    counts = {"pushed": 0}
    x = mx.nd.zeros((8,))

    def pusher():
        while not stop.is_set():
            x[:] = x + 1  # one var, written in push order
            counts["pushed"] += 1

    t = threading.Thread(target=pusher)
    t.start()
    try:
        codes = []
        for _ in range(3):
            time.sleep(0.02)
            codes.append(fork_and_run(child_computes))
    finally:
        stop.set()
        t.join(DEADLINE_S)
    assert not t.is_alive()
    assert codes == [0, 0, 0], "0: child ok, None: child hung"
    np.testing.assert_array_equal(x.asnumpy(), np.full(8, counts["pushed"], np.float32))


class _NdSquares(Dataset):
    """Samples are NDArrays made (and transformed) with mx.nd inside the worker."""

    def __len__(self):
        return 10

    def __getitem__(self, idx):
        return mx.nd.full((3,), idx) * mx.nd.array([1, 2, 3])


def test_dataloader_workers_use_mx():
    ds = _NdSquares().transform(lambda s: mx.nd.square(s) + 1)
    loader = DataLoader(ds, batch_size=4, num_workers=2, timeout=DEADLINE_S)
    got = np.concatenate([b.asnumpy() for b in loader])
    ref = np.stack([(np.full(3, i) * [1, 2, 3]) ** 2 + 1 for i in range(10)]).astype(np.float32)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("lazy", [False, True])
def test_dataloader_workers_keep_mx_after_parent_work(lazy):
    # the parent's engine is busy between epochs; workers forked before and after keep working
    ds = _NdSquares().transform(lambda s: s * 2, lazy=lazy)
    ref = np.stack([np.full(3, i) * [1, 2, 3] * 2 for i in range(10)]).astype(np.float32)
    for _ in range(2):
        busy = mx.nd.ones((128, 128))
        for _ in range(5):
            busy = mx.nd.dot(busy, busy) * (1.0 / 128)
        loader = DataLoader(ds, batch_size=5, num_workers=2, timeout=DEADLINE_S)
        np.testing.assert_array_equal(np.concatenate([b.asnumpy() for b in loader]), ref)
        np.testing.assert_allclose(busy.asnumpy(), np.ones((128, 128)), rtol=1e-5)


class _NdRandom(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return mx.nd.random.uniform(shape=(4,))


def test_dataloader_workers_draw_different_mx_random_numbers():
    # each worker is seeded apart (as for numpy): two workers must not hand out the same stream
    batches = [b.asnumpy() for b in DataLoader(_NdRandom(), batch_size=2, num_workers=2, timeout=DEADLINE_S)]
    rows = np.concatenate(batches)
    assert ((rows >= 0) & (rows < 1)).all()
    assert len({tuple(r) for r in rows}) == len(rows), "workers repeated each other's random draws"
