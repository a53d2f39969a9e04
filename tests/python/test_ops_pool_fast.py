# 2-d / 1-d Pooling and its gradient (the CPU backend's tiling fast paths, e.g. LeNet's 2x2/2 max,
# and its general 2-d path: padding, overlap, clipped and empty windows) against a naive pooling
# written here in numpy: max / avg (count_include_pad both ways) / sum, ties, -inf and NaN, odd
# sizes, batch 1, float64 / float32 / float16, and a shape big enough to run the planes in parallel.
import numpy as np
import pytest

import mx

DT_TOL = {"float64": 1e-12, "float32": 1e-5, "float16": 2e-2}


def windows(n_in, k, s, p, n_out):
    """Per output index: the window clipped to the data [lo, hi) and its length within the padded data."""
    out = []
    for o in range(n_out):
        lo = o * s - p
        hi = min(lo + k, n_in + p)
        out.append((max(lo, 0), min(hi, n_in), max(hi - lo, 0)))
    return out


def out_size(n_in, k, s, p, full):
    x = n_in + 2 * p - k
    return x // s + (1 if full and x % s else 0) + 1


def naive_pool(x, head, pool_type, kernel, stride, pad, full, include_pad):
    """Output and input gradient of sum(head * Pooling(x)) by MXNet's rules: max skips NaN (an
    all-NaN window gives -inf, an empty one 0); its gradient goes to the window's first element
    unless a later one is strictly greater, i.e. to the first maximum (a leading NaN keeps it)."""
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    x2 = x.reshape(n * c, *([1] * (2 - len(spatial)) + list(spatial))).astype(np.float64)
    k, s = [[1] * (2 - len(v)) + list(v) for v in (kernel, stride)]
    p = [0] * (2 - len(pad)) + list(pad)
    H, W = x2.shape[1:]
    oh, ow = out_size(H, k[0], s[0], p[0], full), out_size(W, k[1], s[1], p[1], full)
    rows, cols = windows(H, k[0], s[0], p[0], oh), windows(W, k[1], s[1], p[1], ow)
    y = np.zeros((n * c, oh, ow))
    g = head.reshape(n * c, oh, ow).astype(np.float64)
    dx = np.zeros_like(x2)
    for oy, (y0, y1, ph) in enumerate(rows):
        for ox, (x0, x1, pw) in enumerate(cols):
            if y1 <= y0 or x1 <= x0:
                continue  # empty window: output 0, no gradient
            win = x2[:, y0:y1, x0:x1].reshape(n * c, -1)
            if pool_type == "max":
                nonan = np.where(np.isnan(win), -np.inf, win)
                y[:, oy, ox] = nonan.max(axis=1)
                best = np.where(np.isnan(win[:, 0]), 0, nonan.argmax(axis=1))
                for plane in range(n * c):
                    b = best[plane]
                    dx[plane, y0 + b // (x1 - x0), x0 + b % (x1 - x0)] += g[plane, oy, ox]
            else:
                size = ph * pw if include_pad else (y1 - y0) * (x1 - x0)
                div = size if pool_type == "avg" else 1
                y[:, oy, ox] = win.sum(axis=1) / div
                dx[:, y0:y1, x0:x1] += (g[:, oy, ox] / div)[:, None, None]
    return y.reshape(n, c, *([oh, ow][2 - len(spatial):])), dx.reshape(x.shape)


def mx_pool(x, head, dtype, **attrs):
    a = mx.nd.array(x, dtype=dtype)
    a.attach_grad()
    a.grad[:] = 7.0  # garbage where the gradient is written ('write'): an element the kernel skips shows
    with mx.autograd.record():
        y = mx.nd.Pooling(a, **attrs)
    y.backward(mx.nd.array(head, dtype=dtype))
    return y.asnumpy().astype(np.float64), a.grad.asnumpy().astype(np.float64)


def check(x, pool_type, kernel, stride, pad=None, full=False, include_pad=True, dtype="float64", seed=1):
    pad = pad or tuple(0 for _ in kernel)
    x = x.astype(dtype).astype(np.float64)  # the reference sees exactly the values mx gets
    attrs = dict(pool_type=pool_type, kernel=kernel, stride=stride, pad=pad, count_include_pad=include_pad,
                 pooling_convention="full" if full else "valid")
    n, c = x.shape[:2]
    spatial = [out_size(d, k, s, p, full) for d, k, s, p in zip(x.shape[2:], kernel, stride, pad)]
    head = np.random.RandomState(seed).uniform(-1, 1, (n, c, *spatial)).astype(dtype).astype(np.float64)
    want_y, want_dx = naive_pool(x, head, pool_type, kernel, stride, pad, full, include_pad)
    y, dx = mx_pool(x, head, dtype, **attrs)
    tol = DT_TOL[dtype]
    np.testing.assert_allclose(y, want_y, rtol=tol, atol=tol)
    np.testing.assert_allclose(dx, want_dx, rtol=tol, atol=tol)


def rand(*shape, seed=0):
    return np.random.RandomState(seed + sum(shape)).uniform(-2, 2, shape)


def ties(*shape, seed=0):
    return np.random.RandomState(seed).randint(0, 3, shape).astype(np.float64)  # many equal maxima


# Tiling windows (stride == kernel, no pad): the fast paths, 2x2 and 3x3 specialised, other k
# general; odd sizes leave rows / columns no window covers (their gradient must be 0).
TILES = [((2, 3, 8, 8), (2, 2)), ((1, 2, 9, 7), (2, 2)), ((2, 2, 9, 10), (3, 3)), ((1, 3, 11, 13), (3, 3)),
         ((2, 2, 8, 9), (4, 4)), ((2, 1, 7, 9), (2, 3)), ((3, 2, 7), (2,)), ((1, 1, 5, 5), (1, 1)),
         ((1, 2, 5, 271), (2, 2))]  # 2x2 max's backward goes by 64 windows: 135 = 64 + 64 + 7
# Everything else 2-d: overlap, padding, the full convention's clipped and empty windows, global.
GENERAL = [((2, 3, 9, 9), (3, 3), (2, 2), (1, 1), False), ((1, 2, 8, 7), (3, 3), (2, 2), (1, 1), True),
           ((2, 2, 6, 7), (2, 2), (1, 1), (0, 0), False), ((1, 2, 5, 5), (1, 1), (3, 3), (0, 0), True),
           ((2, 1, 7, 8), (3, 2), (2, 3), (1, 0), True), ((2, 2, 9), (3,), (2,), (1,), False),
           ((1, 2, 7, 7), (2, 2), (2, 2), (0, 0), True)]


@pytest.mark.parametrize("pool", [("max", True), ("avg", True), ("avg", False), ("sum", True)])
@pytest.mark.parametrize("shape,kernel", TILES)
def test_tiling_windows(shape, kernel, pool):
    check(rand(*shape), pool[0], kernel, kernel, include_pad=pool[1])


@pytest.mark.parametrize("pool", [("max", True), ("avg", True), ("avg", False), ("sum", True)])
@pytest.mark.parametrize("shape,kernel,stride,pad,full", GENERAL)
def test_general_2d_windows(shape, kernel, stride, pad, full, pool):
    check(rand(*shape), pool[0], kernel, stride, pad, full, include_pad=pool[1])


@pytest.mark.parametrize("kernel,stride,pad", [((2, 2), (2, 2), (0, 0)), ((3, 3), (3, 3), (0, 0)),
                                               ((3, 3), (2, 2), (1, 1)), ((2, 3), (2, 3), (0, 0))])
@pytest.mark.parametrize("shape", [(2, 3, 9, 12), (1, 2, 4, 270)])
def test_max_gradient_goes_to_the_first_of_tied_maxima(kernel, stride, pad, shape):
    check(ties(*shape), "max", kernel, stride, pad)


@pytest.mark.parametrize("kernel,stride,pad", [((2, 2), (2, 2), (0, 0)), ((3, 3), (3, 3), (0, 0)),
                                               ((3, 3), (2, 2), (1, 1)), ((4, 4), (4, 4), (0, 0))])
def test_max_with_inf_and_nan(kernel, stride, pad):
    x = rand(2, 2, 12, 12, seed=5)
    r = np.random.RandomState(7)
    for value in (np.nan, -np.inf, np.inf):
        x.flat[r.choice(x.size, 40, replace=False)] = value
    x[0, 0, :4, :4] = np.nan  # whole windows of NaN (output -inf, gradient to the first element)
    x[0, 1, :4, :4] = -np.inf
    check(x, "max", kernel, stride, pad)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("pool_type", ["max", "avg"])
@pytest.mark.parametrize("kernel,stride,pad", [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 3), (3, 3), (0, 0))])
def test_narrow_dtypes(dtype, pool_type, kernel, stride, pad):
    check(rand(2, 3, 10, 11), pool_type, kernel, stride, pad, dtype=dtype)


@pytest.mark.parametrize("pool_type", ["max", "avg"])
def test_global_pooling(pool_type):
    x = rand(2, 3, 5, 6)
    y = mx.nd.Pooling(mx.nd.array(x, dtype="float64"), global_pool=True, pool_type=pool_type, kernel=(1, 1))
    np.testing.assert_allclose(y.asnumpy(), (np.max if pool_type == "max" else np.mean)(x, axis=(2, 3), keepdims=True),
                               rtol=1e-12)


@pytest.mark.parametrize("kernel,stride,pad", [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1))])
def test_lenet_sized_planes_run_in_parallel(kernel, stride, pad):
    # 16 x 20 planes of 24 x 24: past the size the planes are split between threads at
    check(rand(16, 20, 24, 24, seed=3), "max", kernel, stride, pad, dtype="float32")
    check(ties(16, 20, 24, 24, seed=4), "max", kernel, stride, pad, dtype="float32")
