"""MXNet's multi-tensor SGD ops (multi_sgd_update, multi_sgd_mom_update, multi_mp_sgd_update,
multi_mp_sgd_mom_update) and the aggregated SGD path through Updater, Module.update and
gluon.Trainer: against SGD written out in float64 numpy here, and against the one-weight ops."""
import numpy as np
import pytest

import mx
from mx.base import MXNetError
from mx.gluon.parameter import Parameter
from mx.gluon.trainer import Trainer

# Odd sizes, and one above two 16384-element work items so that a call's total (> 32768 elements)
# takes the parallel path.
SHAPES = [(3, 5), (37,), (1,), (2 * 16384 + 7,), (4, 4, 3)]


def np_sgd(w, g, mom, lr, wd, momentum, rescale, clip):
    """One MXNet SGD step in float64: returns (new weight, new mom or None)."""
    gr = rescale * g
    if clip is not None and clip >= 0:
        gr = np.clip(gr, -clip, clip)
    if mom is None:
        return w - lr * (gr + wd * w), None
    mom = momentum * mom - lr * (gr + wd * w)
    return w + mom, mom


def rand_arrays(rng, dtype, shapes=SHAPES, scale=1.0):
    return [(rng.uniform(-1, 1, s) * scale).astype(dtype) for s in shapes]


def interleave(*cols):
    return [a for row in zip(*cols) for a in row]


def tol(dtype):
    return {np.float64: 1e-12, np.float32: 1e-5, np.float16: 2e-3}[dtype]


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("clip", [None, 0.6])
def test_multi_op_matches_numpy_over_steps(dtype, momentum, clip):
    rng = np.random.RandomState(0)
    w_np = rand_arrays(rng, dtype)
    m_np = [np.zeros_like(w) for w in w_np] if momentum else [None] * len(w_np)
    ws = [mx.nd.array(w, dtype=dtype) for w in w_np]
    ms = [mx.nd.zeros(w.shape, dtype=dtype) for w in w_np] if momentum else []
    lrs = [0.1, 0.05, 0.2, 0.01, 0.3]
    wds = [0.0, 0.01, 0.1, 0.001, 0.0]
    w64 = [w.astype(np.float64) for w in w_np]
    m64 = [None if m is None else m.astype(np.float64) for m in m_np]
    for _ in range(3):
        g_np = rand_arrays(rng, dtype, scale=2.0)
        gs = [mx.nd.array(g, dtype=dtype) for g in g_np]
        kw = dict(lrs=tuple(lrs), wds=tuple(wds), rescale_grad=0.7, num_weights=len(ws),
                  clip_gradient=-1.0 if clip is None else clip)
        if momentum:
            kw["momentum"] = momentum
            mx.nd.multi_sgd_mom_update(*interleave(ws, gs, ms), out=ws, **kw)
        else:
            mx.nd.multi_sgd_update(*interleave(ws, gs), out=ws, **kw)
        for k in range(len(ws)):
            w64[k], m64[k] = np_sgd(w64[k], g_np[k].astype(np.float64), m64[k], lrs[k], wds[k], momentum, 0.7, clip)
            if dtype == np.float16:  # stored 16-bit after each step, as the op does
                w64[k] = w64[k].astype(np.float16).astype(np.float64)
                m64[k] = None if m64[k] is None else m64[k].astype(np.float16).astype(np.float64)
    for k in range(len(ws)):
        np.testing.assert_allclose(ws[k].asnumpy(), w64[k], rtol=tol(dtype), atol=tol(dtype), err_msg="weight %d" % k)
        if momentum:
            np.testing.assert_allclose(ms[k].asnumpy(), m64[k], rtol=tol(dtype), atol=tol(dtype), err_msg="mom %d" % k)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_multi_mp_op_steps_the_float32_master_and_rounds(momentum):
    rng = np.random.RandomState(1)
    w32_np = rand_arrays(rng, np.float32)
    ws = [mx.nd.array(w, dtype=np.float16) for w in w32_np]
    w32 = [mx.nd.array(w, dtype=np.float32) for w in w32_np]
    ms = [mx.nd.zeros(w.shape, dtype=np.float32) for w in w32_np]
    w64 = [w.astype(np.float64) for w in w32_np]
    m64 = [np.zeros(w.shape) if momentum else None for w in w32_np]
    lrs, wds = [0.1, 0.2, 0.05, 0.1, 0.3], [0.01, 0.0, 0.1, 0.0, 0.02]
    for _ in range(3):
        g_np = rand_arrays(rng, np.float16)
        gs = [mx.nd.array(g, dtype=np.float16) for g in g_np]
        kw = dict(lrs=tuple(lrs), wds=tuple(wds), rescale_grad=0.5, clip_gradient=0.4, num_weights=len(ws))
        if momentum:
            mx.nd.multi_mp_sgd_mom_update(*interleave(ws, gs, ms, w32), out=ws, momentum=momentum, **kw)
        else:
            mx.nd.multi_mp_sgd_update(*interleave(ws, gs, w32), out=ws, **kw)
        for k in range(len(ws)):
            w64[k], m64[k] = np_sgd(w64[k], g_np[k].astype(np.float64), m64[k], lrs[k], wds[k], momentum, 0.5, 0.4)
    for k in range(len(ws)):
        np.testing.assert_allclose(w32[k].asnumpy(), w64[k], rtol=1e-5, atol=1e-6, err_msg="weight32 %d" % k)
        # the float16 weight is the rounding of its master copy
        np.testing.assert_array_equal(ws[k].asnumpy(), w32[k].asnumpy().astype(np.float16))
        if momentum:
            np.testing.assert_allclose(ms[k].asnumpy(), m64[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mp,momentum", [(False, 0.0), (False, 0.9), (True, 0.0), (True, 0.9)])
def test_multi_op_equals_the_one_weight_ops_exactly(mp, momentum):
    rng = np.random.RandomState(2)
    dtype = np.float16 if mp else np.float32
    w_np, g_np = rand_arrays(rng, dtype), rand_arrays(rng, dtype)
    lrs, wds = [0.1, 0.2, 0.05, 0.1, 0.3], [0.01, 0.0, 0.1, 0.0, 0.02]

    def fresh():
        ws = [mx.nd.array(w, dtype=dtype) for w in w_np]
        ms = [mx.nd.array(np.full(w.shape, 0.25), dtype=np.float32 if mp else dtype) for w in w_np]
        w32 = [mx.nd.array(w, dtype=np.float32) for w in w_np]
        return ws, ms, w32

    gs = [mx.nd.array(g, dtype=dtype) for g in g_np]
    common = dict(rescale_grad=0.9, clip_gradient=0.5)
    if momentum:
        common["momentum"] = momentum
    ws, ms, w32 = fresh()
    cols = [ws, gs] + ([ms] if momentum else []) + ([w32] if mp else [])
    name = "multi_%ssgd_%supdate" % ("mp_" if mp else "", "mom_" if momentum else "")
    getattr(mx.nd, name)(*interleave(*cols), out=ws, lrs=tuple(lrs), wds=tuple(wds), num_weights=len(ws), **common)
    sw, sm, s32 = fresh()
    single = name[len("multi_"):]
    for k in range(len(sw)):
        ins = [sw[k], gs[k]] + ([sm[k]] if momentum else []) + ([s32[k]] if mp else [])
        getattr(mx.nd, single)(*ins, out=sw[k], lr=lrs[k], wd=wds[k], **common)
    for k in range(len(ws)):
        np.testing.assert_array_equal(ws[k].asnumpy(), sw[k].asnumpy())
        if momentum:
            np.testing.assert_array_equal(ms[k].asnumpy(), sm[k].asnumpy())
        if mp:
            np.testing.assert_array_equal(w32[k].asnumpy(), s32[k].asnumpy())


def test_bad_calls_name_the_op_and_the_weight():
    w = [mx.nd.ones((3,)), mx.nd.ones((4,))]
    g = [mx.nd.ones((3,)), mx.nd.ones((5,))]
    with pytest.raises(MXNetError, match=r"multi_sgd_update: weight 1"):
        mx.nd.multi_sgd_update(*interleave(w, g), out=w, lrs=(0.1, 0.1), wds=(0.0, 0.0), num_weights=2)
    with pytest.raises(MXNetError, match=r"multi_sgd_update: lrs has 1 values but num_weights is 2"):
        mx.nd.multi_sgd_update(*interleave(w, w), out=w, lrs=(0.1,), wds=(0.0, 0.0), num_weights=2)
    with pytest.raises(MXNetError, match=r"multi_sgd_mom_update: wds="):
        mx.nd.multi_sgd_mom_update(w[0], w[0], mx.nd.zeros((3,)), out=w[0], lrs=(0.1,), wds="(x)", num_weights=1)
    with pytest.raises(MXNetError, match=r"multi_mp_sgd_update: weight 0: input 2 is float16 but must be float32"):
        h = mx.nd.ones((3,), dtype=np.float16)
        mx.nd.multi_mp_sgd_update(h, h.copy(), h.copy(), out=h, lrs=(0.1,), wds=(0.0,), num_weights=1)
    with pytest.raises(MXNetError, match=r"multi_sgd_update.*num_weights"):
        mx.nd.multi_sgd_update(*interleave(w, w), out=w, lrs=(0.1,) * 61, wds=(0.0,) * 61, num_weights=61)
    with pytest.raises(MXNetError, match=r"multi_sgd_update"):  # 3 arrays for 2 weights
        mx.nd.multi_sgd_update(w[0], w[0], w[1], out=w, lrs=(0.1, 0.1), wds=(0.0, 0.0), num_weights=2)
    np.testing.assert_array_equal(w[0].asnumpy(), np.ones(3))  # nothing ran


# ---------------------------------------------------------------- the optimizer path

def run_updater(aggregate_num, momentum, multi_precision=False, dtype=np.float32, steps=4, seed=3):
    """An Updater over 7 parameters (3 does not divide 7) with lr / wd mults, a schedule, clipping and
    rescaling; returns the final weights as float64."""
    rng = np.random.RandomState(seed)
    names = ["fc%d_%s" % (i // 2, "weight" if i % 2 == 0 else "bias") for i in range(7)]
    shapes = [(4, 3), (4,), (16390,), (5,), (2, 2), (1,), (16385,)]
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=momentum, wd=0.01, rescale_grad=0.5, clip_gradient=0.8,
                           param_idx2name=dict(enumerate(names)), multi_precision=multi_precision,
                           lr_scheduler=mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.1))
    opt.set_lr_mult({"fc1_weight": 0.5, 0: 2.0})
    opt.set_wd_mult({"fc2_weight": 3.0})
    opt.aggregate_num = aggregate_num
    upd = mx.optimizer.get_updater(opt)
    ws = [mx.nd.array(rng.uniform(-1, 1, s), dtype=dtype) for s in shapes]
    for _ in range(steps):
        gs = [mx.nd.array(rng.uniform(-2, 2, s), dtype=dtype) for s in shapes]
        upd(list(range(7)), gs, ws)
    rng = np.random.RandomState(seed)  # the same draws for the reference
    w64 = [rng.uniform(-1, 1, s).astype(dtype).astype(np.float64) for s in shapes]
    m64 = [np.zeros(s) if momentum else None for s in shapes]
    lr_mult = {0: 2.0, 2: 0.5}
    wd_mult = {1: 0.0, 3: 0.0, 4: 3.0, 5: 0.0}  # biases do not decay
    for t in range(1, steps + 1):
        lr = 0.1 * 0.5 ** ((t - 1) // 2)  # FactorScheduler(step=2): halves after every 2 updates
        for k, s in enumerate(shapes):
            g = rng.uniform(-2, 2, s).astype(dtype).astype(np.float64)
            w64[k], m64[k] = np_sgd(w64[k], g, m64[k], lr * lr_mult.get(k, 1.0), 0.01 * wd_mult.get(k, 1.0),
                                    momentum, 0.5, 0.8)
    return [w.asnumpy().astype(np.float64) for w in ws], w64, opt


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_updater_aggregated_matches_numpy_and_the_per_parameter_path(momentum):
    got, want, opt = run_updater(3, momentum)
    per_param, _, opt1 = run_updater(1, momentum)
    for k in range(7):
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6, err_msg="param %d" % k)
        np.testing.assert_array_equal(got[k], per_param[k])
    assert opt.num_update == opt1.num_update == 4
    assert opt._index_update_count == opt1._index_update_count


def test_updater_aggregated_multi_precision_float16():
    got, want, _ = run_updater(4, 0.9, multi_precision=True, dtype=np.float16)
    per_param, _, _ = run_updater(1, 0.9, multi_precision=True, dtype=np.float16)
    for k in range(7):
        np.testing.assert_allclose(got[k], want[k], rtol=2e-3, atol=2e-3, err_msg="param %d" % k)
        np.testing.assert_array_equal(got[k], per_param[k])


def test_updater_groups_by_dtype():
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.5)
    upd = mx.optimizer.get_updater(opt)
    ws = [mx.nd.ones((3,), dtype=np.float32), mx.nd.ones((2,), dtype=np.float64), mx.nd.ones((4,), dtype=np.float32)]
    upd([0, 1, 2], [w.copy() for w in ws], ws)  # one float32 call (0, 2) and one float64 call (1)
    for w in ws:
        np.testing.assert_allclose(w.asnumpy(), 0.9)


def test_aggregate_num_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "5")
    assert mx.optimizer.SGD().aggregate_num == 5
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "1000")
    assert mx.optimizer.SGD().aggregate_num == 60  # what one multi-tensor call takes
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "")  # empty is unset (VAR= in a shell)
    assert mx.optimizer.SGD().aggregate_num == 0
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", "four")
    with pytest.raises(ValueError, match="MXNET_OPTIMIZER_AGGREGATION_SIZE is 'four'"):
        mx.optimizer.SGD()
    # Unset: aggregate_num 0 (a Trainer's store keeps its role), and Updater groups by 60.
    monkeypatch.delenv("MXNET_OPTIMIZER_AGGREGATION_SIZE")
    assert mx.optimizer.SGD().aggregate_num == 0
    assert mx.optimizer.Adam().aggregate_num == 0
    assert mx.optimizer.create("lars").aggregate_num == 0
    calls = []
    opt = mx.optimizer.SGD(learning_rate=0.1)
    real = opt._update_multi
    opt._update_multi = lambda idx, *a: (calls.append(list(idx)), real(idx, *a))
    upd = mx.optimizer.get_updater(opt)
    ws = [mx.nd.ones((3,)) for _ in range(5)]
    upd(list(range(5)), [w.copy() for w in ws], ws)
    assert calls == [[0, 1, 2, 3, 4]]
    np.testing.assert_allclose(ws[4].asnumpy(), 0.9)
    opt.aggregate_num = 1  # one at a time
    upd(list(range(5)), [w.copy() for w in ws], ws)
    assert len(calls) == 1
    lars = mx.optimizer.create("lars", learning_rate=0.1)
    mx.optimizer.get_updater(lars)([0, 1], [mx.nd.ones((2,))] * 2, [mx.nd.ones((2,)), mx.nd.ones((2,))])


def test_updater_updates_one_at_a_time_where_no_backend_has_the_multi_op(monkeypatch):
    # The CUDA backend has no multi-tensor kernels: a device type without one must not get the
    # grouped call (it would fail), but the same per-parameter updates.
    monkeypatch.setattr(mx.optimizer, "_has_multi_update", lambda device_type: False)
    calls = []
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9)
    real = opt._update_multi
    opt._update_multi = lambda idx, *a: (calls.append(list(idx)), real(idx, *a))
    upd = mx.optimizer.get_updater(opt)
    ws = [mx.nd.ones((3,)) for _ in range(4)]
    upd(list(range(4)), [mx.nd.ones((3,)) for _ in range(4)], ws)
    assert calls == []
    for w in ws:
        np.testing.assert_allclose(w.asnumpy(), 0.9)  # 1 - 0.1 * 1, momentum starting from 0


def test_the_cpu_backend_has_the_multi_op():
    assert mx.optimizer._has_multi_update("cpu")


# ---------------------------------------------------------------- Module and Trainer

def blobs(n=192, classes=3, dim=6, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(classes, dim) * 3
    y = rng.randint(0, classes, size=n)
    return (centers[y] + rng.randn(n, dim) * 0.5).astype(np.float32), y.astype(np.float32)


def fit_module(monkeypatch, aggregate):
    monkeypatch.setenv("MXNET_OPTIMIZER_AGGREGATION_SIZE", str(aggregate))
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=16, name="fc1")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.FullyConnected(net, num_hidden=3, name="fc2")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    x, y = blobs()
    mx.random.seed(0)
    mod = mx.mod.Module(net)
    mod.fit(mx.io.NDArrayIter(x, y, batch_size=32), num_epoch=4, optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4},
            initializer=mx.init.Xavier())
    assert mod._optimizer.aggregate_num == aggregate
    acc = dict(mod.score(mx.io.NDArrayIter(x, y, batch_size=32), "acc"))["accuracy"]
    return acc, {k: v.asnumpy() for k, v in mod.get_params()[0].items()}


def test_module_fit_is_unchanged_by_aggregation(monkeypatch):
    acc_multi, p_multi = fit_module(monkeypatch, 3)  # 4 parameters: groups of 3 and 1
    acc_single, p_single = fit_module(monkeypatch, 1)
    assert acc_multi > 0.95
    assert acc_multi == acc_single
    for k in p_single:
        np.testing.assert_array_equal(p_multi[k], p_single[k], err_msg=k)


def train_gluon(aggregate, steps=5):
    rng = np.random.RandomState(4)
    params = []
    for name, shape in [("w0", (5, 3)), ("b0", (5,)), ("w1", (40000,)), ("b1", (1,)), ("w2", (2, 7))]:
        p = Parameter(name, shape=shape)
        p.initialize()
        p.set_data(mx.nd.array(rng.uniform(-1, 1, shape)))
        params.append(p)
    params[1].lr_mult = 3.0
    opt = mx.optimizer.SGD(learning_rate=0.2, momentum=0.8, wd=0.05, clip_gradient=1.5)
    opt.aggregate_num = aggregate
    tr = Trainer(params, opt, kvstore=None)
    targets = [rng.uniform(-1, 1, p.shape) for p in params]
    for _ in range(steps):
        with mx.autograd.record():
            loss = sum(((p.data() - mx.nd.array(t)) ** 2).sum() for p, t in zip(params, targets))
        loss.backward()
        tr.step(2)
    return [p.data().asnumpy() for p in params]


def test_trainer_is_unchanged_by_aggregation():
    multi, single = train_gluon(2), train_gluon(1)
    for a, b in zip(multi, single):
        np.testing.assert_array_equal(a, b)
