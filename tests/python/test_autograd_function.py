# mx.autograd.Function, mx.autograd.get_symbol and NDArray._fresh_grad (MXNet 1.9.1 semantics),
# checked against numpy and central finite differences in float64.
import gc
import weakref

import numpy as np
import pytest

import mx
from mx.base import MXNetError


class Sigmoid(mx.autograd.Function):
    """MXNet's documented example."""

    def __init__(self):
        super().__init__()
        self.backward_calls = 0

    def forward(self, x):
        y = 1 / (1 + mx.nd.exp(-x))
        self.save_for_backward(y)
        return y

    def backward(self, dy):
        self.backward_calls += 1
        y, = self.saved_tensors
        return dy * y * (1 - y)


class ProductAndExpDiff(mx.autograd.Function):
    """Two inputs, two outputs: (a * b, exp(a) - b)."""

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b, mx.nd.exp(a) - b

    def backward(self, d_prod, d_diff):
        a, b = self.saved_tensors
        return d_prod * b + d_diff * mx.nd.exp(a), d_prod * a - d_diff


def np_sigmoid(v):
    return 1 / (1 + np.exp(-v))


def central_differences(f, args, eps=1e-6):
    """d f(*args) / d args[k] for every k, f scalar, all in float64."""
    grads = []
    for k, a in enumerate(args):
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            plus = [x.copy() for x in args]
            minus = [x.copy() for x in args]
            plus[k][i] += eps
            minus[k][i] -= eps
            g[i] = (f(*plus) - f(*minus)) / (2 * eps)
        grads.append(g)
    return grads


def test_sigmoid_value_and_gradient_match_numpy():
    a = np.random.RandomState(0).uniform(-3, 3, (4, 5)).astype(np.float32)
    x = mx.nd.array(a)
    x.attach_grad()
    fn = Sigmoid()
    with mx.autograd.record():
        y = fn(x)
    y.backward()
    s = np_sigmoid(a.astype(np.float64))
    np.testing.assert_allclose(y.asnumpy(), s, rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), (1 - s) * s, rtol=1e-5, atol=1e-7)
    assert fn.backward_calls == 1


def test_two_inputs_two_outputs_match_finite_differences():
    rs = np.random.RandomState(1)
    a, b = rs.uniform(-1, 1, (2, 3)), rs.uniform(-1, 1, (2, 3))
    w1, w2 = rs.uniform(-1, 1, (2, 3)), rs.uniform(-1, 1, (2, 3))  # head gradients
    xa, xb = mx.nd.array(a, dtype=np.float64), mx.nd.array(b, dtype=np.float64)
    xa.attach_grad()
    xb.attach_grad()
    with mx.autograd.record():
        prod, diff = ProductAndExpDiff()(xa, xb)
    mx.autograd.backward([prod, diff], [mx.nd.array(w1, dtype=np.float64), mx.nd.array(w2, dtype=np.float64)])
    loss = lambda u, v: (w1 * u * v + w2 * (np.exp(u) - v)).sum()
    ga, gb = central_differences(loss, [a, b])
    np.testing.assert_allclose(prod.asnumpy(), a * b, rtol=1e-12)
    np.testing.assert_allclose(diff.asnumpy(), np.exp(a) - b, rtol=1e-12)
    np.testing.assert_allclose(xa.grad.asnumpy(), ga, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(xb.grad.asnumpy(), gb, rtol=1e-6, atol=1e-9)


def test_function_inside_a_graph_of_ordinary_ops():
    a = np.random.RandomState(2).uniform(-2, 2, (6,))
    x = mx.nd.array(a, dtype=np.float64)
    x.attach_grad()
    with mx.autograd.record():
        z = (Sigmoid()(x * 2) * x).sum()  # d/dx s(2x) x = s(2x) + 2x s(2x)(1 - s(2x))
    z.backward()
    s = np_sigmoid(2 * a)
    np.testing.assert_allclose(z.asnumpy(), (s * a).sum(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.asnumpy(), s + 2 * a * s * (1 - s), rtol=1e-10)
    (fd,) = central_differences(lambda v: (np_sigmoid(2 * v) * v).sum(), [a])
    np.testing.assert_allclose(x.grad.asnumpy(), fd, rtol=1e-6)


def test_an_input_that_needs_no_gradient():
    a, b = np.arange(1.0, 4.0), np.arange(4.0, 7.0)
    xa, const = mx.nd.array(a, dtype=np.float64), mx.nd.array(b, dtype=np.float64)
    xa.attach_grad()
    with mx.autograd.record():
        prod, diff = ProductAndExpDiff()(xa, const)
        loss = prod.sum() + diff.sum()
    loss.backward()
    np.testing.assert_allclose(xa.grad.asnumpy(), b + np.exp(a), rtol=1e-12)
    assert const.grad is None


def test_retain_graph_runs_the_user_backward_twice():
    a = np.linspace(-1, 1, 5)
    x = mx.nd.array(a, dtype=np.float64)
    x.attach_grad(grad_req="add")
    fn = Sigmoid()
    with mx.autograd.record():
        y = fn(x)
    y.backward(retain_graph=True)
    y.backward()
    s = np_sigmoid(a)
    np.testing.assert_allclose(x.grad.asnumpy(), 2 * s * (1 - s), rtol=1e-12)
    assert fn.backward_calls == 2
    with pytest.raises(MXNetError, match="freed"):
        y.backward()  # the second backward freed the graph


def test_errors_in_user_backward_name_the_class_and_leave_the_process_usable():
    class TooFew(mx.autograd.Function):
        def forward(self, a, b):
            return a + b

        def backward(self, dy):
            return dy

    class WrongShape(mx.autograd.Function):
        def forward(self, a):
            return a * 2

        def backward(self, dy):
            return mx.nd.ones((7,))

    class Raises(mx.autograd.Function):
        def forward(self, a):
            return a * 2

        def backward(self, dy):
            raise ValueError("deliberate")

    x = mx.nd.ones((3,))
    x.attach_grad()
    for make, pattern in ((lambda: TooFew()(x, x), r"TooFew\.backward.*1 gradient.*2 input"),
                          (lambda: WrongShape()(x), r"WrongShape\.backward.*\(7,\).*\(3,\)"),
                          (lambda: Raises()(x), r"Raises\.backward raised ValueError: deliberate")):
        with mx.autograd.record():
            y = make()
        with pytest.raises(MXNetError, match=pattern):
            y.backward()
    # the process goes on: ordinary autograd still works
    with mx.autograd.record():
        y = x * 5
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [5, 5, 5])


def test_create_graph_through_a_function_is_an_error():
    x = mx.nd.ones((2,))
    x.attach_grad()
    with mx.autograd.record():
        y = Sigmoid()(x)
    with pytest.raises(MXNetError, match="create_graph.*autograd.Function"):
        mx.autograd.grad(y, [x], create_graph=True)


def test_outside_record_the_function_is_plain_forward():
    fn = Sigmoid()
    live = len(mx.autograd._live_functions)
    y = fn(mx.nd.array([0.0]))
    np.testing.assert_allclose(y.asnumpy(), [0.5])
    assert len(mx.autograd._live_functions) == live
    with pytest.raises(MXNetError, match="only be called once"):
        fn(mx.nd.array([0.0]))


def test_the_function_is_released_after_backward_and_after_its_outputs_go():
    x = mx.nd.ones((3,))
    x.attach_grad()
    live = len(mx.autograd._live_functions)
    # after backward (no retain_graph): the core drops the node and calls the free callback
    fn = Sigmoid()
    ref = weakref.ref(fn)
    with mx.autograd.record():
        y = fn(x)
    del fn
    assert ref() is not None  # the recorded node keeps it alive for backward
    y.backward()
    assert ref() is None, "backward freed the graph but the Function is still alive"
    # without backward: freeing the outputs (and what was computed from them) drops the node,
    # even though the function saved its own output (no cycle through saved_tensors)
    fn = Sigmoid()
    ref = weakref.ref(fn)
    with mx.autograd.record():
        y = fn(x)
        z = y * 3
    del fn, y
    assert ref() is not None  # z's node still reaches the function's node
    del z
    assert ref() is None, "the outputs are gone but the Function is still alive"
    gc.collect()
    assert len(mx.autograd._live_functions) == live


def test_get_symbol_recomputes_the_recorded_graph():
    a = np.random.RandomState(3).uniform(-1, 1, (2, 3)).astype(np.float32)
    x = mx.nd.array(a)
    x.attach_grad()
    with mx.autograd.record():
        y = (x * 2 + 1).exp()
    sym = mx.autograd.get_symbol(y)
    args = sym.list_arguments()
    assert len(args) == 1 and args[0].startswith("var")
    out = sym.eval(ctx=mx.cpu(), **{args[0]: mx.nd.array(a)})[0]
    np.testing.assert_allclose(out.asnumpy(), np.exp(a.astype(np.float64) * 2 + 1), rtol=1e-6)
    # on new values too: the symbol is the computation, not the recorded numbers
    b = a[::-1].copy()
    out = sym.eval(ctx=mx.cpu(), **{args[0]: mx.nd.array(b)})[0]
    np.testing.assert_allclose(out.asnumpy(), np.exp(b.astype(np.float64) * 2 + 1), rtol=1e-6)


def test_get_symbol_names_arrays_off_the_tape_and_refuses_what_it_cannot_express():
    a, c = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    x, const = mx.nd.array(a), mx.nd.array(c)
    x.attach_grad()
    with mx.autograd.record():
        y = x * const + const  # const is read twice: one variable
    sym = mx.autograd.get_symbol(y)
    args = sym.list_arguments()
    var = [n for n in args if n.startswith("var")]
    null = [n for n in args if n.startswith("null")]
    assert len(args) == 2 and len(var) == 1 and len(null) == 1
    out = sym.eval(ctx=mx.cpu(), **{var[0]: mx.nd.array(a), null[0]: mx.nd.array(c)})[0]
    np.testing.assert_allclose(out.asnumpy(), a * c + c, rtol=1e-6)
    with pytest.raises(MXNetError, match="not on the autograd tape"):
        mx.autograd.get_symbol(mx.nd.ones((2,)))
    with mx.autograd.record():
        s = Sigmoid()(x)
    with pytest.raises(MXNetError, match="autograd.Function"):
        mx.autograd.get_symbol(s)
    y.backward()
    with pytest.raises(MXNetError, match="freed"):
        mx.autograd.get_symbol(y)


def test_fresh_grad_is_set_by_backward_and_settable():
    x = mx.nd.ones((2,))
    x.attach_grad()
    assert x._fresh_grad is False
    with mx.autograd.record():
        y = x * 2
    y.backward()
    assert x._fresh_grad is True
    x._fresh_grad = False
    assert x._fresh_grad is False
    x._fresh_grad = True
    assert x._fresh_grad is True
    # mx.autograd.grad returns gradients and leaves the flag alone, as MXNet
    x._fresh_grad = False
    with mx.autograd.record():
        y = x * 2
    mx.autograd.grad(y, [x])
    assert x._fresh_grad is False
    # an array that is not a variable has no gradient state
    plain = mx.nd.ones((2,))
    assert plain._fresh_grad is False
    with pytest.raises(MXNetError, match="not on the autograd tape"):
        plain._fresh_grad = True


def test_backward_through_a_freed_function_node_is_the_freed_error():
    # A freed Function node lost its hook, but it is no leaf: a second backward through it must
    # say the graph was freed, as through a plain op.
    x = mx.nd.array(np.linspace(-1, 1, 5), dtype=np.float64)
    x.attach_grad()
    with mx.autograd.record():
        y = Sigmoid()(x)
        z = y * 2
    z.backward()
    with mx.autograd.record():
        w = y * 3
    with pytest.raises(MXNetError, match="autograd.Function.*freed.*retain_graph"):
        w.backward()


def test_get_symbol_after_backward_through_a_function_raises():
    x = mx.nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with mx.autograd.record():
        y = Sigmoid()(x)
    y.backward()
    with pytest.raises(MXNetError, match="autograd.Function"):
        mx.autograd.get_symbol(y)


def test_a_missing_function_still_takes_ownership_of_the_out_grads(monkeypatch):
    # The core hands the callee new handles; the error path must wrap (and so free) them too.
    import ctypes
    import mx.ndarray
    wrapped = []

    class Recording(mx.ndarray.NDArray):
        def __init__(self, handle, *args, **kwargs):
            wrapped.append(handle.value)
            super().__init__(handle, *args, **kwargs)

    h = mx.autograd._new_handle(mx.nd.ones((2,)))
    ograds = (ctypes.c_void_p * 1)(h.value)
    igrads = (ctypes.c_void_p * 1)()
    monkeypatch.setattr(mx.ndarray, "NDArray", Recording)
    missing = max(mx.autograd._live_functions, default=0) + 10 ** 9
    rc = mx.autograd._function_backward(1, ograds, 1, igrads, missing)
    monkeypatch.undo()
    assert rc != 0
    assert wrapped == [h.value]
