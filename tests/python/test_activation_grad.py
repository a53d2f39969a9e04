"""Gradients through _backward_Activation (the one-pass gradient of Activation and of the relu /
sigmoid / tanh / softsign / log_sigmoid ops): autograd gradients against torch's, float64 against
central finite differences of numpy formulas, the integer relu, gradients of gradients against
torch's create_graph, and the Convolution / FullyConnected bias gradients (the per-channel sum
fast path of reduce.cc) against torch."""
import numpy as np
import pytest

import mx

torch = pytest.importorskip("torch")
F = torch.nn.functional

ACTS = {
    "relu": (torch.relu, lambda x: np.maximum(x, 0)),
    "sigmoid": (torch.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (torch.tanh, np.tanh),
    "softrelu": (F.softplus, lambda x: np.log1p(np.exp(x))),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x))),
    "log_sigmoid": (F.logsigmoid, lambda x: -np.log1p(np.exp(-x))),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
}
STANDALONE = ["relu", "sigmoid", "tanh", "softsign", "log_sigmoid"]
RNG = np.random.default_rng(19)


def mx_grad(fn, x, head, dtype):
    a = mx.nd.array(x, dtype=dtype)
    a.attach_grad()
    with mx.autograd.record():
        y = fn(a)
    y.backward(mx.nd.array(head, dtype=dtype))
    return a.grad.asnumpy().astype(np.float64)


def torch_grad(fn, x, head):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    fn(t).backward(torch.tensor(head, dtype=torch.float64))
    return t.grad.numpy()


# Odd sizes: the vector loop's tails; 70001 elements: more than two parallel chunks.
@pytest.mark.parametrize("shape", [(3, 5), (2, 7, 9), (70001,)])
@pytest.mark.parametrize("act", sorted(ACTS))
@pytest.mark.parametrize("dtype,tol", [("float32", 2e-6), ("float64", 1e-12), ("float16", 4e-3)])
def test_activation_gradient_matches_torch(act, shape, dtype, tol):
    x = RNG.uniform(-5, 5, shape)
    x[np.abs(x) < 1e-3] = 0.5  # relu's kink
    head = RNG.uniform(-2, 2, shape)
    x = x.astype(dtype).astype(np.float64)  # the values the dtype can hold
    head = head.astype(dtype).astype(np.float64)
    want = torch_grad(ACTS[act][0], x, head)
    got = mx_grad(lambda a: mx.nd.Activation(a, act_type=act), x, head, dtype)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    if act in STANDALONE:
        np.testing.assert_allclose(mx_grad(getattr(mx.nd, act), x, head, dtype), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("act", sorted(ACTS))
def test_float64_gradient_matches_finite_differences(act):
    x = RNG.uniform(-4, 4, (4, 6))
    x[np.abs(x) < 1e-2] = 0.3
    head = RNG.uniform(-1, 1, x.shape)
    f, eps = ACTS[act][1], 1e-6
    fd = (f(x + eps) - f(x - eps)) / (2 * eps) * head
    got = mx_grad(lambda a: mx.nd.Activation(a, act_type=act), x, head, "float64")
    np.testing.assert_allclose(got, fd, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("dtype", ["int32", "int8", "uint8", "int64"])
def test_integer_relu_gradient_is_the_step(dtype):
    x = np.array([[-3, 0, 2, 5], [1, -1, 0, 7]])
    if dtype == "uint8":
        x = np.abs(x)
    got = mx_grad(mx.nd.relu, x, np.full(x.shape, 3), dtype)
    np.testing.assert_array_equal(got, np.where(x > 0, 3, 0))


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softrelu", "softsign", "log_sigmoid", "relu"])
def test_gradient_of_gradient_matches_torch(act):
    x = RNG.uniform(-3, 3, (3, 4))
    x[np.abs(x) < 1e-2] = 0.4
    head = RNG.uniform(-1, 1, x.shape)
    t = torch.tensor(x, requires_grad=True)
    (g,) = torch.autograd.grad(ACTS[act][0](t), t, torch.tensor(head), create_graph=True)
    (g * g).sum().backward()
    a = mx.nd.array(x, dtype="float64")
    a.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Activation(a, act_type=act)
        ga = mx.autograd.grad(y, a, head_grads=mx.nd.array(head, dtype="float64"), create_graph=True)
        z = (ga * ga).sum()
    z.backward()
    np.testing.assert_allclose(ga.asnumpy(), g.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.grad.asnumpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bad_inputs_are_errors_naming_the_op():
    og, x = mx.nd.ones((2, 3)), mx.nd.ones((2, 4))
    with pytest.raises(mx.MXNetError, match="_backward_Activation"):
        mx.nd._backward_Activation(og, x, og, act_type="relu").wait_to_read()
    i = mx.nd.ones((2, 3), dtype="int32")
    with pytest.raises(mx.MXNetError, match="_backward_Activation.*floating"):
        mx.nd._backward_Activation(i, i, i, act_type="tanh").wait_to_read()


# Bias gradients: sum(og, axis=1, exclude=True) for Convolution, sum(og, axis=0) for FullyConnected.
@pytest.mark.parametrize("n,c,h,w", [(4, 3, 6, 6), (3, 5, 7, 5), (2, 20, 24, 24), (5, 2, 1, 1)])
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-4), ("float64", 1e-11)])
def test_convolution_bias_gradient_matches_torch(n, c, h, w, dtype, tol):
    x = RNG.uniform(-1, 1, (n, 2, h + 2, w + 2))
    wt = RNG.uniform(-1, 1, (c, 2, 3, 3))
    b = RNG.uniform(-1, 1, (c,))
    head = RNG.uniform(-1, 1, (n, c, h, w))
    args = [mx.nd.array(v, dtype=dtype) for v in (x, wt, b)]
    for a in args:
        a.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Convolution(*args, kernel=(3, 3), num_filter=c)
    y.backward(mx.nd.array(head, dtype=dtype))
    tb = torch.tensor(b, requires_grad=True)
    F.conv2d(torch.tensor(x), torch.tensor(wt), tb).backward(torch.tensor(head))
    np.testing.assert_allclose(args[2].grad.asnumpy(), tb.grad.numpy(), rtol=tol, atol=tol * n * h * w)


@pytest.mark.parametrize("n,k,h", [(128, 800, 500), (7, 5, 3), (1, 4, 10)])
def test_fully_connected_bias_gradient_matches_torch(n, k, h):
    x, wt, b = RNG.uniform(-1, 1, (n, k)), RNG.uniform(-1, 1, (h, k)), RNG.uniform(-1, 1, (h,))
    head = RNG.uniform(-1, 1, (n, h))
    args = [mx.nd.array(v) for v in (x, wt, b)]
    for a in args:
        a.attach_grad()
    with mx.autograd.record():
        y = mx.nd.FullyConnected(*args, num_hidden=h)
    y.backward(mx.nd.array(head))
    tb = torch.tensor(b, requires_grad=True)
    F.linear(torch.tensor(x), torch.tensor(wt), tb).backward(torch.tensor(head))
    np.testing.assert_allclose(args[2].grad.asnumpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-5 * n)


def test_relu_gradient_selects_the_head_as_torch():
    # a NaN / inf head where x <= 0 gives 0 (torch's threshold_backward), where x > 0 passes through
    x = np.array([-1.0, 0.0, 2.0, 3.0, -4.0])
    head = np.array([np.nan, np.inf, np.nan, -np.inf, 1.0])
    want = torch_grad(torch.relu, x, head)
    np.testing.assert_array_equal(mx_grad(mx.nd.relu, x, head, "float32"), want)
