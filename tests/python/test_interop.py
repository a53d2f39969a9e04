"""DLPack with numpy and torch (zero-copy: same memory), pickling, symbol arithmetic, and
mx.test_utils' checkers (each shown to pass on a right answer and to fail on a wrong one)."""
import pickle

import numpy as np
import pytest

import mx
from mx.test_utils import (assert_almost_equal, check_numeric_gradient, check_symbolic_backward,
                           check_symbolic_forward)

try:
    import torch
except ImportError:  # torch is optional (Debian's python3-torch)
    torch = None


def address(a):
    return np.from_dlpack(a).ctypes.data


def test_dlpack_numpy_zero_copy():
    a = mx.nd.array(np.arange(12, dtype=np.float32).reshape(3, 4))
    view = np.from_dlpack(a)
    np.testing.assert_array_equal(view, a.asnumpy())
    assert address(a) == view.ctypes.data  # the same memory, twice
    host = np.arange(6, dtype=np.float64).reshape(2, 3)
    b = mx.nd.from_dlpack(host)
    assert b.dtype == np.float64 and address(b) == host.ctypes.data
    np.testing.assert_array_equal((b * 2).asnumpy(), host * 2)
    assert a.__dlpack_device__() == (1, 0)
    with pytest.raises(mx.MXNetError, match="row-major"):
        mx.nd.from_dlpack(np.asfortranarray(np.ones((3, 2))).__dlpack__())


@pytest.mark.skipif(torch is None, reason="python3-torch is not installed")
def test_dlpack_torch_zero_copy_both_ways():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    a = mx.nd.from_dlpack(t)
    t[0, 0] = 100.0  # writes through torch are seen by mx: no copy was made
    assert a.asnumpy()[0, 0] == 100.0
    back = torch.utils.dlpack.from_dlpack(a.to_dlpack_for_write())
    assert back.data_ptr() == t.data_ptr()
    m = mx.nd.ones((4,)) * 3
    tm = torch.from_dlpack(m)
    tm += 1  # and writes through torch to mx's memory
    np.testing.assert_array_equal(m.asnumpy(), [4, 4, 4, 4])


def test_pickle_ndarray_and_symbol():
    a = mx.nd.array([[1.5, 2], [3, 4]])
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(b.asnumpy(), a.asnumpy())
    assert b.context == a.context and b.handle != a.handle
    h = pickle.loads(pickle.dumps(mx.nd.array([1, 2, 3]).astype("float16")))
    assert h.dtype == np.float16
    s = mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=3, name="fc")
    s2 = pickle.loads(pickle.dumps(s))
    assert s2.tojson() == s.tojson()


def test_symbol_arithmetic_matches_numpy():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    expr = (a + b) * 2 - 1 / a + a ** 2 - b / 4 + 3 - (-a) % 5
    x, y = np.array([1.0, 2.0, 3.0], np.float32), np.array([0.5, -1.0, 4.0], np.float32)
    out = expr.bind(mx.cpu(), {"a": mx.nd.array(x), "b": mx.nd.array(y)}).forward()[0].asnumpy()
    np.testing.assert_allclose(out, (x + y) * 2 - 1 / x + x ** 2 - y / 4 + 3 - np.mod(-x, 5), rtol=1e-5)


def test_check_symbolic_forward_backward():
    x = mx.sym.Variable("x")
    y = mx.sym.tanh(x) * 3
    data = np.random.uniform(-1, 1, (3, 4))
    check_symbolic_forward(y, [data], [np.tanh(data) * 3], dtype=np.float64)
    with pytest.raises(AssertionError, match="worst at"):
        check_symbolic_forward(y, [data], [np.tanh(data) * 3.01], dtype=np.float64)
    head = np.random.uniform(-1, 1, (3, 4))
    check_symbolic_backward(y, [data], [head], [head * 3 * (1 - np.tanh(data) ** 2)], dtype=np.float64)
    with pytest.raises(AssertionError):
        check_symbolic_backward(y, [data], [head], [head * 3], dtype=np.float64)


def test_check_numeric_gradient_catches_a_wrong_gradient():
    data, w = mx.sym.Variable("data"), mx.sym.Variable("w")
    net = mx.sym.FullyConnected(data, weight=w, num_hidden=3, no_bias=True)
    net = mx.sym.sigmoid(net)
    loc = {"data": np.random.randn(2, 5), "w": np.random.randn(3, 5)}
    check_numeric_gradient(net, loc, numeric_eps=1e-5, rtol=1e-5, dtype=np.float64)
    # BlockGrad passes values but stops the gradient: symbolic (zero) and numeric now disagree.
    blocked = mx.sym.sigmoid(mx.sym.BlockGrad(mx.sym.FullyConnected(data, weight=w, num_hidden=3, no_bias=True)))
    with pytest.raises(AssertionError, match="symbolic gradient"):
        check_numeric_gradient(blocked, loc, numeric_eps=1e-5, rtol=1e-5, dtype=np.float64)
    assert_almost_equal(np.ones(3), np.ones(3) + 1e-9)
