import os

import numpy as np
import pytest

import mx


def rand(*shape):
    return np.random.RandomState(sum(shape)).uniform(-1, 1, shape).astype(np.float32)


def test_array_roundtrip_shape_dtype_context():
    a = rand(3, 4)
    x = mx.nd.array(a)
    assert x.shape == (3, 4) and x.dtype == np.float32 and x.context == mx.cpu()
    np.testing.assert_array_equal(x.asnumpy(), a)
    np.testing.assert_array_equal(np.asarray(x), a)
    assert mx.nd.array([1, 2]).dtype == np.float32  # MXNet: lists become float32
    assert mx.nd.array(np.arange(3, dtype=np.int32)).dtype == np.int32


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_arithmetic_matches_numpy(op):
    a, b = rand(4, 5), rand(4, 5) + 3
    x, y = mx.nd.array(a), mx.nd.array(b)
    f = {"+": lambda p, q: p + q, "-": lambda p, q: p - q, "*": lambda p, q: p * q, "/": lambda p, q: p / q}[op]
    np.testing.assert_allclose(f(x, y).asnumpy(), f(a, b), rtol=1e-6)
    np.testing.assert_allclose(f(x, 2.5).asnumpy(), f(a, np.float32(2.5)), rtol=1e-6)
    np.testing.assert_allclose(f(2.5, y).asnumpy(), f(np.float32(2.5), b), rtol=1e-6)
    # broadcasting picks the broadcast_* op
    np.testing.assert_allclose(f(x, mx.nd.array(b[:1])).asnumpy(), f(a, b[:1]), rtol=1e-6)


def test_generated_ops_match_numpy_and_carry_docs():
    a = rand(2, 3, 4)
    x = mx.nd.array(a)
    np.testing.assert_allclose(mx.nd.sum(x, axis=1).asnumpy(), a.sum(axis=1), rtol=1e-5)
    np.testing.assert_allclose(mx.nd.transpose(x, axes=(2, 0, 1)).asnumpy(), a.transpose(2, 0, 1))
    np.testing.assert_allclose(mx.nd.relu(x).asnumpy(), np.maximum(a, 0))
    w, b = rand(5, 4), rand(5)
    y = mx.nd.FullyConnected(mx.nd.array(a[:, 0, :]), mx.nd.array(w), mx.nd.array(b), num_hidden=5)
    np.testing.assert_allclose(y.asnumpy(), a[:, 0, :] @ w.T + b, rtol=1e-5, atol=1e-6)
    c = mx.nd.Concat(x, x, dim=2)
    assert c.shape == (2, 3, 8)
    assert "kernel" in mx.nd.Convolution.__doc__ and "required" in mx.nd.Convolution.__doc__


def test_indexing_and_assignment():
    a = rand(4, 5)
    x = mx.nd.array(a)
    np.testing.assert_array_equal(x[1].asnumpy(), a[1])
    np.testing.assert_array_equal(x[1:3].asnumpy(), a[1:3])
    np.testing.assert_array_equal(x[:, 2].asnumpy(), a[:, 2])
    np.testing.assert_array_equal(x[::2, 1:4].asnumpy(), a[::2, 1:4])
    x[1:3] = 0
    a[1:3] = 0
    np.testing.assert_array_equal(x.asnumpy(), a)
    x[:] = mx.nd.ones((4, 5))
    np.testing.assert_array_equal(x.asnumpy(), np.ones((4, 5)))


def test_save_load_list_and_dict(tmp_path):
    a, b = rand(2, 3), rand(4)
    f = str(tmp_path / "p.params")
    mx.nd.save(f, {"arg:w": mx.nd.array(a), "aux:m": mx.nd.array(b)})
    d = mx.nd.load(f)
    assert sorted(d) == ["arg:w", "aux:m"]
    np.testing.assert_array_equal(d["arg:w"].asnumpy(), a)
    mx.nd.save(f, [mx.nd.array(a)])
    np.testing.assert_array_equal(mx.nd.load(f)[0].asnumpy(), a)


def test_errors_are_mxnet_errors_naming_op_and_shapes():
    with pytest.raises(mx.MXNetError, match=r"elemwise_add: shapes of lhs \(2,2\) and rhs \(3,2\)"):
        mx.nd.elemwise_add(mx.nd.ones((2, 2)), mx.nd.ones((3, 2)))
    with pytest.raises(mx.MXNetError, match="num_hidden"):
        mx.nd.FullyConnected(mx.nd.ones((2, 2)), mx.nd.ones((3, 2)), mx.nd.ones((3,)))
    with pytest.raises(mx.MXNetError, match="nope"):
        mx.nd.load("/nonexistent/nope.params")


def test_async_error_surfaces_at_the_next_wait():
    # An index error found by the kernel, on the engine's worker: the call returns, the read fails.
    data = mx.nd.array([[1.0, 2.0], [3.0, 4.0]])
    out = mx.nd.gather_nd(data, mx.nd.array([[0], [5]]))
    with pytest.raises(mx.MXNetError, match="out of range"):
        out.asnumpy()
    assert mx.nd.array([1.0]).asnumpy()[0] == 1.0  # the engine keeps working afterwards
