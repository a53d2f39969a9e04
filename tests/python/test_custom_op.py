"""Python custom operators (mx.operator): imperative, under autograd, in bound symbols and JSON,
against numpy and float64 central finite differences."""
import json

import numpy as np
import pytest

import mx


class _Sigmoid(mx.operator.CustomOp):
    """Works with mx.nd ops on its arrays (they run inline on the engine's worker)."""

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], 1 / (1 + mx.nd.exp(-in_data[0])))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        y = out_data[0]
        self.assign(in_grad[0], req[0], out_grad[0] * y * (1 - y))


@mx.operator.register("test_sigmoid")
class _SigmoidProp(mx.operator.CustomOpProp):
    def create_operator(self, ctx, in_shapes, in_dtypes):
        return _Sigmoid()


class _ScaledMul(mx.operator.CustomOp):
    """Two inputs, a string parameter, and a numpy round trip (asnumpy / mx.nd.array)."""

    def __init__(self, scale):
        self.scale = scale

    def forward(self, is_train, req, in_data, out_data, aux):
        a, b = in_data[0].asnumpy(), in_data[1].asnumpy()
        self.assign(out_data[0], req[0], mx.nd.array(self.scale * a * b, dtype=a.dtype))
        self.assign(out_data[1], req[1], mx.nd.array(a + b, dtype=a.dtype))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        a, b = in_data[0].asnumpy(), in_data[1].asnumpy()
        g0, g1 = out_grad[0].asnumpy(), out_grad[1].asnumpy()
        self.assign(in_grad[0], req[0], mx.nd.array(self.scale * b * g0 + g1, dtype=a.dtype))
        self.assign(in_grad[1], req[1], mx.nd.array(self.scale * a * g0 + g1, dtype=a.dtype))


@mx.operator.register("test_scaled_mul")
class _ScaledMulProp(mx.operator.CustomOpProp):
    def __init__(self, scale="1.0"):
        super().__init__(need_top_grad=True)
        self.scale = float(scale)

    def list_arguments(self):
        return ["lhs", "rhs"]

    def list_outputs(self):
        return ["product", "total"]

    def infer_shape(self, in_shape):
        if list(in_shape[0]) != list(in_shape[1]):
            raise ValueError("lhs %s and rhs %s differ" % (in_shape[0], in_shape[1]))
        return in_shape, [in_shape[0], in_shape[0]], []

    def create_operator(self, ctx, in_shapes, in_dtypes):
        return _ScaledMul(self.scale)


class _Failing(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        raise RuntimeError("deliberate failure in forward")


@mx.operator.register("test_failing")
class _FailingProp(mx.operator.CustomOpProp):
    def create_operator(self, ctx, in_shapes, in_dtypes):
        return _Failing()


def _fd_grad(f, x, eps=1e-6):
    """Central finite differences of sum(f(x) * w) in float64."""
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def test_imperative_forward_matches_numpy():
    x = np.linspace(-3, 3, 12).reshape(3, 4).astype(np.float32)
    y = mx.nd.Custom(mx.nd.array(x), op_type="test_sigmoid")
    np.testing.assert_allclose(y.asnumpy(), 1 / (1 + np.exp(-x)), rtol=1e-6)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (2, 3))
    w = rng.uniform(-1, 1, (2, 3))
    xa = mx.nd.array(x, dtype="float64")
    xa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Custom(xa, op_type="test_sigmoid")
    y.backward(mx.nd.array(w, dtype="float64"))
    want = _fd_grad(lambda v: float(np.sum(w / (1 + np.exp(-v)))), x)
    np.testing.assert_allclose(xa.grad.asnumpy(), want, rtol=1e-6, atol=1e-9)


def test_two_inputs_two_outputs_and_params():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-1, 1, (2, 5)), rng.uniform(-1, 1, (2, 5))
    w0, w1 = rng.uniform(-1, 1, (2, 5)), rng.uniform(-1, 1, (2, 5))
    aa, ba = mx.nd.array(a, dtype="float64"), mx.nd.array(b, dtype="float64")
    aa.attach_grad()
    ba.attach_grad()
    with mx.autograd.record():
        p, t = mx.nd.Custom(aa, ba, op_type="test_scaled_mul", scale=2.5)
        loss = mx.nd.sum(p * mx.nd.array(w0, dtype="float64")) + mx.nd.sum(t * mx.nd.array(w1, dtype="float64"))
    loss.backward()
    np.testing.assert_allclose(p.asnumpy(), 2.5 * a * b, rtol=1e-12)
    np.testing.assert_allclose(t.asnumpy(), a + b, rtol=1e-12)
    f = lambda va, vb: float(np.sum(2.5 * va * vb * w0) + np.sum((va + vb) * w1))
    np.testing.assert_allclose(aa.grad.asnumpy(), _fd_grad(lambda v: f(v, b), a), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ba.grad.asnumpy(), _fd_grad(lambda v: f(a, v), b), rtol=1e-6, atol=1e-9)
    # the default scale (1.0) when the parameter is not given
    p1, _ = mx.nd.Custom(aa, ba, op_type="test_scaled_mul")
    np.testing.assert_allclose(p1.asnumpy(), a * b, rtol=1e-12)


def test_bound_symbol_forward_backward_and_json():
    x = np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32)
    data = mx.sym.Variable("data")
    net = mx.sym.Custom(data, op_type="test_sigmoid", name="sig")
    net = mx.sym.load_json(net.tojson())  # the op by name survives a JSON round trip
    assert any(n["op"] == "_custom_test_sigmoid" for n in json.loads(net.tojson())["nodes"])
    ex = net.simple_bind(mx.cpu(), data=(2, 3))
    ex.forward(is_train=True, data=mx.nd.array(x))
    w = np.arange(6, dtype=np.float32).reshape(2, 3) / 6
    ex.backward(mx.nd.array(w))
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), s, rtol=1e-6)
    np.testing.assert_allclose(ex.grad_dict["data"].asnumpy(), w * s * (1 - s), rtol=1e-5, atol=1e-7)


def test_symbol_with_params_infers_shapes():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    net = mx.sym.Custom(a, b, op_type="test_scaled_mul", scale=3)
    _, out_shapes, _ = net.infer_shape(a=(4, 2), b=(4, 2))
    assert [tuple(s) for s in out_shapes] == [(4, 2), (4, 2)]
    with pytest.raises(mx.MXNetError, match="differ"):
        net.infer_shape(a=(4, 2), b=(2, 4))


def test_errors_are_reported_not_fatal():
    x = mx.nd.ones((2, 2))
    with pytest.raises(mx.MXNetError, match="deliberate failure in forward"):
        mx.nd.Custom(x, op_type="test_failing").asnumpy()
    with pytest.raises(mx.MXNetError, match="not registered"):
        mx.nd.Custom(x, op_type="no_such_custom_op")
    with pytest.raises(mx.MXNetError, match="registered already"):
        mx.operator.register("test_sigmoid")(_SigmoidProp)
    # the process and the engine still work
    np.testing.assert_allclose(mx.nd.Custom(x, op_type="test_sigmoid").asnumpy(), 1 / (1 + np.exp(-1.0)) * np.ones((2, 2)),
                               rtol=1e-6)


def test_registered_ops_are_listed():
    assert "test_sigmoid" in mx.operator.get_all_registered_operators()
    assert hasattr(mx.nd, "_custom_test_sigmoid") and hasattr(mx.sym, "_custom_test_sigmoid")


@pytest.mark.parametrize("engine", ["naive", "threaded"])
def test_forward_issuing_ops_on_either_engine(engine):
    """Under the naive engine the custom kernel runs inside the caller's own invoke; the ops its
    forward issues re-enter invoke on the same thread (this hung and freed the outer call's
    outputs before invoke's scratch became re-entrant)."""
    before = mx.engine.get_engine_type()
    mx.engine.set_engine_type(engine)
    try:
        x = np.linspace(-1, 1, 8).reshape(2, 4).astype(np.float64)
        xa = mx.nd.array(x, dtype="float64")
        xa.attach_grad()
        with mx.autograd.record():
            y = mx.nd.Custom(xa, op_type="test_sigmoid")
        y.backward()
        s = 1 / (1 + np.exp(-x))
        np.testing.assert_allclose(y.asnumpy(), s, rtol=1e-12)
        np.testing.assert_allclose(xa.grad.asnumpy(), s * (1 - s), rtol=1e-12)
    finally:
        mx.engine.set_engine_type(before)


def test_backend_priorities_choose_the_kernel():
    """mx.backend: the built-in cpu backend runs relu unless a plugin outranks it; priorities can be
    changed at run time (the choice follows)."""
    cpu = [b for b in mx.backend.list_backends() if b["name"] == "cpu" and b["usable"]]
    assert cpu and not cpu[0]["kernels_only"]
    assert mx.backend.op_backend("relu") == "cpu"
    assert mx.backend.op_backend("_custom_test_sigmoid") == "python op test_sigmoid"
    old = cpu[0]["priority"]
    mx.backend.set_priority("cpu", old + 5)
    try:
        assert [b for b in mx.backend.list_backends() if b["name"] == "cpu"][0]["priority"] == old + 5
    finally:
        mx.backend.set_priority("cpu", old)
    with pytest.raises(mx.MXNetError, match="no usable backend"):
        mx.backend.set_priority("no_such_backend", 1)


class _Stateful(mx.operator.CustomOp):
    """Keeps what forward saw for backward, as MXNet code does (one instance serves both)."""

    def forward(self, is_train, req, in_data, out_data, aux):
        self.saved = in_data[0].asnumpy()
        self.assign(out_data[0], req[0], mx.nd.array(self.saved ** 3, dtype=self.saved.dtype))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], mx.nd.array(3 * self.saved ** 2 * out_grad[0].asnumpy(), dtype=self.saved.dtype))


@mx.operator.register("test_stateful_cube")
class _StatefulProp(mx.operator.CustomOpProp):
    def create_operator(self, ctx, in_shapes, in_dtypes):
        return _Stateful()


def test_backward_runs_on_the_forward_instance():
    x = np.array([[-1.0, 0.5, 2.0]])
    xa = mx.nd.array(x, dtype="float64")
    xa.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Custom(xa, op_type="test_stateful_cube")
    y.backward()
    np.testing.assert_allclose(xa.grad.asnumpy(), 3 * x ** 2, rtol=1e-12)


@mx.operator.register("test_too_many_dims")
class _TooManyDimsProp(mx.operator.CustomOpProp):
    def infer_shape(self, in_shape):
        return in_shape, [[1] * 40], []

    def create_operator(self, ctx, in_shapes, in_dtypes):
        return _Sigmoid()


def test_inferred_shape_beyond_32_dims_is_an_error():
    with pytest.raises(mx.MXNetError, match="at most 32 dims"):
        mx.nd.Custom(mx.nd.ones((2,)), op_type="test_too_many_dims")
