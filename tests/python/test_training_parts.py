"""mx.init, mx.optimizer, mx.lr_scheduler and mx.metric against numpy written from the
published definitions."""
import math
import pickle

import numpy as np
import pytest

import mx


def test_initializers_follow_names_and_distributions():
    mx.random.seed(3)
    w = mx.nd.zeros((200, 300))
    mx.init.Xavier(rnd_type="uniform", factor_type="avg", magnitude=3)("fc_weight", w)
    scale = math.sqrt(3.0 / ((300 + 200) / 2.0))
    a = w.asnumpy()
    assert a.min() >= -scale and a.max() <= scale
    assert abs(a.std() - scale / math.sqrt(3)) < 0.02 * scale  # U(-s, s) has std s / sqrt(3)
    conv = mx.nd.zeros((64, 32, 3, 3))
    mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)("c_weight", conv)
    assert abs(conv.asnumpy().std() - math.sqrt(2.0 / (32 * 9))) < 0.03 * math.sqrt(2.0 / (32 * 9))
    n = mx.nd.zeros((100, 100))
    mx.init.Normal(0.5)("x_weight", n)
    assert abs(n.asnumpy().std() - 0.5) < 0.02 and abs(n.asnumpy().mean()) < 0.02
    u = mx.nd.zeros((100, 100))
    mx.init.Uniform(0.2)("u_weight", u)
    assert np.abs(u.asnumpy()).max() <= 0.2 and u.asnumpy().std() > 0.1
    # The name decides for biases, BatchNorm's gamma / beta and its moving statistics.
    for name, value in (("fc_bias", 0), ("bn_gamma", 1), ("bn_beta", 0), ("bn_moving_mean", 0), ("bn_moving_var", 1)):
        arr = mx.nd.full((4,), 7.0)
        mx.init.Xavier()(name, arr)
        np.testing.assert_array_equal(arr.asnumpy(), value)
    c = mx.nd.zeros((3,))
    mx.init.Constant(2.5)("k_weight", c)
    np.testing.assert_array_equal(c.asnumpy(), 2.5)
    with pytest.raises(ValueError, match="no rule"):
        mx.init.Xavier()("mystery", mx.nd.zeros((2, 2)))
    # Same seed, same draw.
    mx.random.seed(11)
    first = mx.nd.zeros((5, 5))
    mx.init.Uniform(1.0)("w_weight", first)
    mx.random.seed(11)
    second = mx.nd.zeros((5, 5))
    mx.init.Uniform(1.0)("w_weight", second)
    np.testing.assert_array_equal(first.asnumpy(), second.asnumpy())


def run_optimizer(opt, steps=5, shape=(4, 3), seed=0):
    rng = np.random.RandomState(seed)
    w0 = rng.randn(*shape).astype(np.float32)
    grads = [rng.randn(*shape).astype(np.float32) for _ in range(steps)]
    w = mx.nd.array(w0)
    updater = mx.optimizer.get_updater(opt)
    for g in grads:
        updater(0, mx.nd.array(g), w)
    return w0.astype(np.float64), [g.astype(np.float64) for g in grads], w.asnumpy()


def test_sgd_momentum_matches_numpy():
    opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=0.01, rescale_grad=0.5, clip_gradient=0.8)
    w, grads, got = run_optimizer(opt)
    mom = np.zeros_like(w)
    for g in grads:
        g = np.clip(0.5 * g, -0.8, 0.8) + 0.01 * w
        mom = 0.9 * mom - 0.1 * g
        w = w + mom
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    w, grads, got = run_optimizer(mx.optimizer.create("sgd", learning_rate=0.2))
    for g in grads:
        w = w - 0.2 * g
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_adam_matches_numpy():
    opt = mx.optimizer.Adam(learning_rate=0.01, beta1=0.8, beta2=0.99, epsilon=1e-6, wd=0.001)
    w, grads, got = run_optimizer(opt, steps=6)
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = g + 0.001 * w
        m = 0.8 * m + 0.2 * g
        v = 0.99 * v + 0.01 * g * g
        # MXNet folds both bias corrections into the step's learning rate.
        w = w - 0.01 * math.sqrt(1 - 0.99 ** t) / (1 - 0.8 ** t) * m / (np.sqrt(v) + 1e-6)
    np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)


def test_rmsprop_plain_and_centered_match_numpy():
    w, grads, got = run_optimizer(mx.optimizer.RMSProp(learning_rate=0.01, gamma1=0.9, epsilon=1e-8))
    n = np.zeros_like(w)
    for g in grads:
        n = 0.9 * n + 0.1 * g * g
        w = w - 0.01 * g / np.sqrt(n + 1e-8)
    np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)

    w, grads, got = run_optimizer(mx.optimizer.RMSProp(learning_rate=0.01, gamma1=0.9, gamma2=0.8, centered=True))
    n, gm, delta = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        n = 0.1 * g * g + 0.9 * n
        gm = 0.1 * g + 0.9 * gm
        delta = 0.8 * delta - 0.01 * g / np.sqrt(n - gm * gm + 1e-8)
        w = w + delta
    np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)


def test_lr_mult_wd_names_schedulers_and_states():
    opt = mx.optimizer.SGD(learning_rate=1.0, wd=0.5, param_idx2name={0: "fc_weight", 1: "fc_bias"})
    assert opt._get_wd(0) == 0.5 and opt._get_wd(1) == 0.0  # no decay on biases, as in MXNet
    opt.set_lr_mult({"fc_bias": 0.1})
    assert opt._get_lr(1) == pytest.approx(0.1)
    sched = mx.lr_scheduler.FactorScheduler(step=10, factor=0.5)
    sched.base_lr = 1.0
    assert [sched(n) for n in (0, 9, 10, 11, 25)] == [1.0, 1.0, 1.0, 0.5, 0.25]  # MXNet: drops after step
    multi = mx.lr_scheduler.MultiFactorScheduler(step=[5, 8], factor=0.1)
    multi.base_lr = 1.0
    assert [multi(n) for n in (5, 6, 9)] == pytest.approx([1.0, 0.1, 0.01])
    updater = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    w = mx.nd.ones((3,))
    updater(0, mx.nd.ones((3,)), w)
    restored = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9))
    restored.set_states(updater.get_states())
    np.testing.assert_allclose(restored.states[0].asnumpy(), updater.states[0].asnumpy())
    assert pickle.loads(pickle.dumps(mx.nd.array([1, 2]))).asnumpy().tolist() == [1, 2]


def test_metrics_match_numpy():
    rng = np.random.RandomState(2)
    probs = rng.dirichlet(np.ones(5), size=20).astype(np.float32)
    labels = rng.randint(0, 5, size=20)
    acc = mx.metric.create("acc")
    acc.update([mx.nd.array(labels[:12])], [mx.nd.array(probs[:12])])
    acc.update([mx.nd.array(labels[12:])], [mx.nd.array(probs[12:])])
    assert acc.get() == ("accuracy", pytest.approx(np.mean(probs.argmax(1) == labels)))
    top3 = mx.metric.TopKAccuracy(top_k=3)
    top3.update([mx.nd.array(labels)], [mx.nd.array(probs)])
    ranks = (-probs).argsort(1)[:, :3]
    assert top3.get()[1] == pytest.approx(np.mean([labels[i] in ranks[i] for i in range(20)]))
    ce = mx.metric.create("ce")
    ce.update([mx.nd.array(labels)], [mx.nd.array(probs)])
    assert ce.get()[1] == pytest.approx(-np.mean(np.log(probs[np.arange(20), labels] + 1e-12)), rel=1e-5)
    pred, target = rng.randn(8, 2), rng.randn(8, 2)
    mse, mae, rmse = mx.metric.MSE(), mx.metric.MAE(), mx.metric.RMSE()
    for m in (mse, mae, rmse):
        m.update([mx.nd.array(target)], [mx.nd.array(pred)])
    assert mse.get()[1] == pytest.approx(np.mean((pred - target) ** 2), rel=1e-5)
    assert mae.get()[1] == pytest.approx(np.mean(np.abs(pred - target)), rel=1e-5)
    assert rmse.get()[1] == pytest.approx(np.sqrt(np.mean((pred - target) ** 2)), rel=1e-5)
    comp = mx.metric.create(["acc", "ce"])
    comp.update([mx.nd.array(labels)], [mx.nd.array(probs)])
    names, _ = comp.get()
    assert names == ["accuracy", "cross-entropy"]
    custom = mx.metric.np(lambda l, p: float(np.sum(l == p.argmax(1))) / len(l), name="mine")
    custom.update([mx.nd.array(labels)], [mx.nd.array(probs)])
    assert custom.get() == ("mine", pytest.approx(np.mean(probs.argmax(1) == labels)))
