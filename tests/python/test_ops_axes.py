"""The shape and indexing ops (core/op/defs/axes.cc, lookup.cc) and MXNet's Python shape functions
(mx/_shape_funcs.py) against numpy."""
import numpy as np
import pytest

import mx
from mx import _shape_funcs as sf


def nd(x, dtype="float32"):
    return mx.nd.array(np.asarray(x), dtype=dtype)


RNG = np.random.RandomState(7)
X = RNG.uniform(-2, 2, (2, 3, 4)).astype(np.float32)


@pytest.mark.parametrize("src,dst", [(0, 2), (2, 0), (-1, 1), (1, -3)])
def test_moveaxis_matches_numpy(src, dst):
    np.testing.assert_array_equal(sf.moveaxis(nd(X), src, dst).asnumpy(), np.moveaxis(X, src, dst))


def test_moveaxis_rejects_out_of_range_axes():
    with pytest.raises(ValueError, match="source 3"):
        sf.moveaxis(nd(X), 3, 0)


def test_swapaxes_flip_reverse():
    np.testing.assert_array_equal(mx.nd.swapaxes(nd(X), dim1=0, dim2=2).asnumpy(), np.swapaxes(X, 0, 2))
    np.testing.assert_array_equal(mx.nd.SwapAxis(nd(X), dim1=1, dim2=-1).asnumpy(), np.swapaxes(X, 1, -1))
    np.testing.assert_array_equal(mx.nd.flip(nd(X), axis=1).asnumpy(), np.flip(X, 1))
    np.testing.assert_array_equal(mx.nd.reverse(nd(X), axis=(0, 2)).asnumpy(), np.flip(np.flip(X, 0), 2))


def test_broadcast_to_and_axis():
    a = RNG.uniform(size=(1, 3, 1)).astype(np.float32)
    np.testing.assert_array_equal(mx.nd.broadcast_to(nd(a), shape=(2, 0, 4)).asnumpy(), np.broadcast_to(a, (2, 3, 4)))
    np.testing.assert_array_equal(mx.nd.broadcast_axis(nd(a), axis=(0, 2), size=(2, 5)).asnumpy(),
                                  np.broadcast_to(a, (2, 3, 5)))
    np.testing.assert_array_equal(mx.nd.broadcast_axes(nd(a), axis=-1, size=2).asnumpy(), np.broadcast_to(a, (1, 3, 2)))
    with pytest.raises(mx.base.MXNetError, match=r"broadcast_to.*\(1,3,1\)"):
        mx.nd.broadcast_to(nd(a), shape=(1, 4, 1))


def test_broadcast_to_gradient_sums_over_broadcast_axes():
    a = nd(RNG.uniform(size=(1, 3)), "float64")
    a.attach_grad()
    with mx.autograd.record():
        y = mx.nd.broadcast_to(a, shape=(4, 3))
    head = RNG.uniform(size=(4, 3))
    y.backward(nd(head, "float64"))
    np.testing.assert_allclose(a.grad.asnumpy(), head.sum(0, keepdims=True), rtol=1e-12)


def test_reshape_like():
    lhs = np.arange(24, dtype=np.float32).reshape(2, 12)
    rhs = np.zeros((3, 4, 2), np.float32)
    out = mx.nd.reshape_like(nd(lhs), nd(rhs))
    assert out.shape == (3, 4, 2)
    part = mx.nd.reshape_like(nd(lhs), nd(rhs), lhs_begin=1, rhs_begin=0, rhs_end=2)
    assert part.shape == (2, 3, 4)
    np.testing.assert_array_equal(part.asnumpy(), lhs.reshape(2, 3, 4))


def test_depth_to_space_inverts_space_to_depth():
    x = RNG.uniform(size=(2, 8, 3, 5)).astype(np.float32)
    d2s = mx.nd.depth_to_space(nd(x), block_size=2).asnumpy()
    # MXNet's documented DCR definition as numpy reshapes
    want = x.reshape(2, 2, 2, 2, 3, 5).transpose(0, 3, 4, 1, 5, 2).reshape(2, 2, 6, 10)
    np.testing.assert_array_equal(d2s, want)
    np.testing.assert_array_equal(mx.nd.space_to_depth(nd(d2s), block_size=2).asnumpy(), x)


def test_split_v2_matches_numpy_split():
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    for arg, axis in [(3, 1), ((1, 4), 1), ((1, 3), 0), (5, 0)]:
        got = sf.split_v2(nd(x), arg, axis=axis)
        got = got if isinstance(got, list) else [got]
        want = np.split(x, arg, axis=axis)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == w.shape
            np.testing.assert_array_equal(g.asnumpy(), w)
    rows = sf.split_v2(nd(x), 5, axis=0, squeeze_axis=True)
    assert rows[2].shape == (6,)
    with pytest.raises(ValueError):
        sf.split_v2(nd(x), 4, axis=1)
    with pytest.raises(mx.base.MXNetError, match="empty piece"):  # numpy would give an empty piece
        sf.split_v2(nd(x), (2, 2), axis=1)


def test_split_v2_gradient_joins_the_pieces():
    x = nd(RNG.uniform(size=(3, 5)), "float64")
    x.attach_grad()
    with mx.autograd.record():
        pieces = sf.split_v2(x, (2, 4), axis=1, squeeze_axis=False)
        loss = pieces[0].sum() + (pieces[1] * 3).sum() + (pieces[2] * 4).sum()
    loss.backward()
    want = np.concatenate([np.full((3, 2), 1.0), np.full((3, 2), 3.0), np.full((3, 1), 4.0)], axis=1)
    np.testing.assert_array_equal(x.grad.asnumpy(), want)


def test_split_v2_symbol_infers_every_piece():
    data = mx.sym.Variable("data")
    pieces = sf.sym_split_v2(data, (2, 5), axis=1)
    _, out_shapes, _ = pieces.infer_shape(data=(3, 7))
    assert out_shapes == [(3, 2), (3, 3), (3, 2)]
    _, out_shapes, _ = sf.sym_split_v2(data, 7, axis=1, squeeze_axis=True).infer_shape(data=(3, 7))
    assert out_shapes == [(3,)] * 7


def test_concatenate_matches_numpy():
    a, b = RNG.uniform(size=(2, 3)).astype(np.float32), RNG.uniform(size=(2, 1)).astype(np.float32)
    np.testing.assert_array_equal(sf.concatenate([nd(a), nd(b)], axis=1).asnumpy(), np.concatenate([a, b], 1))
    np.testing.assert_array_equal(sf.concatenate([nd(a), nd(a)]).asnumpy(), np.concatenate([a, a]))
    only = nd(a)
    assert sf.concatenate([only], always_copy=False) is only


def test_shape_and_size_array():
    s, n = mx.nd.shape_array(nd(X)), mx.nd.size_array(nd(X))
    assert s.dtype == np.int64 and n.dtype == np.int64
    assert s.asnumpy().tolist() == [2, 3, 4] and n.asnumpy().tolist() == [24]


def test_ravel_and_unravel_index_match_numpy():
    shape = (3, 4, 5)
    flat = np.array([0, 59, 21, 7, 40, 33])
    coords = np.array(np.unravel_index(flat, shape))
    got = mx.nd.unravel_index(nd(flat, "int64"), shape=shape).asnumpy()
    np.testing.assert_array_equal(got, coords)
    back = mx.nd.ravel_multi_index(nd(coords, "float32"), shape=shape).asnumpy()
    np.testing.assert_array_equal(back, np.ravel_multi_index(coords, shape))


def test_batch_take_choose_fill_and_onehot():
    a = RNG.uniform(size=(4, 3)).astype(np.float32)
    idx = np.array([2, 0, 1, 1])
    want = a[np.arange(4), idx]
    np.testing.assert_array_equal(mx.nd.batch_take(nd(a), nd(idx, "int32")).asnumpy(), want)
    np.testing.assert_array_equal(mx.nd.choose_element_0index(nd(a), nd(idx)).asnumpy(), want)
    vals = np.array([10, 20, 30, 40], np.float32)
    filled = a.copy()
    filled[np.arange(4), idx] = vals
    np.testing.assert_array_equal(mx.nd.fill_element_0index(nd(a), nd(vals), nd(idx)).asnumpy(), filled)
    out = mx.nd.zeros((4, 3))
    assert sf.onehot_encode(nd(idx), out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.eye(3, dtype=np.float32)[idx])


def test_histogram_matches_numpy():
    x = RNG.uniform(-3, 3, 200).astype(np.float32)
    counts, edges = sf.histogram(nd(x), bins=7, range=(-2, 2.5))
    want_counts, want_edges = np.histogram(x, bins=7, range=(-2, 2.5))
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts.asnumpy(), want_counts)
    np.testing.assert_allclose(edges.asnumpy(), want_edges, rtol=1e-6)
    bins = np.array([-3, -1, 0, 0.5, 3], np.float32)
    counts, edges = sf.histogram(nd(x), bins=nd(bins))
    np.testing.assert_array_equal(counts.asnumpy(), np.histogram(x, bins=bins)[0])
    counts, _ = sf.histogram(nd(x), bins=5)  # no range: numpy's answer, as MXNet
    np.testing.assert_array_equal(counts.asnumpy(), np.histogram(x, bins=5)[0])


def test_moments_match_numpy_and_differentiate():
    x = RNG.uniform(size=(3, 4, 5))
    mean, var = mx.nd.moments(nd(x, "float64"), axes=(0, 2), keepdims=True)
    np.testing.assert_allclose(mean.asnumpy(), x.mean((0, 2), keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(var.asnumpy(), x.var((0, 2), keepdims=True), rtol=1e-12)
    a = nd(x, "float64")
    a.attach_grad()
    with mx.autograd.record():
        m, v = mx.nd.moments(a, axes=1)
        loss = (m * 3 + v).sum()
    loss.backward()
    n = 4
    want = 3 / n + 2 * (x - x.mean(1, keepdims=True)) / n
    np.testing.assert_allclose(a.grad.asnumpy(), want, rtol=1e-10)


def test_im2col_col2im_are_adjoint():
    x = RNG.uniform(size=(2, 3, 5, 6))
    attrs = dict(kernel=(2, 3), stride=(2, 1), dilate=(1, 2), pad=(1, 1))
    col = mx.nd.im2col(nd(x, "float64"), **attrs)
    y = RNG.uniform(size=col.shape)
    back = mx.nd.col2im(nd(y, "float64"), output_size=(5, 6), **attrs)
    # <im2col(x), y> == <x, col2im(y)>
    np.testing.assert_allclose((col.asnumpy() * y).sum(), (x * back.asnumpy()).sum(), rtol=1e-12)
    # every column against a naive loop over windows (zero where a tap falls in the padding)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    oh, ow = (5 + 2 - 2) // 2 + 1, (6 + 2 - 5) // 1 + 1
    want = np.zeros((2, 3 * 6, oh * ow))
    for c in range(3):
        for i in range(2):
            for j in range(3):
                for oy in range(oh):
                    for ox in range(ow):
                        want[:, (c * 2 + i) * 3 + j, oy * ow + ox] = xp[:, c, oy * 2 + i, ox + j * 2]
    np.testing.assert_array_equal(col.asnumpy(), want)


def test_symbol_graph_of_axes_ops_runs_forward_and_backward():
    data = mx.sym.Variable("data")
    both = mx.sym.moments(data, axes=(1,), keepdims=True)
    var = both[1]
    joined = mx.sym.SwapAxis(mx.sym.broadcast_to(var, shape=(0, 4, 0)) + mx.sym.reverse(data, axis=1), dim1=0, dim2=1)
    ex = joined.simple_bind(mx.cpu(), data=(2, 4, 3), type_dict={"data": "float64"})
    x = RNG.uniform(size=(2, 4, 3))
    ex.arg_dict["data"][:] = x
    ex.forward(is_train=True)
    want = np.swapaxes(x.var(1, keepdims=True) + np.flip(x, 1), 0, 1)
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), want, rtol=1e-12)
    head = RNG.uniform(size=want.shape)
    ex.backward([nd(head, "float64")])
    h = np.swapaxes(head, 0, 1)  # the gradient at the sum, back in data's layout
    g_var = h.sum(1, keepdims=True)
    want_grad = np.flip(h, 1) + g_var * 2 * (x - x.mean(1, keepdims=True)) / 4
    np.testing.assert_allclose(ex.grad_dict["data"].asnumpy(), want_grad, rtol=1e-10)
