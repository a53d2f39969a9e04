# Aliasing between an op's output and its inputs (`out=` an input, or a view of one), and slicing
# with extreme steps, against numpy (issue 12).
import numpy as np
import pytest

import mx

BIG = 2 ** 63 - 1


def rand(*shape, seed=0):
    return np.random.RandomState(seed + sum(shape)).uniform(-1, 1, shape).astype(np.float32)


def test_dot_out_is_an_input():
    b, c = rand(4, 4), rand(4, 4, seed=1)
    B, C = mx.nd.array(b), mx.nd.array(c)
    mx.nd.dot(B, C, out=B)
    np.testing.assert_allclose(B.asnumpy(), b @ c, rtol=1e-5, atol=1e-6)
    B, C = mx.nd.array(b), mx.nd.array(c)
    mx.nd.dot(B, C, out=C)
    np.testing.assert_allclose(C.asnumpy(), b @ c, rtol=1e-5, atol=1e-6)
    B = mx.nd.array(b)
    mx.nd.dot(B, B, transpose_b=True, out=B)
    np.testing.assert_allclose(B.asnumpy(), b @ b.T, rtol=1e-5, atol=1e-6)


def test_transpose_out_is_its_input():
    b = rand(5, 5)
    B = mx.nd.array(b)
    mx.nd.transpose(B, out=B)
    np.testing.assert_array_equal(B.asnumpy(), b.T)


@pytest.mark.parametrize("op,ref", [("negative", np.negative), ("exp", np.exp), ("relu", lambda v: np.maximum(v, 0))])
def test_unary_out_is_its_input(op, ref):
    a = rand(3, 4)
    A = mx.nd.array(a)
    getattr(mx.nd, op)(A, out=A)
    np.testing.assert_allclose(A.asnumpy(), ref(a), rtol=1e-6)


def test_elementwise_out_is_an_input():
    a, b = rand(3, 4), rand(3, 4, seed=2)
    A, B = mx.nd.array(a), mx.nd.array(b)
    mx.nd.elemwise_add(A, B, out=A)
    np.testing.assert_allclose(A.asnumpy(), a + b, rtol=1e-6)
    A, B = mx.nd.array(a), mx.nd.array(b)
    mx.nd.elemwise_sub(A, B, out=B)
    np.testing.assert_allclose(B.asnumpy(), a - b, rtol=1e-6)
    A = mx.nd.array(a)
    mx.nd.elemwise_mul(A, A, out=A)
    np.testing.assert_allclose(A.asnumpy(), a * a, rtol=1e-6)
    A = mx.nd.array(a)
    mx.nd.broadcast_add(A, mx.nd.array(b[:1]), out=A)
    np.testing.assert_allclose(A.asnumpy(), a + b[:1], rtol=1e-6)


def test_out_is_a_shifted_view_of_the_input():
    # rows 0..3 into rows 1..4 of the same array: numpy's answer, as if through a copy
    x = rand(5, 3)
    X = mx.nd.array(x)
    mx.nd.negative(X[0:4], out=X[1:5])
    want = x.copy()
    want[1:5] = -x[0:4]
    np.testing.assert_array_equal(X.asnumpy(), want)
    X = mx.nd.array(x)
    mx.nd.softmax(X[0:4], out=X[1:5])
    e = np.exp(x[0:4] - x[0:4].max(axis=1, keepdims=True))
    want = x.copy()
    want[1:5] = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(X.asnumpy(), want, rtol=1e-5, atol=1e-7)


def test_two_outputs_in_one_array_is_an_error():
    x = mx.nd.array(rand(4, 2))
    o = mx.nd.zeros((2, 2))
    with pytest.raises(mx.base.MXNetError, match="split.*overlap"):
        mx.nd.split(x, num_outputs=2, axis=0, out=[o, o])
    p, q = mx.nd.zeros((2, 2)), mx.nd.zeros((2, 2))
    mx.nd.split(x, num_outputs=2, axis=0, out=[p, q])  # still works after the error
    np.testing.assert_array_equal(np.concatenate([p.asnumpy(), q.asnumpy()]), x.asnumpy())


def test_optimizer_update_in_place():
    w, g, m = rand(6), rand(6, seed=3), rand(6, seed=4)
    W, G, M = mx.nd.array(w), mx.nd.array(g), mx.nd.array(m)
    mx.nd.sgd_mom_update(W, G, M, lr=0.1, momentum=0.9, wd=0.01, out=W)
    mom = 0.9 * m - 0.1 * (g + 0.01 * w)
    np.testing.assert_allclose(M.asnumpy(), mom, rtol=1e-5)
    np.testing.assert_allclose(W.asnumpy(), w + mom, rtol=1e-5)


# Steps and bounds within int64 (the attribute parser refuses wider values rather than clamp them).
@pytest.mark.parametrize("step", [BIG, -BIG, BIG - 1, -BIG - 1, 2, -3])
def test_extreme_steps_match_numpy(step):
    x = np.arange(1, 8, dtype=np.float32)
    X = mx.nd.array(x)
    np.testing.assert_array_equal(X[::step].asnumpy(), x[::step])
    x2 = np.arange(1, 22, dtype=np.float32).reshape(3, 7)
    X2 = mx.nd.array(x2)
    np.testing.assert_array_equal(X2[::step].asnumpy(), x2[::step])
    np.testing.assert_array_equal(X2[:, ::step].asnumpy(), x2[:, ::step])  # not a view: the slice op
    with mx.autograd.record():  # under recording every key goes through the slice op
        np.testing.assert_array_equal(X[::step].asnumpy(), x[::step])


@pytest.mark.parametrize("begin,end,step", [
    (None, None, BIG), (None, None, -BIG), (-2 ** 63, BIG, BIG), (BIG, -2 ** 63, -BIG), (3, None, BIG),
    (-1, -2 ** 63, -BIG), (BIG, -2 ** 63, -2), (-2 ** 63, BIG, 3), (BIG - 1, 0, -BIG), (None, None, -2 ** 63),
])
def test_slice_op_extreme_bounds_match_numpy(begin, end, step):
    x = np.arange(1, 22, dtype=np.float32).reshape(7, 3)
    X = mx.nd.array(x)
    got = mx.nd.slice(X, begin=(begin,), end=(end,), step=(step,))
    np.testing.assert_array_equal(got.asnumpy(), x[begin:end:step])
