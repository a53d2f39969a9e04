"""gluon.Trainer against a numpy re-implementation of MXNet's update rules (SGD with momentum and
weight decay, Adam) on a loss whose gradient is written out here: sum(c * (w - t)^2) per context,
so the summed gradient is sum_k 2 c_k (w - t). One and two contexts, the store updating or not."""
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import mx
from mx import autograd
from mx.base import MXNetError
from mx.gluon.block import HybridBlock
from mx.gluon.parameter import Parameter
from mx.gluon.trainer import Trainer

SHAPES = {"fc_weight": (3, 4), "fc_bias": (4,)}
BATCH = 8


def contexts(n):
    return [mx.cpu(i) for i in range(n)]


def make_params(ctxs, mults=None, seed=0):
    rng = np.random.RandomState(seed)
    params, init = [], {}
    for name, shape in SHAPES.items():
        p = Parameter(name, shape=shape, **(mults or {}).get(name, {}))
        p.initialize(ctx=ctxs)
        init[name] = rng.uniform(-1, 1, shape)
        p.set_data(mx.nd.array(init[name]))
        params.append(p)
    return params, init


class Problem:
    """Per step and context a coefficient c and target t for each parameter; forward + backward on
    mx, and the summed gradient in float64 numpy."""

    def __init__(self, n_ctx, seed=1):
        rng = np.random.RandomState(seed)
        self.n_ctx = n_ctx
        self.draw = lambda: {name: (rng.uniform(0.5, 1.5, (n_ctx,) + s), rng.uniform(-1, 1, s))
                             for name, s in SHAPES.items()}

    def backward(self, params, ctxs, data):
        losses = []
        with autograd.record():
            for k, ctx in enumerate(ctxs):
                terms = []
                for p in params:
                    c, t = data[p.name]
                    d = p.data(ctx) - mx.nd.array(t, ctx=ctx)
                    terms.append((mx.nd.array(c[k], ctx=ctx) * d * d).sum())
                losses.append(terms[0] + terms[1])
        autograd.backward(losses)

    @staticmethod
    def grad(w, data, name):
        c, t = data[name]
        return sum(2 * c[k] * (w - t) for k in range(c.shape[0]))


def sgd_ref(w, g, mom, lr, wd, momentum, rescale):
    """MXNet's sgd_mom_update / sgd_update."""
    step = -lr * (rescale * g + wd * w)
    if momentum:
        mom[:] = momentum * mom + step
        return w + mom
    return w + step


def adam_ref(w, g, state, lr, wd, t, rescale, b1=0.9, b2=0.999, eps=1e-8):
    """MXNet's Adam: the bias corrections folded into the learning rate."""
    m, v = state
    g = rescale * g + wd * w
    m[:] = b1 * m + (1 - b1) * g
    v[:] = b2 * v + (1 - b2) * g * g
    lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    return w - lr_t * m / (np.sqrt(v) + eps)


def check_weights(params, ctxs, ref, rtol=1e-5, atol=1e-6):
    for p in params:
        for ctx in ctxs:
            np.testing.assert_allclose(p.data(ctx).asnumpy(), ref[p.name], rtol=rtol, atol=atol,
                                       err_msg="%s on %s" % (p.name, ctx))


def run_sgd(n_ctx, update_on_kvstore, kvstore="device", steps=4):
    ctxs = contexts(n_ctx)
    params, ref = make_params(ctxs)
    trainer = Trainer(params, "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01},
                      kvstore=kvstore, update_on_kvstore=update_on_kvstore)
    prob = Problem(n_ctx)
    mom = {n: np.zeros(s) for n, s in SHAPES.items()}
    for _ in range(steps):
        data = prob.draw()
        prob.backward(params, ctxs, data)
        trainer.step(BATCH)
        for n in SHAPES:
            ref[n] = sgd_ref(ref[n], Problem.grad(ref[n], data, n), mom[n], 0.1, 0.01, 0.9, 1.0 / BATCH)
        check_weights(params, ctxs, ref)
    return trainer, params


@pytest.mark.parametrize("n_ctx", [1, 2])
@pytest.mark.parametrize("update_on_kvstore", [None, True, False])
def test_sgd_momentum_wd(n_ctx, update_on_kvstore):
    trainer, _ = run_sgd(n_ctx, update_on_kvstore)
    # MXNet: no store for one context with a local store type; with two the store sums.
    assert (trainer._kvstore is None) == (n_ctx == 1)
    if n_ctx == 2:
        assert trainer._update_on_kvstore == (update_on_kvstore is not False)


def test_one_context_with_an_explicit_store_updates_on_it():
    trainer, _ = run_sgd(1, True, kvstore=mx.kv.create("local"))
    assert trainer._kvstore is not None and trainer._update_on_kvstore


@pytest.mark.parametrize("n_ctx,update_on_kvstore", [(1, None), (2, True), (2, False)])
def test_adam(n_ctx, update_on_kvstore):
    ctxs = contexts(n_ctx)
    params, ref = make_params(ctxs)
    trainer = Trainer(params, "adam", {"learning_rate": 0.05, "wd": 0.001}, kvstore="local",
                      update_on_kvstore=update_on_kvstore)
    prob = Problem(n_ctx, seed=2)
    state = {n: (np.zeros(s), np.zeros(s)) for n, s in SHAPES.items()}
    for t in range(1, 5):
        data = prob.draw()
        prob.backward(params, ctxs, data)
        trainer.step(BATCH)
        for n in SHAPES:
            ref[n] = adam_ref(ref[n], Problem.grad(ref[n], data, n), state[n], 0.05, 0.001, t, 1.0 / BATCH)
        check_weights(params, ctxs, ref, rtol=1e-4, atol=1e-5)


def test_update_on_kvstore_both_ways_give_the_same_weights():
    weights = []
    for on_kv in (True, False):
        _, params = run_sgd(2, on_kv, kvstore="local", steps=3)
        weights.append({p.name: p.data(mx.cpu(1)).asnumpy() for p in params})
    for n in SHAPES:
        np.testing.assert_allclose(weights[0][n], weights[1][n], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n_ctx", [1, 2])
def test_lr_mult_and_wd_mult(n_ctx):
    ctxs = contexts(n_ctx)
    mults = {"fc_weight": {"lr_mult": 0.5, "wd_mult": 2.0}, "fc_bias": {"wd_mult": 0.0}}
    params, ref = make_params(ctxs, mults)
    trainer = Trainer({p.name: p for p in params}, "sgd", {"learning_rate": 0.2, "wd": 0.1})
    prob = Problem(n_ctx, seed=3)
    for step in range(3):
        if step == 2:  # a later change of a Parameter's mult applies (param_dict is shared, not copied)
            params[1].lr_mult = 3.0
            mults["fc_bias"]["lr_mult"] = 3.0
        data = prob.draw()
        prob.backward(params, ctxs, data)
        trainer.step(BATCH)
        for n in SHAPES:
            lr = 0.2 * mults[n].get("lr_mult", 1.0)
            wd = 0.1 * mults[n].get("wd_mult", 1.0)
            ref[n] = sgd_ref(ref[n], Problem.grad(ref[n], data, n), None, lr, wd, 0.0, 1.0 / BATCH)
        check_weights(params, ctxs, ref)


@pytest.mark.parametrize("optimizer,opt_params", [("adam", {"learning_rate": 0.05}),
                                                  ("sgd", {"learning_rate": 0.1, "momentum": 0.9})])
@pytest.mark.parametrize("n_ctx,update_on_kvstore", [(1, None), (2, True), (2, False)])
def test_save_load_states_continues_identically(tmp_path, optimizer, opt_params, n_ctx, update_on_kvstore):
    ctxs = contexts(n_ctx)
    prob = Problem(n_ctx, seed=4)
    batches = [prob.draw() for _ in range(5)]
    fname = str(tmp_path / "trainer.states")

    params, _ = make_params(ctxs)
    trainer = Trainer(params, optimizer, dict(opt_params), kvstore="local", update_on_kvstore=update_on_kvstore)
    for data in batches[:3]:
        prob.backward(params, ctxs, data)
        trainer.step(BATCH)
    trainer.save_states(fname)
    saved = {p.name: p.data(ctxs[0]).asnumpy() for p in params}
    for data in batches[3:]:
        prob.backward(params, ctxs, data)
        trainer.step(BATCH)
    expected = {p.name: p.data(ctxs[0]).asnumpy() for p in params}

    # A new Trainer over new Parameters holding the saved weights, with a different learning rate
    # that the loaded optimizer replaces.
    params2, _ = make_params(ctxs, seed=9)
    for p in params2:
        p.set_data(mx.nd.array(saved[p.name]))
    trainer2 = Trainer(params2, optimizer, dict(opt_params, learning_rate=123.0), kvstore="local",
                       update_on_kvstore=update_on_kvstore)
    trainer2.load_states(fname)
    assert trainer2.learning_rate == opt_params["learning_rate"]
    for data in batches[3:]:
        prob.backward(params2, ctxs, data)
        trainer2.step(BATCH)
    for p in params2:
        for ctx in ctxs:
            np.testing.assert_allclose(p.data(ctx).asnumpy(), expected[p.name], rtol=1e-6, atol=1e-7)


def test_allreduce_grads_then_update_equals_step():
    ctxs = contexts(2)
    prob = Problem(2, seed=5)
    data = prob.draw()
    results = []
    for split in (False, True):
        params, ref = make_params(ctxs)
        trainer = Trainer(params, "sgd", {"learning_rate": 0.1}, kvstore="device", update_on_kvstore=False)
        prob.backward(params, ctxs, data)
        if split:
            trainer.allreduce_grads()
            for p in params:  # the summed gradient is on every context before the update
                want = Problem.grad(ref[p.name], data, p.name)
                for ctx in ctxs:
                    np.testing.assert_allclose(p.grad(ctx).asnumpy(), want, rtol=1e-5, atol=1e-6)
            trainer.update(BATCH)
        else:
            trainer.step(BATCH)
        results.append({p.name: p.data(ctxs[1]).asnumpy() for p in params})
    for n in SHAPES:
        np.testing.assert_allclose(results[0][n], results[1][n], rtol=1e-6)


def test_allreduce_grads_refused_when_the_store_updates():
    params, _ = make_params(contexts(2))
    trainer = Trainer(params, "sgd", kvstore="device", update_on_kvstore=True)
    with pytest.raises(MXNetError, match="update_on_kvstore=False"):
        trainer.allreduce_grads()


def test_learning_rate():
    params, _ = make_params(contexts(1))
    trainer = Trainer(params, "sgd", {"learning_rate": 0.3})
    assert trainer.learning_rate == pytest.approx(0.3)
    trainer.set_learning_rate(0.07)
    assert trainer.learning_rate == pytest.approx(0.07) and trainer.optimizer.lr == pytest.approx(0.07)
    sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=1.0)
    params, _ = make_params(contexts(1))  # (gluon-core allows one live Trainer per Parameter)
    trainer = Trainer(params, "sgd", {"learning_rate": 1.0, "lr_scheduler": sched})
    with pytest.raises(UserWarning):
        trainer.set_learning_rate(0.1)


def test_optimizer_instance_and_shared_parameters():
    params, ref = make_params(contexts(1))
    sgd = mx.optimizer.SGD(learning_rate=0.5)
    trainer = Trainer(params + [params[0]], sgd)  # a Parameter listed twice is updated once
    assert trainer.optimizer is sgd and len(trainer._params) == 2
    prob = Problem(1, seed=6)
    data = prob.draw()
    prob.backward(params, contexts(1), data)
    trainer.step(1)
    for n in SHAPES:
        ref[n] = sgd_ref(ref[n], Problem.grad(ref[n], data, n), None, 0.5, 0.0, 0.0, 1.0)
    check_weights(params, contexts(1), ref)


def test_stale_gradient_names_the_parameter():
    ctxs = contexts(1)
    params, ref = make_params(ctxs)
    trainer = Trainer(params, "sgd", {"learning_rate": 0.1})
    prob = Problem(1, seed=7)
    prob.backward(params, ctxs, prob.draw())
    trainer.step(BATCH)
    # Only fc_weight takes part in the next backward: fc_bias's gradient is stale.
    with autograd.record():
        loss = (params[0].data() * params[0].data()).sum()
    loss.backward()
    before = {p.name: p.data().asnumpy() for p in params}
    with pytest.raises(UserWarning, match="fc_bias") as err:
        trainer.step(BATCH)
    assert isinstance(err.value, MXNetError)
    trainer.step(BATCH, ignore_stale_grad=True)  # updates fc_weight only
    w = before["fc_weight"]
    np.testing.assert_allclose(params[0].data().asnumpy(), w - 0.1 * 2 * w / BATCH, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(params[1].data().asnumpy(), before["fc_bias"])


def test_bad_arguments_are_named(tmp_path):
    params, _ = make_params(contexts(1))
    with pytest.raises(ValueError, match="Parameters"):
        Trainer("fc_weight", "sgd")
    with pytest.raises(ValueError, match="Parameters"):
        Trainer([params[0], mx.nd.ones((2,))], "sgd")
    with pytest.raises(ValueError, match="optimizer_params"):
        Trainer(params, mx.optimizer.SGD(), {"learning_rate": 0.1})
    with pytest.raises(ValueError, match="nosuchopt"):
        Trainer(params, "nosuchopt")
    other = Parameter("other_weight", shape=(2,))
    other.initialize(ctx=contexts(2))
    with pytest.raises(ValueError, match="other_weight"):
        Trainer(params + [other], "sgd")
    with pytest.raises(MXNetError, match="'fresh_weight' has not been initialized"):
        Trainer([Parameter("fresh_weight", shape=(2,))], "sgd")
    deferred = Parameter("later_weight", shape=(0, 3), allow_deferred_init=True)
    deferred.initialize()
    with pytest.raises(MXNetError, match="later_weight"):
        Trainer([deferred], "sgd").step(1)
    trainer = Trainer(params, "sgd")
    with pytest.raises(ValueError, match="batch_size"):
        trainer.step(0)
    junk = tmp_path / "junk.states"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(MXNetError, match="junk.states"):
        trainer.load_states(str(junk))
    with pytest.raises(MXNetError, match="missing.states"):
        trainer.load_states(str(tmp_path / "missing.states"))


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LIB = os.environ.get("MX_LIBRARY_PATH", os.path.join(ROOT, "build", "release", "lib"))


@pytest.mark.skipif(shutil.which("mpirun") is None or not os.path.exists(os.path.join(LIB, "libmx_kvstore_mpi.so")),
                    reason="needs Open MPI (mpirun) and the MPI transport libmx_kvstore_mpi.so")
@pytest.mark.parametrize("update_on_kvstore,how", [("none", "object"), ("false", "name"), ("async", "server")])
def test_dist_sync_two_workers(update_on_kvstore, how):
    """Two worker processes over dist_sync, two contexts each (tests/python/dist/gluon_trainer_worker.py
    checks the weights against numpy); and over dist_async with one server (a bound on the weights)."""
    env = dict(os.environ, MX_LIBRARY_PATH=os.path.abspath(LIB), MX_OMP_NUM_THREADS="1",
               PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    worker = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dist", "gluon_trainer_worker.py")
    servers = ["-s", "1"] if update_on_kvstore == "async" else []
    cmd = [sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", "2", *servers, "--timeout", "20",
           sys.executable, worker, update_on_kvstore, how]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail("the dist_sync job did not finish within 60 s:\n%s" % out.decode("utf-8", "replace"))
    out = out.decode("utf-8", "replace")
    assert p.returncode == 0, out
    assert all("trainer %s %s ok rank %d" % (update_on_kvstore, how, r) in out for r in range(2)), out


class _Linear(HybridBlock):
    """FullyConnected without bias whose input width is learnt at the first forward (deferred init)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, 0), allow_deferred_init=True)

    def hybrid_forward(self, F, x, weight):
        return F.FullyConnected(x, weight, no_bias=True, num_hidden=self.units)


@pytest.mark.parametrize("hybridize", [False, True])
def test_block_with_deferred_init(hybridize):
    """A Trainer made before the first forward: the deferred weight joins at the first step. The
    gradient of sum(x W^T) is W's rows each equal to the column sums of x."""
    net = _Linear(3, prefix="lin_")
    net.initialize(mx.init.Constant(0.5), ctx=contexts(2))
    if hybridize:
        net.hybridize()
    trainer = Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1}, kvstore="device")
    x = np.random.RandomState(8).uniform(-1, 1, (4, 5))
    w = np.full((3, 5), 0.5)
    for _ in range(2):
        with autograd.record():
            outs = [net(mx.nd.array(x[2 * k:2 * k + 2], ctx=ctx)).sum() for k, ctx in enumerate(contexts(2))]
        autograd.backward(outs)
        trainer.step(4)
        w = w - 0.1 * np.tile(x.sum(axis=0), (3, 1)) / 4
        for ctx in contexts(2):
            np.testing.assert_allclose(net.weight.data(ctx).asnumpy(), w, rtol=1e-5, atol=1e-6)
    assert list(net.collect_params().keys()) == ["lin_weight"]


def test_compression_params_reach_the_store():
    """2bit compression on a 'device' store: each context's gradient is quantized to +-t / 0 with a
    residual kept per context (MXNet's scheme, modelled here in numpy) before the sum."""
    ctxs, t, lr = contexts(2), 0.5, 0.1
    params, ref = make_params(ctxs)
    trainer = Trainer(params, "sgd", {"learning_rate": lr}, kvstore="device",
                      compression_params={"type": "2bit", "threshold": t}, update_on_kvstore=False)
    prob = Problem(2, seed=10)
    residual = {n: [np.zeros(s, np.float32) for _ in ctxs] for n, s in SHAPES.items()}
    for _ in range(3):
        data = prob.draw()
        prob.backward(params, ctxs, data)
        trainer.step(1)
        for n in SHAPES:
            c, tgt = data[n]
            sent_sum = 0
            for k in range(len(ctxs)):
                r = (residual[n][k] + (2 * c[k] * (ref[n] - tgt)).astype(np.float32)).astype(np.float32)
                sent = np.where(r >= t, t, np.where(r <= -t, -t, 0.0)).astype(np.float32)
                residual[n][k] = r - sent
                sent_sum = sent_sum + sent
            ref[n] = ref[n] - lr * sent_sum
        check_weights(params, ctxs, ref, rtol=1e-5, atol=1e-5)


def test_a_parameter_may_be_given_to_a_second_trainer_as_in_mxnet():
    # MXNet 1.9.1 refuses a second Trainer only for sparse parameters; the newest one steps it.
    p = mx.gluon.Parameter("w", shape=(2,))
    p.initialize(mx.init.One())
    first = mx.gluon.Trainer([p], "sgd", {"learning_rate": 1.0})
    second = mx.gluon.Trainer([p], "sgd", {"learning_rate": 0.5})
    with mx.autograd.record():
        loss = (p.data() * mx.nd.array([1.0, 2.0])).sum()
    loss.backward()
    second.step(1)
    np.testing.assert_allclose(p.data().asnumpy(), 1.0 - 0.5 * np.array([1.0, 2.0]))
    del first
