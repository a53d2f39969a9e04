"""mx.optimizer against MXNet 1.9.1: the registry, Updater, lr/wd mults (also from symbol attributes),
update counts, and each optimizer against a numpy version of MXNet's documented update rule."""
import math
import pickle

import numpy as np
import pytest

import mx

RESCALE, CLIP, WD, LR = 0.5, 0.6, 0.1, 0.05


def _run(opt, steps=3, shape=(4, 3), seed=0):
    """(initial weight, gradients, final weight) after `steps` updates of one parameter through an Updater."""
    rng = np.random.RandomState(seed)
    w0 = rng.uniform(-1, 1, shape).astype(np.float32)
    grads = [rng.uniform(-3, 3, shape).astype(np.float32) for _ in range(steps)]
    weight = mx.nd.array(w0)
    updater = mx.optimizer.get_updater(opt)
    for g in grads:
        updater(0, mx.nd.array(g), weight)
    return w0.astype(np.float64), [g.astype(np.float64) for g in grads], weight.asnumpy()


def _clip(g):
    return np.clip(g * RESCALE, -CLIP, CLIP)


COMMON = dict(learning_rate=LR, wd=WD, rescale_grad=RESCALE, clip_gradient=CLIP)


# ---------------------------------------------------------------------------- infrastructure
def test_create_by_lowercase_name_and_register():
    assert isinstance(mx.optimizer.create("NAG", momentum=0.9), mx.optimizer.NAG)
    assert isinstance(mx.optimizer.Optimizer.create_optimizer("adagrad"), mx.optimizer.AdaGrad)
    assert isinstance(mx.optimizer.create("ccsgd", momentum=0.5), mx.optimizer.SGD)
    for name in ("sgd", "adam", "rmsprop", "nag", "adagrad", "adadelta", "adamax", "nadam", "ftrl", "ftml",
                 "sgld", "signum", "lamb", "lars", "dcasgd", "ccsgd"):
        assert name in mx.optimizer.Optimizer.opt_registry

    @mx.optimizer.register
    class MyTestOpt(mx.optimizer.Optimizer):
        pass
    assert isinstance(mx.optimizer.create("mytestopt"), MyTestOpt)
    with pytest.raises(ValueError, match="nosuchopt"):
        mx.optimizer.create("nosuchopt")


def test_default_learning_rate_and_set_learning_rate():
    opt = mx.optimizer.SGD()
    assert opt.learning_rate == 0.01
    opt.set_learning_rate(0.3)
    assert opt.learning_rate == 0.3
    opt = mx.optimizer.SGD(lr_scheduler=mx.lr_scheduler.FactorScheduler(step=5))
    with pytest.raises(UserWarning):
        opt.set_learning_rate(0.1)


def test_lr_wd_mult_from_symbol_attributes_and_names():
    data = mx.sym.var("data")
    w = mx.sym.var("fc_weight", lr_mult=2.0, wd_mult=3.0)
    b = mx.sym.var("fc_bias", lr_mult=0.5)
    net = mx.sym.FullyConnected(data, weight=w, bias=b, num_hidden=2, name="fc")
    opt = mx.optimizer.SGD(learning_rate=0.1, wd=0.01, sym=net,
                           param_idx2name={0: "fc_weight", 1: "fc_bias"})
    assert opt._get_lr(0) == pytest.approx(0.2) and opt._get_lr(1) == pytest.approx(0.05)
    assert opt._get_wd(0) == pytest.approx(0.03) and opt._get_wd(1) == 0.0  # biases: no decay
    opt.set_lr_mult({"fc_weight": 10.0})
    assert opt._get_lr(0) == pytest.approx(1.0)
    opt.set_wd_mult({1: 1.0})  # by index
    assert opt._get_wd(1) == pytest.approx(0.01)


def test_num_update_and_begin_num_update_drive_the_scheduler():
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5)
    with pytest.warns(UserWarning, match="overwritten"):
        opt = mx.optimizer.SGD(learning_rate=1.0, lr_scheduler=sched, begin_num_update=2)
    w = mx.nd.zeros((2,))
    updater = mx.optimizer.get_updater(opt)
    updater(0, mx.nd.ones((2,)), w)  # num_update 3 -> lr 0.5
    assert opt.num_update == 3
    np.testing.assert_allclose(w.asnumpy(), [-0.5, -0.5])
    updater([0, 1], [mx.nd.ones((2,)), mx.nd.ones((2,))], [w, mx.nd.zeros((2,))])  # lists too
    assert opt.num_update == 4 and opt._index_update_count == {0: 4, 1: 3}


def test_updater_states_roundtrip_with_optimizer():
    opt = mx.optimizer.Adam(learning_rate=0.1)
    updater = mx.optimizer.get_updater(opt)
    w = mx.nd.ones((3,))
    updater(0, mx.nd.ones((3,)), w)
    restored = mx.optimizer.get_updater(mx.optimizer.SGD())
    restored.set_states(updater.get_states(dump_optimizer=True))
    assert isinstance(restored.optimizer, mx.optimizer.Adam) and restored.optimizer.lr == 0.1
    np.testing.assert_allclose(restored.states[0][0].asnumpy(), updater.states[0][0].asnumpy())
    assert pickle.loads(updater.get_states()).keys() == {0}


# ---------------------------------------------------------------------------- optimizers vs numpy
def test_nag():
    w, grads, got = _run(mx.optimizer.NAG(momentum=0.9, **COMMON))
    mom = np.zeros_like(w)
    for g in grads:
        g = _clip(g)
        mom = 0.9 * mom + g + WD * w
        w = w - LR * (g + WD * w + 0.9 * mom)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_adagrad():
    w, grads, got = _run(mx.optimizer.AdaGrad(eps=1e-7, **COMMON))
    hist = np.zeros_like(w)
    for g in grads:
        g = _clip(g)
        hist += g * g
        w = w - LR * (g / np.sqrt(hist + 1e-7) + WD * w)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_adadelta_ignores_learning_rate():
    w, grads, got = _run(mx.optimizer.AdaDelta(rho=0.8, epsilon=1e-4, **COMMON))
    acc_g, acc_d = np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        g = _clip(g)
        acc_g = 0.8 * acc_g + 0.2 * g * g
        d = np.sqrt(acc_d + 1e-4) / np.sqrt(acc_g + 1e-4) * g
        acc_d = 0.8 * acc_d + 0.2 * d * d
        w = w - (d + WD * w)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_adamax():
    w, grads, got = _run(mx.optimizer.Adamax(beta1=0.8, beta2=0.9, **COMMON))
    m, u = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = np.clip(g * RESCALE + WD * w, -CLIP, CLIP)
        m = 0.8 * m + 0.2 * g
        u = np.maximum(0.9 * u, np.abs(g))
        w = w - LR / (1 - 0.8 ** t) * m / u
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_nadam():
    w, grads, got = _run(mx.optimizer.Nadam(beta1=0.9, beta2=0.99, epsilon=1e-6, schedule_decay=0.1, **COMMON))
    m, v, m_sched = np.zeros_like(w), np.zeros_like(w), 1.0
    for t, g in enumerate(grads, 1):
        g = np.clip(g * RESCALE + WD * w, -CLIP, CLIP)
        mu_t = 0.9 * (1 - 0.5 * 0.96 ** (t * 0.1))
        mu_t1 = 0.9 * (1 - 0.5 * 0.96 ** ((t + 1) * 0.1))
        m_sched *= mu_t
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        m_bar = (1 - mu_t) * g / (1 - m_sched) + mu_t1 * m / (1 - m_sched * mu_t1)
        w = w - LR * m_bar / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-6)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_ftrl():
    w, grads, got = _run(mx.optimizer.Ftrl(lamda1=0.02, beta=1.5, **COMMON))
    z, n = np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        g = _clip(g)
        z += g - (np.sqrt(n + g * g) - np.sqrt(n)) * w / LR
        n += g * g
        w = (np.sign(z) * 0.02 - z) / ((1.5 + np.sqrt(n)) / LR + WD) * (np.abs(z) > 0.02)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_ftml():
    w, grads, got = _run(mx.optimizer.FTML(beta1=0.6, beta2=0.99, epsilon=1e-6, **COMMON))
    d, v, z = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = np.clip(g * RESCALE + WD * w, -CLIP, CLIP)
        v = 0.99 * v + 0.01 * g * g
        d_t = (1 - 0.6 ** t) / LR * (np.sqrt(v / (1 - 0.99 ** t)) + 1e-6)
        z = 0.6 * z + 0.4 * g - (d_t - 0.6 * d) * w
        d = d_t
        w = -z / d_t
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_signum_and_signsgd():
    w, grads, got = _run(mx.optimizer.Signum(momentum=0.8, wd_lh=0.2, **COMMON))
    mom = np.zeros_like(w)
    for g in grads:
        mom = 0.8 * mom - 0.2 * (_clip(g) + WD * w)
        w = (1 - LR * 0.2) * w + LR * np.sign(mom)
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)
    w, grads, got = _run(mx.optimizer.Signum(momentum=0.0, **COMMON))
    for g in grads:
        w = (1 - LR * WD) * w - LR * np.sign(_clip(g))
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bounds", [(None, None), (0.1, 0.5)])
def test_lamb(bounds):
    lower, upper = bounds
    w, grads, got = _run(mx.optimizer.LAMB(beta1=0.8, beta2=0.9, epsilon=1e-6, lower_bound=lower,
                                           upper_bound=upper, **COMMON))
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, 1):
        g = _clip(g)
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        r = (m / (1 - 0.8 ** t)) / (np.sqrt(v / (1 - 0.9 ** t)) + 1e-6) + WD * w
        r1, r2 = np.linalg.norm(w), np.linalg.norm(r)
        if lower is not None:
            r1 = min(max(r1, lower), upper)
        w = w - LR * (r1 / r2 if r1 > 0 and r2 > 0 else 1.0) * r
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_dcasgd(momentum):
    w, grads, got = _run(mx.optimizer.DCASGD(momentum=momentum, lamda=0.3, **COMMON))
    mom, prev = np.zeros_like(w), w.copy()
    for g in grads:
        g = _clip(g)
        step = -LR * (g + WD * w + 0.3 * g * g * (w - prev))
        mom = momentum * mom + step if momentum else step
        prev = w
        w = w + mom
    np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-6)


def test_sgld_mean_step_and_noise_scale():
    lr = 0.04
    opt = mx.optimizer.SGLD(learning_rate=lr, wd=0.5, rescale_grad=2.0)
    w = mx.nd.ones((20000,))
    mx.optimizer.get_updater(opt)(0, mx.nd.ones((20000,)), w)
    step = w.asnumpy() - 1.0
    # mean: -lr / 2 * (2 * 1 + 0.5 * 1); noise std sqrt(lr)
    assert step.mean() == pytest.approx(-lr / 2 * 2.5, abs=0.01)
    assert step.std() == pytest.approx(math.sqrt(lr), rel=0.05)


# ---------------------------------------------------------------------------- float16 master copies
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_multi_precision_accumulates_tiny_steps(momentum):
    # 1 + 100 steps of 1e-4: float16 alone rounds each step away (spacing 2**-10 near 1)
    steps, lr = 100, 1e-4
    w16 = mx.nd.ones((4,), dtype="float16")
    mp = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=lr, momentum=momentum, multi_precision=True))
    w16_plain = mx.nd.ones((4,), dtype="float16")
    with pytest.warns(UserWarning, match="multi_precision"):
        plain = mx.optimizer.get_updater(mx.optimizer.SGD(learning_rate=lr, momentum=momentum))
        plain(0, mx.nd.array(-np.ones(4), dtype="float16"), w16_plain)
    for _ in range(steps):
        mp(0, mx.nd.array(-np.ones(4), dtype="float16"), w16)
    w, mom = 1.0, 0.0
    for _ in range(steps):
        mom = momentum * mom + lr
        w += mom
    assert w16.dtype == np.float16
    np.testing.assert_allclose(w16.asnumpy().astype(np.float64), np.float16(w), rtol=1e-3)
    master = mp.states[0][1]
    assert master.dtype == np.float32
    np.testing.assert_allclose(master.asnumpy(), w, rtol=1e-5)
    assert w16_plain.asnumpy()[0] == 1.0  # without master copy a 1e-4 step is lost


def test_adam_multi_precision_keeps_master_copy():
    opt = mx.optimizer.Adam(learning_rate=1e-4, multi_precision=True)
    w16 = mx.nd.ones((3,), dtype="float16")
    updater = mx.optimizer.get_updater(opt)
    for _ in range(20):
        updater(0, mx.nd.array(np.ones(3), dtype="float16"), w16)
    master, _ = updater.states[0]
    # each Adam step with a constant gradient is ~lr
    np.testing.assert_allclose(master.asnumpy(), 1.0 - 20 * 1e-4, rtol=1e-5)


def test_lars_layer_rates_and_momentum_correction():
    eta, eps, mu, base = 0.5, 1e-3, 0.9, 0.2
    sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=base)
    opt = mx.optimizer.LARS(momentum=mu, eta=eta, eps=eps, wd=WD, rescale_grad=RESCALE, clip_gradient=CLIP,
                            lr_scheduler=sched, param_idx2name={0: "fc_weight", 1: "fc_bias"})
    rng = np.random.RandomState(1)
    w0, b0 = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (3,))
    grads = [(rng.uniform(-3, 3, (4, 3)), rng.uniform(-3, 3, (3,))) for _ in range(3)]
    weight, bias = mx.nd.array(w0), mx.nd.array(b0)
    updater = mx.optimizer.get_updater(opt)
    for gw, gb in grads:
        updater(0, mx.nd.array(gw), weight)
        updater(1, mx.nd.array(gb), bias)
    w, b, mom_w, mom_b, last = w0.copy(), b0.copy(), np.zeros_like(w0), np.zeros_like(b0), None
    for t, (gw, gb) in enumerate(grads, 1):
        lr = base * 0.5 ** (t - 1)  # FactorScheduler: drops after each update
        # the weight's call sees lr change from the previous step's; the bias's call right after sees none
        mu_w = mu * lr / last if last is not None else mu
        wn, gn = np.linalg.norm(w), np.linalg.norm(gw * RESCALE)
        lr_w = lr * eta * wn / (gn + WD * wn + eps)
        mom_w = mu_w * mom_w - lr_w * (_clip(gw) + WD * w)
        w = w + mom_w
        mom_b = mu * mom_b - lr * _clip(gb)  # bias: plain lr, no weight decay
        b = b + mom_b
        last = lr
    np.testing.assert_allclose(weight.asnumpy(), w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bias.asnumpy(), b, rtol=1e-5, atol=1e-6)
    assert mx.optimizer.LARS(param_idx2name={0: "bn_gamma"})._get_wd(0) == 0.0  # only *_weight decays
