"""mx on gpu(0) through the Python binding, against numpy and against the same computation on the
CPU: transfers, a handful of ops, autograd, a Module step, DLPack to and from PyTorch, and the
random generator (bit-identical on both devices). Every test skips, with the reason, where mx sees
no GPU (CI, scripts/test.sh); scripts/gpu-check.sh runs them on a machine with one."""
import numpy as np
import pytest

import mx


def _gpu_count():
    try:
        return mx.context.num_gpus()
    except mx.MXNetError as e:  # a broken CUDA plugin is no GPU here; gpu-check.sh's mx-info step says why
        pytest.skip("mx.context.num_gpus() failed: %s" % e, allow_module_level=True)


pytestmark = pytest.mark.skipif(_gpu_count() == 0, reason="no GPU: mx.context.num_gpus() is 0")

GPU = mx.gpu(0)


def rand(shape, seed, dtype=np.float32, low=-1.0, high=1.0):
    return np.random.RandomState(seed).uniform(low, high, size=shape).astype(dtype)


def on_gpu(x, dtype=None):
    a = mx.nd.array(x, ctx=GPU, dtype=dtype)
    assert a.context == GPU
    return a


# ---------------------------------------------------------------- transfers

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int64, np.uint8, np.int8])
def test_array_round_trips_through_the_gpu(dtype):
    x = (rand((3, 5, 7), 0) * 100).astype(dtype)
    a = on_gpu(x, dtype=dtype)
    assert a.dtype == np.dtype(dtype) and a.shape == x.shape
    np.testing.assert_array_equal(a.asnumpy(), x)


def test_empty_and_scalar_arrays_on_the_gpu():
    assert on_gpu(np.zeros((0, 3), np.float32)).asnumpy().shape == (0, 3)
    np.testing.assert_array_equal(on_gpu(np.array(2.5, np.float32)).asnumpy(), np.array(2.5, np.float32))


def test_copyto_and_as_in_context_between_cpu_and_gpu():
    x = rand((4, 6), 1)
    c = mx.nd.array(x)
    g = c.as_in_context(GPU)
    assert g.context == GPU and g.as_in_context(GPU) is g
    back = g.as_in_context(mx.cpu())
    assert back.context == mx.cpu()
    np.testing.assert_array_equal(back.asnumpy(), x)
    dst = mx.nd.zeros((4, 6), ctx=GPU)
    c.copyto(dst)  # into an existing gpu array
    np.testing.assert_array_equal(dst.asnumpy(), x)
    g2 = g.copyto(GPU)  # gpu to gpu, a new array
    g[:] = 0
    np.testing.assert_array_equal(g2.asnumpy(), x)
    np.testing.assert_array_equal(g.asnumpy(), np.zeros_like(x))
    host = mx.nd.zeros((4, 6))
    g2.copyto(host)
    np.testing.assert_array_equal(host.asnumpy(), x)


# ---------------------------------------------------------------- ops against numpy

def test_elementwise_and_reductions_match_numpy():
    x, y = rand((64, 33), 2), rand((64, 33), 3)
    a, b = on_gpu(x), on_gpu(y)
    for out, want in [(a + b, x + y), (a * b, x * y), (mx.nd.relu(a), np.maximum(x, 0)),
                      (mx.nd.sum(a, axis=1), x.astype(np.float64).sum(1)), (mx.nd.sum(a), x.astype(np.float64).sum())]:
        assert out.context == GPU
        np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-5)


def test_softmax_matches_numpy():
    x = rand((16, 10), 4, low=-5, high=5).astype(np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    out = mx.nd.softmax(on_gpu(x.astype(np.float32)), axis=-1)
    assert out.context == GPU
    np.testing.assert_allclose(out.asnumpy(), e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_dot_matches_numpy(dtype, rtol):
    x, y = rand((70, 130), 5, dtype), rand((130, 50), 6, dtype)
    out = mx.nd.dot(on_gpu(x, dtype), on_gpu(y, dtype))
    assert out.context == GPU and out.dtype == np.dtype(dtype)
    want = x.astype(np.float64) @ y.astype(np.float64)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=rtol, atol=rtol * 10)
    out_t = mx.nd.dot(on_gpu(x, dtype), on_gpu(y.T.copy(), dtype), transpose_b=True)
    np.testing.assert_allclose(out_t.asnumpy(), want, rtol=rtol, atol=rtol * 10)


def naive_conv2d(x, w, b, stride, pad):
    """Cross-correlation in float64 with explicit loops over the output pixels."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    oh, ow = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b.reshape(1, f, 1, 1)


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1)])
def test_convolution_matches_a_naive_numpy_convolution(stride, pad):
    x, w, b = rand((2, 3, 9, 8), 7), rand((4, 3, 3, 3), 8), rand((4,), 9)
    out = mx.nd.Convolution(data=on_gpu(x), weight=on_gpu(w), bias=on_gpu(b), kernel=(3, 3), num_filter=4,
                            stride=(stride, stride), pad=(pad, pad))
    assert out.context == GPU
    np.testing.assert_allclose(out.asnumpy(), naive_conv2d(x.astype(np.float64), w.astype(np.float64), b, stride, pad),
                               rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- autograd and Module: gpu against cpu

def _conv_net_grads(ctx, x, w, b, fw):
    xs, ws, bs, fws = (mx.nd.array(v, ctx=ctx) for v in (x, w, b, fw))
    for v in (xs, ws, bs, fws):
        v.attach_grad()
    with mx.autograd.record():
        z = mx.nd.Convolution(data=xs, weight=ws, bias=bs, kernel=(3, 3), num_filter=4, pad=(1, 1))
        h = mx.nd.Pooling(mx.nd.relu(z), kernel=(2, 2), stride=(2, 2), pool_type="max")
        logits = mx.nd.FullyConnected(h, fws, num_hidden=5, no_bias=True)
        loss = mx.nd.sum(mx.nd.log_softmax(logits, axis=-1) * mx.nd.tanh(logits))
    loss.backward()
    assert all(v.grad.context == ctx for v in (xs, ws, bs, fws))
    return loss.asnumpy(), [v.grad.asnumpy() for v in (xs, ws, bs, fws)]


def test_autograd_backward_on_gpu_matches_cpu():
    x, w, b, fw = rand((3, 2, 8, 8), 10), rand((4, 2, 3, 3), 11), rand((4,), 12), rand((5, 64), 13)
    loss_c, grads_c = _conv_net_grads(mx.cpu(), x, w, b, fw)
    loss_g, grads_g = _conv_net_grads(GPU, x, w, b, fw)
    np.testing.assert_allclose(loss_g, loss_c, rtol=1e-5)
    for name, gg, gc in zip(["data", "weight", "bias", "fc weight"], grads_g, grads_c):
        np.testing.assert_allclose(gg, gc, rtol=1e-4, atol=1e-5, err_msg=name)


def _small_lenet():
    net = mx.sym.Convolution(mx.sym.Variable("data"), kernel=(3, 3), num_filter=6, name="conv1")
    net = mx.sym.Activation(net, act_type="tanh", name="act1")
    net = mx.sym.Pooling(net, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool1")
    net = mx.sym.Flatten(net, name="flat")
    net = mx.sym.FullyConnected(net, num_hidden=10, name="fc1")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def test_module_step_on_gpu_matches_cpu():
    x = rand((8, 1, 10, 10), 14)
    y = np.random.RandomState(15).randint(0, 10, size=8).astype(np.float32)
    mods = {}
    for ctx in (mx.cpu(), GPU):
        mod = mx.mod.Module(_small_lenet(), context=ctx)
        mod.bind(data_shapes=[("data", x.shape)], label_shapes=[("softmax_label", y.shape)])
        mods[ctx] = mod
    mods[mx.cpu()].init_params(mx.init.Xavier())
    args, auxs = mods[mx.cpu()].get_params()
    mods[GPU].init_params(arg_params=args, aux_params=auxs)
    before = {k: v.asnumpy() for k, v in args.items()}
    for ctx, mod in mods.items():
        mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
        for _ in range(2):
            mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
            mod.update()
    np.testing.assert_allclose(mods[GPU].get_outputs()[0].asnumpy(), mods[mx.cpu()].get_outputs()[0].asnumpy(),
                               rtol=1e-4, atol=1e-6)
    new_c, _ = mods[mx.cpu()].get_params()
    new_g, _ = mods[GPU].get_params()
    for k in new_c:
        assert not np.array_equal(new_c[k].asnumpy(), before[k]), k  # the step changed it
        np.testing.assert_allclose(new_g[k].asnumpy(), new_c[k].asnumpy(), rtol=1e-4, atol=1e-5, err_msg=k)


# ---------------------------------------------------------------- DLPack with PyTorch on CUDA

def _torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch %s has no usable CUDA device" % torch.__version__)
    return torch


def test_dlpack_gpu_array_into_torch_is_zero_copy():
    torch = _torch_cuda()
    x = rand((5, 7), 16)
    a = on_gpu(x)
    t = torch.utils.dlpack.from_dlpack(a)
    assert t.device.type == "cuda" and t.device.index == 0 and tuple(t.shape) == x.shape
    np.testing.assert_array_equal(t.cpu().numpy(), x)
    t.add_(1.0)  # written by torch, seen by mx: the same memory
    torch.cuda.synchronize()
    np.testing.assert_allclose(a.asnumpy(), x + 1.0, rtol=1e-6)


def test_dlpack_torch_cuda_tensor_into_mx():
    torch = _torch_cuda()
    t = torch.arange(12, dtype=torch.float32, device="cuda:0").reshape(3, 4)
    a = mx.nd.from_dlpack(t)
    assert a.context == GPU
    np.testing.assert_array_equal((a * 2).asnumpy(), np.arange(12, dtype=np.float32).reshape(3, 4) * 2)


# ---------------------------------------------------------------- random: the same numbers on both devices

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_is_bit_identical_on_gpu_and_cpu(dtype):
    draws = {}
    for ctx in (mx.cpu(), GPU):
        mx.random.seed(1234)
        first = mx.nd.random.uniform(-2, 3, shape=(1001,), dtype=dtype, ctx=ctx)
        second = mx.nd.random.uniform(0, 1, shape=(7, 9), dtype=dtype, ctx=ctx)  # continues the sequence
        assert first.context == ctx
        draws[ctx] = (first.asnumpy(), second.asnumpy())
    for c, g in zip(draws[mx.cpu()], draws[GPU]):
        assert c.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(g, c)
    assert draws[GPU][0].min() >= -2 and draws[GPU][0].max() < 3 and np.unique(draws[GPU][0]).size > 900


def test_normal_on_gpu_matches_cpu():
    draws = {}
    for ctx in (mx.cpu(), GPU):
        mx.random.seed(99)
        draws[ctx] = mx.nd.random.normal(1.0, 2.0, shape=(4000,), ctx=ctx).asnumpy()
    np.testing.assert_allclose(draws[GPU], draws[mx.cpu()], rtol=1e-5, atol=1e-5)
    assert abs(draws[GPU].mean() - 1.0) < 0.15 and abs(draws[GPU].std() - 2.0) < 0.15
