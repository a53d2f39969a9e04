"""mx.nd.linalg (MXNet's _linalg_* ops) against numpy.linalg on batched inputs, float32 and float64."""
import numpy as np
import pytest

import mx

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-10)}


def rng(seed=0):
    return np.random.RandomState(seed)


def spd(batch, n, seed=0):
    x = rng(seed).uniform(-1, 1, batch + (n, n))
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def nd(a, dtype):
    return mx.nd.array(np.asarray(a, dtype=dtype), dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_potrf_potri_match_cholesky_and_inverse(dtype):
    a = spd((2, 3), 4)
    l = mx.nd.linalg.potrf(nd(a, dtype))
    assert l.dtype == dtype and l.shape == (2, 3, 4, 4)
    want = np.linalg.cholesky(a)
    np.testing.assert_allclose(l.asnumpy(), want, **TOL[dtype])
    np.testing.assert_allclose(mx.nd.linalg.potri(l).asnumpy(), np.linalg.inv(a), **TOL[dtype])
    # upper: A = U^T U
    u = mx.nd.linalg.potrf(nd(a, dtype), lower=False)
    np.testing.assert_allclose(u.asnumpy(), np.swapaxes(want, -1, -2), **TOL[dtype])
    np.testing.assert_allclose(mx.nd.linalg.potri(u, lower=False).asnumpy(), np.linalg.inv(a), **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_inverse_det_slogdet_match_numpy(dtype):
    a = rng(1).uniform(-1, 1, (3, 2, 4, 4)) + 2 * np.eye(4)
    x = nd(a, dtype)
    np.testing.assert_allclose(mx.nd.linalg.inverse(x).asnumpy(), np.linalg.inv(a), **TOL[dtype])
    np.testing.assert_allclose(mx.nd.linalg.det(x).asnumpy(), np.linalg.det(a), **TOL[dtype])
    sign, logabs = mx.nd.linalg.slogdet(x)
    want_sign, want_log = np.linalg.slogdet(a)
    np.testing.assert_array_equal(sign.asnumpy(), want_sign)
    np.testing.assert_allclose(logabs.asnumpy(), want_log, **TOL[dtype])
    assert mx.nd.linalg.det(nd(a[0, 0], dtype)).shape == (1,)  # a single matrix gives (1,), as MXNet 1.x


def sign_rows(u):
    """MXNet's syevd rule: each row's entry of largest magnitude is positive."""
    idx = np.argmax(np.abs(u), axis=-1)[..., None]
    return u * np.sign(np.take_along_axis(u, idx, axis=-1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_syevd_matches_eigh(dtype):
    x = rng(2).uniform(-1, 1, (2, 3, 5, 5))
    a = x + np.swapaxes(x, -1, -2)
    u, lam = mx.nd.linalg.syevd(nd(a, dtype))
    w, v = np.linalg.eigh(a)
    np.testing.assert_allclose(lam.asnumpy(), w, **TOL[dtype])
    np.testing.assert_allclose(u.asnumpy(), sign_rows(np.swapaxes(v, -1, -2)), **TOL[dtype])
    # only the lower triangle is read
    junk = np.tril(a) + np.triu(np.full_like(a, 9.0), 1)
    np.testing.assert_allclose(mx.nd.linalg.syevd(nd(junk, dtype))[1].asnumpy(), w, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelqf_matches_qr_of_the_transpose(dtype):
    a = rng(3).uniform(-1, 1, (2, 3, 3, 5))
    q, l = mx.nd.linalg.gelqf(nd(a, dtype))
    assert q.shape == (2, 3, 3, 5) and l.shape == (2, 3, 3, 3)
    # A^T = Q' R  =>  A = R^T Q'^T, unique up to the signs of diag(L); normalize both to positive.
    qq, r = np.linalg.qr(np.swapaxes(a, -1, -2))
    want_l, want_q = np.swapaxes(r, -1, -2), np.swapaxes(qq, -1, -2)

    def positive(lm, qm):
        s = np.sign(np.diagonal(lm, axis1=-2, axis2=-1))
        return lm * s[..., None, :], qm * s[..., :, None]

    got_l, got_q = positive(l.asnumpy(), q.asnumpy())
    want_l, want_q = positive(want_l, want_q)
    np.testing.assert_allclose(got_l, want_l, **TOL[dtype])
    np.testing.assert_allclose(got_q, want_q, **TOL[dtype])
    np.testing.assert_array_equal(np.triu(l.asnumpy(), 1), 0)
    # MXNet's documented example (LAPACK's signs)
    q1, l1 = mx.nd.linalg.gelqf(mx.nd.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_allclose(l1.asnumpy(), [[-3.74165739, 0.0], [-8.55235974, 1.96396101]], rtol=1e-5)
    np.testing.assert_allclose(q1.asnumpy()[0], [-0.26726124, -0.53452248, -0.80178373], rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_gemm2_match_matmul(dtype):
    r = rng(4)
    a, b, c = r.uniform(-1, 1, (2, 3, 4, 5)), r.uniform(-1, 1, (2, 3, 6, 5)), r.uniform(-1, 1, (2, 3, 4, 6))
    got = mx.nd.linalg.gemm2(nd(a, dtype), nd(b, dtype), transpose_b=True, alpha=2.0)
    np.testing.assert_allclose(got.asnumpy(), 2.0 * a @ np.swapaxes(b, -1, -2), **TOL[dtype])
    got = mx.nd.linalg.gemm(nd(a, dtype), nd(b, dtype), nd(c, dtype), transpose_b=True, alpha=0.5, beta=-1.5)
    np.testing.assert_allclose(got.asnumpy(), 0.5 * a @ np.swapaxes(b, -1, -2) - 1.5 * c, **TOL[dtype])
    # rows on axis 1: (2, 4, 3, 5) holds the matrices [i, :, j, :]
    a2, b2 = r.uniform(-1, 1, (2, 4, 3, 5)), r.uniform(-1, 1, (2, 5, 3, 6))
    got = mx.nd.linalg.gemm2(nd(a2, dtype), nd(b2, dtype), axis=1).asnumpy()
    want = np.einsum("bikj,bjkl->bikl", a2, b2)
    np.testing.assert_allclose(got, want, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_trsm_trmm_syrk_sumlogdiag(dtype):
    r = rng(5)
    t = np.tril(r.uniform(-0.5, 0.5, (2, 4, 4))) + 2 * np.eye(4)
    junk = t + np.triu(np.full_like(t, 5.0), 1)  # the upper triangle must be ignored
    b = r.uniform(-1, 1, (2, 4, 3))
    np.testing.assert_allclose(mx.nd.linalg.trsm(nd(junk, dtype), nd(b, dtype), alpha=2.0).asnumpy(),
                               2.0 * np.linalg.solve(t, b), **TOL[dtype])
    np.testing.assert_allclose(mx.nd.linalg.trmm(nd(junk, dtype), nd(b, dtype), transpose=True).asnumpy(),
                               np.swapaxes(t, -1, -2) @ b, **TOL[dtype])
    br = np.swapaxes(b, -1, -2)
    np.testing.assert_allclose(mx.nd.linalg.trsm(nd(junk, dtype), nd(br, dtype), rightside=True).asnumpy(),
                               br @ np.linalg.inv(t), **TOL[dtype])
    np.testing.assert_allclose(mx.nd.linalg.syrk(nd(b, dtype), transpose=True, alpha=0.5).asnumpy(),
                               0.5 * np.swapaxes(b, -1, -2) @ b, **TOL[dtype])
    np.testing.assert_allclose(mx.nd.linalg.sumlogdiag(nd(t, dtype)).asnumpy(),
                               np.log(np.diagonal(t, axis1=-2, axis2=-1)).sum(-1), **TOL[dtype])


def test_diag_and_triangle_ops_follow_mxnet_examples():
    a = mx.nd.array([[1.0, 2.0], [3.0, 4.0]])
    assert mx.nd.linalg.extractdiag(a).asnumpy().tolist() == [1.0, 4.0]
    assert mx.nd.linalg.extractdiag(a, offset=1).asnumpy().tolist() == [2.0]
    assert mx.nd.linalg.makediag(mx.nd.array([1.0, 2.0]), offset=-1).asnumpy().tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert mx.nd.linalg.extracttrian(a).asnumpy().tolist() == [1.0, 3.0, 4.0]
    assert mx.nd.linalg.extracttrian(a, lower=False).asnumpy().tolist() == [1.0, 2.0, 4.0]
    assert mx.nd.linalg.extracttrian(a, offset=1).asnumpy().tolist() == [2.0]
    assert mx.nd.linalg.extracttrian(a, offset=-1).asnumpy().tolist() == [3.0]
    v = mx.nd.array([1.0, 2.0, 3.0])
    assert mx.nd.linalg.maketrian(v).asnumpy().tolist() == [[1, 0], [2, 3]]
    assert mx.nd.linalg.maketrian(v, lower=False).asnumpy().tolist() == [[1, 2], [0, 3]]
    assert mx.nd.linalg.maketrian(v, offset=1).asnumpy().tolist() == [[0, 1, 2], [0, 0, 3], [0, 0, 0]]
    assert mx.nd.linalg.maketrian(v, offset=-1).asnumpy().tolist() == [[0, 0, 0], [1, 0, 0], [2, 3, 0]]
    x = rng(6).uniform(-1, 1, (2, 3, 4, 4))
    np.testing.assert_allclose(mx.nd.linalg.extractdiag(mx.nd.array(x), offset=-1).asnumpy(),
                               np.diagonal(x, offset=-1, axis1=-2, axis2=-1), rtol=1e-6)


def test_gradients_match_closed_forms():
    a = rng(7).uniform(-1, 1, (2, 3, 3)) + 3 * np.eye(3)
    x = mx.nd.array(a, dtype=np.float64)
    x.attach_grad()
    with mx.autograd.record():
        d = mx.nd.linalg.det(x)
    d.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), np.linalg.det(a)[:, None, None] * np.swapaxes(np.linalg.inv(a), -1, -2),
                               rtol=1e-10)
    s = spd((2,), 3)
    y = mx.nd.array(s, dtype=np.float64)
    y.attach_grad()
    with mx.autograd.record():
        loss = mx.nd.linalg.sumlogdiag(mx.nd.linalg.potrf(y))  # = logdet(S) / 2
    loss.backward()
    np.testing.assert_allclose(y.grad.asnumpy(), 0.5 * np.linalg.inv(s), rtol=1e-9, atol=1e-12)


def test_failures_name_the_op_and_batch_index():
    a = np.stack([np.eye(2), [[1.0, 2.0], [2.0, 1.0]]])  # the second is not positive definite
    with pytest.raises(mx.base.MXNetError, match=r"_linalg_potrf.*batch index 1"):
        mx.nd.linalg.potrf(mx.nd.array(a)).asnumpy()
    s = np.stack([np.eye(2), np.eye(2), [[1.0, 2.0], [2.0, 4.0]]])
    with pytest.raises(mx.base.MXNetError, match=r"_linalg_inverse.*batch index 2.*singular"):
        mx.nd.linalg.inverse(mx.nd.array(s)).asnumpy()
    with pytest.raises(mx.base.MXNetError, match=r"_linalg_potrf.*square"):
        mx.nd.linalg.potrf(mx.nd.ones((2, 3)))


def test_symbol_namespace():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    c = mx.sym.linalg.gemm2(a, b, transpose_b=True)
    _, out_shapes, _ = c.infer_shape(a=(2, 3, 4), b=(2, 5, 4))
    assert out_shapes == [(2, 3, 5)]


def test_empty_batches_and_matrices():
    for shape in [(0, 3, 3), (2, 0, 0)]:
        x = mx.nd.zeros(shape)
        for op in (mx.nd.linalg.potrf, mx.nd.linalg.potri, mx.nd.linalg.inverse):
            assert op(x).shape == shape
        assert mx.nd.linalg.syevd(x)[1].shape == shape[:-1]
        assert mx.nd.linalg.gemm2(x, x).shape == shape
    np.testing.assert_array_equal(mx.nd.linalg.det(mx.nd.zeros((2, 0, 0))).asnumpy(), [1.0, 1.0])  # numpy's det
    k0 = mx.nd.linalg.gemm(mx.nd.ones((2, 0)), mx.nd.ones((0, 3)), mx.nd.ones((2, 3)), beta=2.0)
    np.testing.assert_array_equal(k0.asnumpy(), np.full((2, 3), 2.0))


def test_gradients_of_single_matrices():
    # A lone matrix: det / sumlogdiag give shape (1,), their gradients come back as (n, n).
    a = rng(8).uniform(-1, 1, (3, 3)) + 3 * np.eye(3)
    for op, want in [(mx.nd.linalg.det, np.linalg.det(a) * np.linalg.inv(a).T),
                     (lambda x: mx.nd.linalg.slogdet(x)[1], np.linalg.inv(a).T),
                     (mx.nd.linalg.sumlogdiag, np.diag(1.0 / np.diag(a))),
                     (lambda x: mx.nd.sum(mx.nd.linalg.inverse(x)), -(np.linalg.inv(a).T @ np.ones((3, 3)) @ np.linalg.inv(a).T))]:
        x = mx.nd.array(a, dtype=np.float64)
        x.attach_grad()
        with mx.autograd.record():
            y = op(x)
        y.backward()
        np.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-9, atol=1e-12)


def test_det_gradient_of_a_singular_matrix_is_zero_as_in_mxnet():
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 1.0], [1.0, 1.0]]])  # the first is singular
    for op in (mx.nd.linalg.det, lambda x: mx.nd.linalg.slogdet(x)[1]):
        x = mx.nd.array(a, dtype=np.float64)
        x.attach_grad()
        with mx.autograd.record():
            y = op(x)
        y.backward()
        g = x.grad.asnumpy()
        np.testing.assert_array_equal(g[0], 0.0)
        np.testing.assert_allclose(g[1], np.linalg.inv(a[1]).T, rtol=1e-12)  # det(a[1]) = 1
