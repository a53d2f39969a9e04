# The conv kernels' batched path (several samples' im2col side by side, one GEMM per block of
# samples, blocks cut so the column matrix stays in L2): Convolution's output and its data,
# weight and bias gradients (_conv_backward_data / _conv_backward_weight), and Deconvolution's
# output, against a naive direct convolution in numpy float64 (a loop over the kernel taps, each
# a strided slice of the zero-padded input). The shapes are sized so the blocks do not divide
# the batch (the last block is short), and cover groups, padding, stride 2 (the strided copy),
# dilation, 1-d, 3-d and LeNet's two layers, in float64, float32 and float16.
import numpy as np
import pytest

import mx


def rand(*shape, seed=0):
    return np.random.RandomState(seed + sum(shape)).uniform(-2.0, 2.0, shape)


def as3d(x, nd):
    """NCW / NCHW as NCDHW with leading spatial dims of 1."""
    return x.reshape(x.shape[:2] + (1,) * (3 - nd) + x.shape[2:])


def tap_slices(k, stride, dilate, out):
    """For each kernel tap (a, i, j): the slices of the padded input that tap reads for every output."""
    for tap in np.ndindex(*k):
        yield tap, tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, s, d, o in zip(tap, stride, dilate, out))


def naive_conv(x, w, b, stride, pad, dilate, groups):
    """y[n, f, o] = sum over the group's channels c and taps t of xpad[n, c, o*s + t*d] * w[f, c, t] (+ b[f])."""
    n, c = x.shape[:2]
    f, k = w.shape[0], w.shape[2:]
    out = [(x.shape[2 + i] + 2 * pad[i] - dilate[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(3)]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    cg, fg = c // groups, f // groups
    y = np.zeros((n, f, *out))
    for gi in range(groups):
        for tap, sl in tap_slices(k, stride, dilate, out):
            patch = xp[(slice(None), slice(gi * cg, (gi + 1) * cg)) + sl]
            y[:, gi * fg:(gi + 1) * fg] += np.einsum("ncdhw,fc->nfdhw", patch, w[(slice(gi * fg, (gi + 1) * fg), slice(None)) + tap])
    if b is not None:
        y += b.reshape(1, -1, 1, 1, 1)
    return y


def naive_conv_data_grad(og, w, in_shape, stride, pad, dilate, groups):
    """The adjoint of naive_conv in x: each output gradient flows back through every tap it read.
    in_shape may be longer than the forward's input reaches (Deconvolution's adj): those cells get 0."""
    n, f = og.shape[:2]
    c, k, out = w.shape[1] * groups, w.shape[2:], og.shape[2:]
    cg, fg = c // groups, f // groups
    dxp = np.zeros((n, c) + tuple(s + 2 * p for s, p in zip(in_shape, pad)))
    for gi in range(groups):
        for tap, sl in tap_slices(k, stride, dilate, out):
            dxp[(slice(None), slice(gi * cg, (gi + 1) * cg)) + sl] += np.einsum(
                "nfdhw,fc->ncdhw", og[:, gi * fg:(gi + 1) * fg], w[(slice(gi * fg, (gi + 1) * fg), slice(None)) + tap])
    return dxp[(slice(None), slice(None)) + tuple(slice(p, p + s) for s, p in zip(in_shape, pad))]


def naive_conv_weight_grad(og, x, k, stride, pad, dilate, groups):
    """dw[f, c, t] = sum over n and o of og[n, f, o] * xpad[n, c, o*s + t*d] (the group's channels)."""
    n, c = x.shape[:2]
    f, out = og.shape[1], og.shape[2:]
    cg, fg = c // groups, f // groups
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    dw = np.zeros((f, cg) + tuple(k))
    for gi in range(groups):
        for tap, sl in tap_slices(k, stride, dilate, out):
            patch = xp[(slice(None), slice(gi * cg, (gi + 1) * cg)) + sl]
            dw[(slice(gi * fg, (gi + 1) * fg), slice(None)) + tap] = np.einsum("nfdhw,ncdhw->fc", og[:, gi * fg:(gi + 1) * fg], patch)
    return dw


def widen(v, nd, lead=1):
    """An attribute tuple of nd dims as 3: leading dims of 1 (pad 0)."""
    return (lead,) * (3 - nd) + tuple(v)


def mx_run(op, arrays, head, dtype, **attrs):
    xs = [mx.nd.array(a, dtype=dtype) for a in arrays]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = op(*xs, **attrs)
    y.backward(mx.nd.array(head, dtype=dtype))
    return y.asnumpy().astype(np.float64), [x.grad.asnumpy().astype(np.float64) for x in xs]


TOL = {"float64": 1e-11, "float32": 2e-6, "float16": 2e-3}  # relative to the largest magnitude


def assert_close(got, want, dtype):
    assert got.shape == want.shape
    scale = max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL[dtype] * scale * (4 if dtype == "float16" else 1))


def representable(a, dtype):
    """The values the op sees (float16 rounds its inputs); the reference runs on these in float64."""
    return a.astype(dtype).astype(np.float64)


# data shape, kernel, stride, dilate, pad, num_filter, num_group, bias. A block is
# min(ceil(512 / out_plane), 512 KiB / column bytes per sample) samples (conv.cc samples_per_block):
# the comments give the blocks at float32 (float64 halves the byte cap).
CONV_CASES = [
    ((11, 20, 12, 12), (5, 5), (1, 1), (1, 1), (0, 0), 50, 1, True),    # LeNet conv2: 4 + 4 + 3 (f64 2s + 1)
    ((5, 32, 12, 12), (5, 5), (1, 1), (1, 1), (0, 0), 8, 1, False),     # byte cap: 2 + 2 + 1 (f64: 1 each)
    ((13, 1, 28, 28), (5, 5), (1, 1), (1, 1), (0, 0), 20, 1, True),     # LeNet conv1: 1 (GEMM into NCHW)
    ((11, 8, 16, 16), (3, 3), (2, 2), (1, 1), (1, 1), 6, 2, True),      # groups, stride 2, pad: 8 + 3
    ((11, 3, 12, 12), (3, 3), (1, 1), (2, 2), (2, 2), 4, 1, False),     # dilation and pad: 4 + 4 + 3
    ((7, 4, 100), (5,), (1,), (1,), (2,), 3, 1, True),                  # 1-d: 6 + 1
    ((7, 2, 4, 5, 6), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1), 4, 1, True),  # 3-d: 5 + 2
    ((3, 4, 30, 30), (3, 3), (1, 2), (1, 1), (1, 0), 4, 2, True),       # wide plane, groups, stride: 1
    ((2, 3, 9, 7), (3, 2), (2, 3), (1, 1), (1, 0), 4, 1, True),         # small: one block, odd sizes
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("shape,kernel,stride,dilate,pad,nf,groups,bias", CONV_CASES)
def test_convolution_and_gradients_match_naive(shape, kernel, stride, dilate, pad, nf, groups, bias, dtype):
    nd = len(kernel)
    x = representable(rand(*shape), dtype)
    w = representable(rand(nf, shape[1] // groups, *kernel, seed=1) * 0.3, dtype)
    b = representable(rand(nf, seed=2), dtype) if bias else None
    s3, p3, d3 = widen(stride, nd), widen(pad, nd, lead=0), widen(dilate, nd)
    x3, w3 = as3d(x, nd), as3d(w, nd)
    want = naive_conv(x3, w3, b, s3, p3, d3, groups)
    head = representable(rand(*want.shape, seed=3), dtype)
    y, grads = mx_run(mx.nd.Convolution, [x, w] + ([b] if bias else []), head.reshape((shape[0], nf) + want.shape[2 + 3 - nd:]),
                      dtype, kernel=kernel, stride=stride, dilate=dilate, pad=pad, num_filter=nf, num_group=groups,
                      no_bias=not bias)
    assert_close(as3d(y, nd), want, dtype)
    assert_close(as3d(grads[0], nd), naive_conv_data_grad(head, w3, x3.shape[2:], s3, p3, d3, groups), dtype)
    assert_close(as3d(grads[1], nd), naive_conv_weight_grad(head, x3, w3.shape[2:], s3, p3, d3, groups), dtype)
    if bias:
        assert_close(grads[2], head.sum(axis=(0, 2, 3, 4)), dtype)


# data shape, kernel, stride, pad, adj, num_filter, num_group: Deconvolution runs the data-gradient
# path over its output (its input planes of 400: blocks of 2 samples).
DECONV_CASES = [
    ((5, 16, 20, 20), (4, 4), (2, 2), (1, 1), (1, 1), 8, 1),
    ((7, 16, 20, 20), (4, 4), (2, 2), (1, 1), (0, 0), 8, 2),
]


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
@pytest.mark.parametrize("shape,kernel,stride,pad,adj,nf,groups", DECONV_CASES)
def test_deconvolution_matches_naive(shape, kernel, stride, pad, adj, nf, groups, dtype):
    x = representable(rand(*shape), dtype)
    w = representable(rand(shape[1], nf // groups, *kernel, seed=1) * 0.3, dtype)  # (C, F / groups, kh, kw)
    b = representable(rand(nf, seed=2), dtype)
    out = tuple(s * (i - 1) + k - 2 * p + a for i, k, s, p, a in zip(shape[2:], kernel, stride, pad, adj))
    y = mx.nd.Deconvolution(*[mx.nd.array(a, dtype=dtype) for a in (x, w, b)], kernel=kernel, stride=stride, pad=pad,
                            adj=adj, num_filter=nf, num_group=groups, no_bias=False).asnumpy().astype(np.float64)
    # Deconvolution is the data gradient of the convolution (nf channels -> C filters) over its output.
    want = naive_conv_data_grad(as3d(x, 2), as3d(w, 2), (1,) + out, (1,) + stride, (0,) + pad, (1, 1, 1), groups)
    assert_close(as3d(y, 2), want + b.reshape(1, -1, 1, 1, 1), dtype)
