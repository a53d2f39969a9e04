"""The operator conformance cases re-checked through the Python binding, each against numpy (or a
naive loop in numpy), forward, and for a sample gradient against float64 central differences."""
import numpy as np
import pytest

import mx

rng = np.random.RandomState(7)


def pos(*shape):
    return rng.uniform(0.5, 2.0, size=shape)


def sym(*shape):
    return rng.uniform(-2.0, 2.0, size=shape)


def erf(x):
    from math import erf as e
    return np.vectorize(e)(x)


UNARY = [
    ("abs", np.abs, sym), ("exp", np.exp, sym), ("log", np.log, pos), ("sqrt", np.sqrt, pos),
    ("square", np.square, sym), ("sin", np.sin, sym), ("cos", np.cos, sym), ("tanh", np.tanh, sym),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), sym), ("relu", lambda x: np.maximum(x, 0), sym),
    ("floor", np.floor, sym), ("ceil", np.ceil, sym), ("sign", np.sign, sym), ("log1p", np.log1p, pos),
    ("expm1", np.expm1, sym), ("rsqrt", lambda x: 1 / np.sqrt(x), pos), ("reciprocal", lambda x: 1 / x, pos),
    ("negative", np.negative, sym), ("erf", erf, sym), ("softsign", lambda x: x / (1 + np.abs(x)), sym),
]


@pytest.mark.parametrize("name,ref,gen", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, ref, gen):
    x = gen(3, 5)
    out = getattr(mx.nd, name)(mx.nd.array(x, dtype=np.float64)).asnumpy()
    np.testing.assert_allclose(out, ref(x), rtol=1e-6, atol=1e-12)


BINARY = [("broadcast_add", np.add), ("broadcast_sub", np.subtract), ("broadcast_mul", np.multiply),
          ("broadcast_div", np.divide), ("broadcast_maximum", np.maximum), ("broadcast_minimum", np.minimum),
          ("broadcast_power", np.power), ("broadcast_equal", np.equal), ("broadcast_greater", np.greater),
          ("broadcast_lesser_equal", np.less_equal)]


@pytest.mark.parametrize("name,ref", BINARY, ids=[b[0] for b in BINARY])
def test_broadcast_binary(name, ref):
    a, b = pos(2, 1, 4), np.round(pos(3, 1), 1)
    out = getattr(mx.nd, name)(mx.nd.array(a, dtype=np.float64), mx.nd.array(b, dtype=np.float64)).asnumpy()
    np.testing.assert_allclose(out, ref(a, b).astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("name,ref", [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("min", np.min),
                                      ("prod", np.prod)])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (1, False), ((0, 2), True), (-1, True)])
def test_reductions(name, ref, axis, keepdims):
    x = pos(3, 4, 5)
    out = getattr(mx.nd, name)(mx.nd.array(x, dtype=np.float64), axis=axis, keepdims=keepdims).asnumpy()
    expected = np.asarray(ref(x, axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(out, expected.reshape(out.shape) if axis is None else expected, rtol=1e-6)
    if axis is None:
        assert out.shape == (1,)  # MXNet 1.x: full reductions are (1,)


def test_shape_and_indexing_ops():
    x = sym(2, 3, 4)
    a = mx.nd.array(x, dtype=np.float64)
    check = lambda got, want: np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-7)
    check(mx.nd.transpose(a, axes=(2, 0, 1)), x.transpose(2, 0, 1))
    check(mx.nd.reshape(a, shape=(-1, 4)), x.reshape(-1, 4))
    check(mx.nd.expand_dims(a, axis=1), x[:, None])
    check(mx.nd.tile(a, reps=(1, 2, 1)), np.tile(x, (1, 2, 1)))
    check(mx.nd.repeat(a, repeats=2, axis=2), np.repeat(x, 2, axis=2))
    check(mx.nd.concat(a, a, dim=2), np.concatenate([x, x], axis=2))
    check(mx.nd.stack(a, a, axis=1), np.stack([x, x], axis=1))
    check(mx.nd.slice(a, begin=(0, 1, None), end=(2, 3, None), step=(1, 1, -1)), x[0:2, 1:3, ::-1])
    check(a[1, 1:], x[1, 1:])
    check(mx.nd.clip(a, a_min=-0.5, a_max=0.5), np.clip(x, -0.5, 0.5))
    idx = np.array([2, 0, 1])
    check(mx.nd.take(a, mx.nd.array(idx), axis=1), np.take(x, idx, axis=1))
    m = sym(3, 4)
    check(mx.nd.pick(mx.nd.array(m, dtype=np.float64), mx.nd.array(idx), axis=1), m[np.arange(3), idx])
    check(mx.nd.one_hot(mx.nd.array(idx), depth=4), np.eye(4)[idx])
    cond = x > 0
    check(mx.nd.where(mx.nd.array(cond.astype(np.float64)), a, a * 0 - 1), np.where(cond, x, -1))
    parts = mx.nd.split(a, num_outputs=3, axis=1)
    for i, p in enumerate(parts):
        check(p, x[:, i:i + 1])
    check(mx.nd.sort(a, axis=-1), np.sort(x, axis=-1))
    check(mx.nd.argsort(a, axis=-1), np.argsort(x, axis=-1, kind="stable"))
    check(mx.nd.topk(a, k=2, ret_typ="value", axis=-1), -np.sort(-x, axis=-1)[..., :2])


def test_linear_algebra():
    a, b = sym(3, 4), sym(4, 5)
    np.testing.assert_allclose(mx.nd.dot(mx.nd.array(a, dtype=np.float64), mx.nd.array(b, dtype=np.float64))
                               .asnumpy(), a @ b, rtol=1e-10)
    np.testing.assert_allclose(mx.nd.dot(mx.nd.array(a, dtype=np.float64), mx.nd.array(b.T.copy(), dtype=np.float64),
                                         transpose_b=True).asnumpy(), a @ b, rtol=1e-10)
    x, y = sym(2, 3, 4), sym(2, 4, 5)
    np.testing.assert_allclose(mx.nd.batch_dot(mx.nd.array(x, dtype=np.float64), mx.nd.array(y, dtype=np.float64))
                               .asnumpy(), x @ y, rtol=1e-10)


def naive_conv2d(x, w, b, stride, pad):
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def test_nn_ops():
    x, w, b = sym(2, 3, 7, 6), sym(4, 3, 3, 3), sym(4)
    f64 = lambda v: mx.nd.array(v, dtype=np.float64)
    conv = mx.nd.Convolution(f64(x), f64(w), f64(b), kernel=(3, 3), num_filter=4, stride=(2, 2), pad=(1, 1))
    np.testing.assert_allclose(conv.asnumpy(), naive_conv2d(x, w, b, 2, 1), rtol=1e-10)
    pooled = mx.nd.Pooling(f64(x), kernel=(2, 2), stride=(2, 2), pool_type="max").asnumpy()
    np.testing.assert_allclose(pooled, x[:, :, :6].reshape(2, 3, 3, 2, 3, 2).max(axis=(3, 5)))
    avg = mx.nd.Pooling(f64(x), kernel=(2, 2), stride=(2, 2), pool_type="avg").asnumpy()
    np.testing.assert_allclose(avg, x[:, :, :6].reshape(2, 3, 3, 2, 3, 2).mean(axis=(3, 5)), rtol=1e-12)
    d, wf, bf = sym(5, 6), sym(3, 6), sym(3)
    np.testing.assert_allclose(mx.nd.FullyConnected(f64(d), f64(wf), f64(bf), num_hidden=3).asnumpy(),
                               d @ wf.T + bf, rtol=1e-10)
    e = np.exp(d - d.max(1, keepdims=True))
    np.testing.assert_allclose(mx.nd.softmax(f64(d)).asnumpy(), e / e.sum(1, keepdims=True), rtol=1e-10)
    np.testing.assert_allclose(mx.nd.log_softmax(f64(d)).asnumpy(), np.log(e / e.sum(1, keepdims=True)), rtol=1e-9)
    np.testing.assert_allclose(mx.nd.LeakyReLU(f64(d), slope=0.1).asnumpy(), np.where(d > 0, d, 0.1 * d))
    gamma, beta = pos(6), sym(6)
    ln = mx.nd.LayerNorm(f64(d), f64(gamma), f64(beta), eps=1e-5).asnumpy()
    mu, var = d.mean(1, keepdims=True), d.var(1, keepdims=True)
    np.testing.assert_allclose(ln, (d - mu) / np.sqrt(var + 1e-5) * gamma + beta, rtol=1e-8)
    mean, mvar = sym(3), pos(3)
    g3, b3 = pos(3), sym(3)
    bn = mx.nd.BatchNorm(f64(x), f64(g3), f64(b3), f64(mean), f64(mvar), eps=1e-3, fix_gamma=False).asnumpy()
    shape = (1, 3, 1, 1)
    np.testing.assert_allclose(bn, (x - mean.reshape(shape)) / np.sqrt(mvar.reshape(shape) + 1e-3)
                               * g3.reshape(shape) + b3.reshape(shape), rtol=1e-8)
    table = sym(10, 4)
    ids = np.array([[1, 9], [0, 3]])
    np.testing.assert_allclose(mx.nd.Embedding(mx.nd.array(ids), f64(table), input_dim=10, output_dim=4).asnumpy(),
                               table[ids])
    np.testing.assert_allclose(mx.nd.Dropout(f64(d), p=0.5).asnumpy(), d)  # identity outside training


GRADIENT_CASES = [
    ("tanh", lambda a: mx.nd.tanh(a), (3, 4)),
    ("softmax", lambda a: mx.nd.softmax(a, axis=1), (3, 4)),
    ("sum_axis", lambda a: mx.nd.sum(a * a, axis=0), (3, 4)),
    ("conv", lambda a: mx.nd.Convolution(a, mx.nd.array(np.linspace(-1, 1, 18).reshape(2, 1, 3, 3), dtype=np.float64),
                                         kernel=(3, 3), num_filter=2, no_bias=True), (1, 1, 5, 5)),
    ("pool", lambda a: mx.nd.Pooling(a, kernel=(2, 2), stride=(1, 1), pool_type="avg"), (1, 2, 4, 4)),
    ("layernorm", lambda a: mx.nd.LayerNorm(a, mx.nd.ones((4,), dtype=np.float64),
                                            mx.nd.zeros((4,), dtype=np.float64)), (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", GRADIENT_CASES, ids=[g[0] for g in GRADIENT_CASES])
def test_gradients_against_finite_differences(name, fn, shape):
    x = sym(*shape)
    a = mx.nd.array(x, dtype=np.float64)
    a.attach_grad()
    with mx.autograd.record():
        out = fn(a)
    head = rng.uniform(-1, 1, size=out.shape)
    out.backward(mx.nd.array(head, dtype=np.float64))
    numeric = np.zeros_like(x)
    eps = 1e-6
    for i in range(x.size):
        d = np.zeros(x.size)
        d[i] = eps
        d = d.reshape(x.shape)
        f = lambda v: float((fn(mx.nd.array(v, dtype=np.float64)).asnumpy() * head).sum())
        numeric.reshape(-1)[i] = (f(x + d) - f(x - d)) / (2 * eps)
    np.testing.assert_allclose(a.grad.asnumpy(), numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,ref", [("sum", np.sum), ("mean", np.mean), ("max", np.max), ("norm", None)])
def test_reduce_outer_and_inner_blocks_large(name, ref):
    # (R1, K, R2) over R1 and R2 -- a bias gradient in NCHW -- large enough to run in parallel.
    x = rng.uniform(-1, 1, size=(64, 20, 12, 12)).astype(np.float32)
    kw = {"ord": 2} if name == "norm" else {}
    out = getattr(mx.nd, name)(mx.nd.array(x), axis=(0, 2, 3), **kw).asnumpy()
    x64 = x.astype(np.float64)
    want = np.sqrt((x64 ** 2).sum(axis=(0, 2, 3))) if name == "norm" else ref(x64, axis=(0, 2, 3))
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("m,n", [(300, 40), (40, 300)])
def test_dot_large_enough_to_split(ta, tb, m, n):
    # Big enough for the CPU backend to split the product into row (m >= n) or column blocks.
    k = 150
    a, b = sym(m, k), sym(k, n)
    a_in, b_in = (a.T.copy() if ta else a), (b.T.copy() if tb else b)
    out = mx.nd.dot(mx.nd.array(a_in, dtype=np.float64), mx.nd.array(b_in, dtype=np.float64), transpose_a=ta,
                    transpose_b=tb).asnumpy()
    np.testing.assert_allclose(out, a @ b, rtol=1e-10, atol=1e-10)
    fc = mx.nd.FullyConnected(mx.nd.array(a, dtype=np.float64), mx.nd.array(b.T.copy(), dtype=np.float64),
                              num_hidden=n, no_bias=True).asnumpy()
    np.testing.assert_allclose(fc, a @ b, rtol=1e-10, atol=1e-10)


def test_conv_parallel_over_samples_with_groups():
    x, w = sym(9, 4, 8, 8), sym(6, 2, 3, 3)
    f64 = lambda v: mx.nd.array(v, dtype=np.float64)
    out = mx.nd.Convolution(f64(x), f64(w), kernel=(3, 3), num_filter=6, num_group=2, no_bias=True).asnumpy()
    want = np.concatenate([naive_conv2d(x[:, 2 * g:2 * g + 2], w[3 * g:3 * g + 3], np.zeros(3), 1, 0)
                           for g in range(2)], axis=1)
    np.testing.assert_allclose(out, want, rtol=1e-10)
    # Weight gradient: summed over the samples (per-chunk partials added in order).
    a, wt = f64(x), f64(w)
    wt.attach_grad()
    head = sym(*want.shape)
    with mx.autograd.record():
        y = mx.nd.Convolution(a, wt, kernel=(3, 3), num_filter=6, num_group=2, no_bias=True)
    y.backward(f64(head))
    dw = np.zeros_like(w)
    for g in range(2):
        for n_ in range(9):
            for f in range(3):
                for i in range(6):
                    for j in range(6):
                        dw[3 * g + f] += head[n_, 3 * g + f, i, j] * x[n_, 2 * g:2 * g + 2, i:i + 3, j:j + 3]
    np.testing.assert_allclose(wt.grad.asnumpy(), dw, rtol=1e-9, atol=1e-10)
