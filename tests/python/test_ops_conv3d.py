# The 3-d (NCDHW) Convolution, Deconvolution and Pooling ops from Python: outputs and the data,
# weight and bias gradients against torch.nn.functional (conv3d, conv_transpose3d, max_pool3d,
# avg_pool3d) in float64, one case against central finite differences, global pooling against
# numpy, and the errors for shapes of the wrong rank.
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mx
from test_ops_layers import mx_grads, rand, torch_grads  # the 2-d layer tests' float64 helpers



def check_against_torch(op, torch_f, arrays, **attrs):
    want = torch_f(*[torch.tensor(a, dtype=torch.float64) for a in arrays]).numpy()
    head = rand(*want.shape, seed=3)
    y, g = mx_grads(op, arrays, head, **attrs)
    ty, tg = torch_grads(torch_f, arrays, head)
    assert y.shape == ty.shape
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-10)
    for a, b in zip(g, tg):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


# data shape, kernel, stride, dilate, pad, num_filter, num_group, bias
CONV_CASES = [
    ((2, 4, 5, 6, 5), (3, 2, 2), (2, 1, 2), (2, 2, 1), (1, 0, 1), 6, 2, True),
    ((1, 3, 4, 3, 5), (2, 3, 1), (1, 1, 1), (1, 1, 1), (0, 1, 0), 2, 1, False),
    ((2, 2, 3, 3, 3), (1, 1, 1), (2, 2, 1), (1, 1, 1), (0, 0, 0), 3, 1, True),
    ((2, 4, 6, 5), (3, 2), (2, 1), (1, 2), (1, 1), 4, 2, True),  # 2-d still right on the 3-d loops
    ((2, 3, 7), (3,), (2,), (2,), (1,), 2, 1, True),             # and 1-d
]


@pytest.mark.parametrize("shape,kernel,stride,dilate,pad,nf,groups,bias", CONV_CASES)
def test_convolution_matches_torch(shape, kernel, stride, dilate, pad, nf, groups, bias):
    x = rand(*shape)
    w = rand(nf, shape[1] // groups, *kernel, seed=1)
    arrays = [x, w] + ([rand(nf, seed=2)] if bias else [])
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(kernel)]
    check_against_torch(mx.nd.Convolution,
                        lambda x, w, b=None: conv(x, w, b, stride=stride, padding=pad, dilation=dilate, groups=groups),
                        arrays, kernel=kernel, stride=stride, dilate=dilate, pad=pad, num_filter=nf,
                        num_group=groups, no_bias=not bias)


# data shape, kernel, stride, dilate, pad, adj, num_filter, num_group, bias
DECONV_CASES = [
    ((2, 4, 3, 4, 3), (3, 2, 2), (2, 1, 2), (1, 1, 2), (1, 0, 1), (1, 0, 1), 6, 2, True),
    ((1, 3, 2, 3, 2), (2, 2, 3), (1, 2, 1), (2, 1, 1), (0, 1, 1), (0, 1, 0), 2, 1, False),
]


@pytest.mark.parametrize("shape,kernel,stride,dilate,pad,adj,nf,groups,bias", DECONV_CASES)
def test_deconvolution_matches_torch(shape, kernel, stride, dilate, pad, adj, nf, groups, bias):
    x = rand(*shape)
    w = rand(shape[1], nf // groups, *kernel, seed=1)  # (C, F / groups, kd, kh, kw) in both
    arrays = [x, w] + ([rand(nf, seed=2)] if bias else [])
    check_against_torch(mx.nd.Deconvolution,
                        lambda x, w, b=None: F.conv_transpose3d(x, w, b, stride=stride, padding=pad,
                                                                output_padding=adj, groups=groups, dilation=dilate),
                        arrays, kernel=kernel, stride=stride, dilate=dilate, pad=pad, adj=adj, num_filter=nf,
                        num_group=groups, no_bias=not bias)


def test_deconvolution_target_shape_sets_pad_and_adj():
    # MXNet: full = stride * (in - 1) + dilate * (kernel - 1) + 1; total = full - target;
    # pad = ceil(total / 2), adj = total % 2 per axis.
    shape, kernel, stride, target = (1, 2, 3, 2, 3), (3, 3, 2), (2, 3, 2), (6, 4, 5)
    full = [s * (i - 1) + k for s, i, k in zip(stride, shape[2:], kernel)]
    total = [f - t for f, t in zip(full, target)]
    pad = tuple((t + 1) // 2 for t in total)
    adj = tuple(t % 2 for t in total)
    x, w = rand(*shape), rand(2, 3, *kernel, seed=1)
    check_against_torch(mx.nd.Deconvolution,
                        lambda x, w: F.conv_transpose3d(x, w, stride=stride, padding=pad, output_padding=adj),
                        [x, w], kernel=kernel, stride=stride, target_shape=target, num_filter=3)
    assert mx.nd.Deconvolution(mx.nd.array(x), mx.nd.array(w), kernel=kernel, stride=stride,
                               target_shape=target, num_filter=3).shape == (1, 3) + target


# pool_type, kernel, stride, pad, convention, count_include_pad, data shape
POOL_CASES = [
    ("max", (3, 2, 2), (2, 1, 2), (1, 0, 1), "valid", True, (2, 3, 5, 4, 5)),
    ("max", (2, 3, 2), (2, 2, 2), (1, 1, 0), "full", True, (1, 2, 6, 5, 5)),
    ("avg", (3, 3, 2), (2, 2, 1), (1, 1, 1), "valid", True, (2, 2, 5, 5, 4)),
    ("avg", (3, 2, 3), (2, 2, 2), (1, 1, 1), "valid", False, (1, 3, 5, 4, 6)),
    ("avg", (2, 2, 2), (2, 2, 2), (0, 0, 0), "full", True, (1, 2, 5, 4, 5)),
    ("sum", (2, 3, 2), (1, 2, 2), (0, 1, 1), "valid", True, (1, 2, 4, 5, 4)),
]


def torch_pool(pool_type, kernel, stride, pad, convention, include_pad):
    ceil = convention == "full"
    if pool_type == "max":
        return lambda x: F.max_pool3d(x, kernel, stride, pad, ceil_mode=ceil)
    # sum: an average that divides by 1
    div = 1 if pool_type == "sum" else None
    return lambda x: F.avg_pool3d(x, kernel, stride, pad, ceil_mode=ceil, count_include_pad=include_pad,
                                  divisor_override=div)


@pytest.mark.parametrize("pool_type,kernel,stride,pad,convention,include_pad,shape", POOL_CASES)
def test_pooling_matches_torch(pool_type, kernel, stride, pad, convention, include_pad, shape):
    check_against_torch(mx.nd.Pooling, torch_pool(pool_type, kernel, stride, pad, convention, include_pad),
                        [rand(*shape)], kernel=kernel, stride=stride, pad=pad, pool_type=pool_type,
                        pooling_convention=convention, count_include_pad=include_pad)


@pytest.mark.parametrize("pool_type,reduce", [("max", np.max), ("avg", np.mean), ("sum", np.sum)])
def test_global_pooling_reduces_all_three_spatial_axes(pool_type, reduce):
    x = rand(2, 3, 3, 4, 2)
    y = mx.nd.Pooling(mx.nd.array(x, dtype="float64"), global_pool=True, pool_type=pool_type, kernel=(1, 1, 1))
    np.testing.assert_allclose(y.asnumpy(), reduce(x, axis=(2, 3, 4), keepdims=True), rtol=1e-12)


def central_differences(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f()
        x[i] = old - eps
        down = f()
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def test_convolution_gradients_match_finite_differences():
    x, w, b = rand(1, 2, 3, 3, 4), rand(2, 1, 2, 2, 3, seed=1), rand(2, seed=2)
    attrs = dict(kernel=(2, 2, 3), stride=(1, 2, 1), pad=(1, 0, 1), dilate=(2, 1, 2), num_filter=2, num_group=2)
    head = rand(1, 2, 3, 1, 2, seed=3)

    def loss():
        y = mx.nd.Convolution(*[mx.nd.array(a, dtype="float64") for a in (x, w, b)], **attrs)
        return float((y.asnumpy() * head).sum())

    _, grads = mx_grads(mx.nd.Convolution, [x, w, b], head, **attrs)
    for arr, got in zip((x, w, b), grads):
        np.testing.assert_allclose(got, central_differences(loss, arr), rtol=1e-6, atol=1e-8)


def test_symbol_infers_3d_weight_and_output_shapes():
    data = mx.sym.Variable("data")
    conv = mx.sym.Convolution(data, kernel=(3, 2, 2), pad=(1, 0, 0), num_filter=4, name="c")
    pool = mx.sym.Pooling(conv, kernel=(2, 2, 2), stride=(2, 2, 2), pool_type="max")
    args, outs, _ = pool.infer_shape(data=(2, 3, 6, 5, 5))
    shapes = dict(zip(pool.list_arguments(), args))
    assert shapes["c_weight"] == (4, 3, 3, 2, 2) and shapes["c_bias"] == (4,)
    assert outs == [(2, 4, 3, 2, 2)]


@pytest.mark.parametrize("call,words", [
    (lambda: mx.nd.Convolution(mx.nd.ones((1, 2, 3, 3, 3)), mx.nd.ones((2, 2, 2, 2)), kernel=(2, 2), num_filter=2,
                               no_bias=True), ["Convolution", "(1,2,3,3,3)", "NCHW", "(2,2)"]),
    (lambda: mx.nd.Convolution(mx.nd.ones((1, 2, 3, 3)), mx.nd.ones((2, 2, 2, 2, 2)), kernel=(2, 2, 2), num_filter=2,
                               no_bias=True), ["Convolution", "(1,2,3,3)", "NCDHW", "(2,2,2)"]),
    (lambda: mx.nd.Convolution(mx.nd.ones((1, 2, 3, 3, 3)), mx.nd.ones((2, 3, 2, 2, 2)), kernel=(2, 2, 2),
                               num_filter=2, no_bias=True), ["Convolution", "(2,3,2,2,2)", "(2,2,2,2,2)"]),
    (lambda: mx.nd.Convolution(mx.nd.ones((1, 2, 3, 3, 3, 3)), mx.nd.ones((2, 2, 2, 2, 2, 2)), kernel=(2, 2, 2, 2),
                               num_filter=2, no_bias=True), ["Convolution", "(2,2,2,2)", "1, 2 or 3 dims"]),
    (lambda: mx.nd.Deconvolution(mx.nd.ones((1, 3, 4, 4, 4)), mx.nd.ones((2, 2, 2, 2, 2)), kernel=(2, 2, 2),
                                 num_filter=2), ["Deconvolution", "(1,3,4,4,4)", "(2,2,2,2,2)"]),
    (lambda: mx.nd.Deconvolution(mx.nd.ones((1, 2, 3, 3, 3)), mx.nd.ones((2, 2, 2, 2, 2)), kernel=(2, 2, 2),
                                 num_filter=2, adj=(1, 0, 0)), ["Deconvolution", "adj", "(1,0,0)"]),
    (lambda: mx.nd.Pooling(mx.nd.ones((1, 3, 8, 8)), kernel=(2, 2, 2)), ["Pooling", "(2,2,2)", "(1,3,8,8)"]),
    (lambda: mx.nd.Pooling(mx.nd.ones((1, 3, 2, 8, 8)), kernel=(3, 2, 2)), ["Pooling", "(3,2,2)", "(1,3,2,8,8)"]),
    (lambda: mx.nd.Pooling(mx.nd.ones((1, 3, 2, 2, 8, 8)), kernel=(2, 2, 2, 2)),
     ["Pooling", "(1,3,2,2,8,8)", "NCDHW"]),
])
def test_wrong_ranks_are_errors_naming_op_and_shapes(call, words):
    with pytest.raises(mx.MXNetError) as e:
        call().wait_to_read()
    for w in words:
        assert w.replace(" ", "") in str(e.value).replace(" ", "")
