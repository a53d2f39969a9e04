"""gluon.nn convolution, pooling and padding layers. References: torch.nn.functional (conv*d,
conv_transpose*d, max/avg_pool*d, pad) with the same weights copied in, torch autograd for the
gradients, numpy for the global pools. Every layer runs imperatively and hybridized."""
import numpy as np
import pytest
import torch
import torch.nn.functional as tf

import mx
from mx.gluon import nn

RNG = np.random.default_rng(11)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def t(a):
    return torch.tensor(np.asarray(a.asnumpy() if hasattr(a, "asnumpy") else a))


def check(layer, x, reference, atol=1e-4):
    """Compares the layer's output, imperative then hybridized, with reference(layer)."""
    if not layer.collect_params() or not list(layer.collect_params().values())[0]._data:
        layer.initialize(mx.init.Normal(0.5))
    imperative = layer(mx.nd.array(x)).asnumpy()
    expected = reference(layer)
    np.testing.assert_allclose(imperative, expected, rtol=1e-4, atol=atol)
    layer.hybridize()
    np.testing.assert_allclose(layer(mx.nd.array(x)).asnumpy(), expected, rtol=1e-4, atol=atol)
    return layer


def _init(layer):
    layer.initialize(mx.init.Normal(0.5))
    if layer.bias is not None:
        layer.bias.set_data(mx.nd.array(rand(*layer.bias.shape)))
    return layer


CONVS = [  # (layer class, torch function, input shape, kwargs)
    (nn.Conv1D, tf.conv1d, (2, 4, 9), dict(kernel_size=3, strides=2, padding=1)),
    (nn.Conv1D, tf.conv1d, (2, 4, 9), dict(kernel_size=2, dilation=2, groups=2, use_bias=False)),
    (nn.Conv2D, tf.conv2d, (2, 4, 7, 6), dict(kernel_size=(3, 2), strides=(2, 1), padding=(1, 0))),
    (nn.Conv2D, tf.conv2d, (2, 4, 7, 6), dict(kernel_size=3, dilation=(2, 1), groups=2)),
    (nn.Conv3D, tf.conv3d, (2, 4, 7, 6, 5), dict(kernel_size=(3, 2, 2), strides=(2, 1, 2),
                                                  padding=(1, 1, 0), dilation=(2, 2, 1))),
    (nn.Conv3D, tf.conv3d, (1, 4, 4, 4, 4), dict(kernel_size=2, groups=2, use_bias=False)),
]


@pytest.mark.parametrize("cls, reference, shape, kwargs", CONVS)
def test_conv_forward_vs_torch(cls, reference, shape, kwargs):
    x = rand(*shape)
    layer = _init(cls(6, in_channels=4, **kwargs))
    torch_kw = {"stride": kwargs.get("strides", 1), "padding": kwargs.get("padding", 0),
                "dilation": kwargs.get("dilation", 1), "groups": kwargs.get("groups", 1)}
    check(layer, x, lambda l: reference(t(x), t(l.weight.data()),
                                        t(l.bias.data()) if l.bias is not None else None,
                                        **torch_kw).numpy())


TRANSPOSED = [
    (nn.Conv1DTranspose, tf.conv_transpose1d, (2, 4, 5),
     dict(kernel_size=3, strides=2, padding=1, output_padding=1)),
    (nn.Conv2DTranspose, tf.conv_transpose2d, (2, 4, 4, 5),
     dict(kernel_size=(3, 2), strides=(2, 3), padding=(1, 0), output_padding=(1, 2))),
    (nn.Conv2DTranspose, tf.conv_transpose2d, (2, 4, 4, 3),
     dict(kernel_size=3, dilation=2, groups=2, use_bias=False)),
    (nn.Conv3DTranspose, tf.conv_transpose3d, (1, 4, 3, 4, 3),
     dict(kernel_size=(3, 2, 2), strides=(2, 2, 1), padding=(1, 0, 1), output_padding=(1, 0, 0))),
    (nn.Conv3DTranspose, tf.conv_transpose3d, (1, 4, 3, 3, 3),
     dict(kernel_size=2, dilation=(2, 1, 1), groups=2)),
]


@pytest.mark.parametrize("cls, reference, shape, kwargs", TRANSPOSED)
def test_conv_transpose_forward_vs_torch(cls, reference, shape, kwargs):
    x = rand(*shape)
    layer = _init(cls(6, in_channels=4, **kwargs))
    groups = kwargs.get("groups", 1)
    assert layer.weight.shape[:2] == (4, 6 // groups)
    torch_kw = {"stride": kwargs.get("strides", 1), "padding": kwargs.get("padding", 0),
                "output_padding": kwargs.get("output_padding", 0),
                "dilation": kwargs.get("dilation", 1), "groups": groups}
    check(layer, x, lambda l: reference(t(x), t(l.weight.data()),
                                        t(l.bias.data()) if l.bias is not None else None,
                                        **torch_kw).numpy())


@pytest.mark.parametrize("cls, conv", [(nn.Conv2D, tf.conv2d), (nn.Conv3D, tf.conv3d)])
def test_conv_gradients_vs_torch_autograd(cls, conv):
    ndim = 2 if cls is nn.Conv2D else 3
    x = rand(2, 3, *([5] * ndim))
    layer = _init(cls(4, 3, strides=2, padding=1, in_channels=3, activation="sigmoid"))
    for hybridize in (False, True):
        layer.hybridize(hybridize)
        xm = mx.nd.array(x)
        xm.attach_grad()
        with mx.autograd.record():
            y = layer(xm)
        head = rand(*y.shape)
        y.backward(mx.nd.array(head))
        xt, wt, bt = (t(a).requires_grad_() for a in (x, layer.weight.data(), layer.bias.data()))
        yt = torch.sigmoid(conv(xt, wt, bt, stride=2, padding=1))
        yt.backward(torch.tensor(head))
        np.testing.assert_allclose(y.asnumpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(xm.grad.asnumpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(layer.weight.grad().asnumpy(), wt.grad.numpy(), rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(layer.bias.grad().asnumpy(), bt.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_conv_deferred_in_channels_and_names():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, groups=2), nn.Conv2DTranspose(6, 2, strides=2), nn.Conv1D(2, 1),
                nn.MaxPool2D(), nn.GlobalAvgPool2D())
    conv, deconv = net[0], net[1]
    assert conv.weight.shape == (4, 0, 3, 3) and deconv.weight.shape == (0, 6, 2, 2)
    assert list(net.collect_params()) == [
        "net_conv0_weight", "net_conv0_bias", "net_conv1_weight", "net_conv1_bias",
        "net_conv2_weight", "net_conv2_bias"]
    assert net[3].prefix == "net_pool0_" and net[4].prefix == "net_pool1_"
    net.initialize()
    out = net[:2](mx.nd.ones((1, 6, 5, 5)))
    assert out.shape == (1, 6, 6, 6)
    assert conv.weight.shape == (4, 3, 3, 3) and deconv.weight.shape == (4, 6, 2, 2)
    np.testing.assert_array_equal(conv.bias.data().asnumpy(), np.zeros(4))  # 'zeros'
    with mx.name.NameManager():
        assert nn.Conv3DTranspose(2, 1).bias.name == "conv0_bias"
    assert repr(conv) == "Conv2D(6 -> 4, kernel_size=(3, 3), stride=(1, 1), groups=2)"


@pytest.mark.parametrize("hybridize", [False, True])
@pytest.mark.parametrize("cls, conv", [(nn.Conv3D, tf.conv3d), (nn.Conv3DTranspose, tf.conv_transpose3d)])
def test_conv3d_deferred_in_channels_vs_torch(cls, conv, hybridize):
    # The 3-d layers are built from 2-d ops; inference must still find in_channels (6) from data.
    x = rand(1, 6, 3, 4, 3)
    layer = cls(4, (2, 1, 2), groups=2)
    layer.initialize(mx.init.Normal(0.5))
    layer.hybridize(hybridize)
    out = layer(mx.nd.array(x)).asnumpy()
    assert layer.weight.shape == ((4, 3, 2, 1, 2) if cls is nn.Conv3D else (6, 2, 2, 1, 2))
    expected = conv(t(x), t(layer.weight.data()), t(layer.bias.data()), groups=2).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_conv_bad_input_and_arguments():
    layer = nn.Conv2D(4, 3, in_channels=3, prefix="stem_")
    layer.initialize()
    with pytest.raises(mx.base.MXNetError) as err:
        layer(mx.nd.ones((1, 5, 6, 6)))
    msg = str(err.value)
    assert "stem" in msg and "(1, 5, 6, 6)" in msg and "(4,3,3,3)" in msg.replace(" ", "")
    layer.hybridize()
    with pytest.raises(mx.base.MXNetError, match=r"stem.*\(1,5,6,6\)"):
        layer(mx.nd.ones((1, 5, 6, 6)))
    # The 3-d layers name the user's 5-d shapes, not those of the 2-d ops they are built from.
    deconv = nn.Conv3DTranspose(2, 2, in_channels=2, prefix="up_")
    deconv.initialize()
    with pytest.raises(mx.base.MXNetError, match=r"up.*\(2, 2, 2, 2, 2\).*\(1, 3, 4, 4, 4\).*3 channels"):
        deconv(mx.nd.ones((1, 3, 4, 4, 4)))
    with pytest.raises(mx.base.MXNetError, match=r"pool.*\(1, 3, 8, 8\) must be 5-d"):
        nn.MaxPool3D()(mx.nd.ones((1, 3, 8, 8)))
    with pytest.raises(ValueError, match="NHWC"):
        nn.Conv2D(4, 3, layout="NHWC")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2D(4, (3, 3, 3))
    with pytest.raises(ValueError, match="groups"):
        nn.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="pool_size"):
        nn.MaxPool2D(pool_size=(2, 2, 2))


POOLS = [  # (layer, torch reference, input shape)
    (nn.MaxPool1D(3, 2, 1), lambda v: tf.max_pool1d(v, 3, 2, 1), (2, 3, 9)),
    (nn.MaxPool2D((2, 3), ceil_mode=True), lambda v: tf.max_pool2d(v, (2, 3), ceil_mode=True), (2, 3, 7, 7)),
    (nn.MaxPool3D((3, 2, 2), (2, 1, 2), (1, 0, 1), ceil_mode=True),
     lambda v: tf.max_pool3d(v, (3, 2, 2), (2, 1, 2), (1, 0, 1), ceil_mode=True), (1, 2, 6, 5, 6)),
    (nn.AvgPool1D(3, 2, 1), lambda v: tf.avg_pool1d(v, 3, 2, 1), (2, 3, 9)),
    (nn.AvgPool1D(3, 2, 1, count_include_pad=False),
     lambda v: tf.avg_pool1d(v, 3, 2, 1, count_include_pad=False), (2, 3, 9)),
    (nn.AvgPool2D(3, 2, 1, ceil_mode=True, count_include_pad=False),
     lambda v: tf.avg_pool2d(v, 3, 2, 1, ceil_mode=True, count_include_pad=False), (2, 3, 8, 8)),
    (nn.AvgPool3D((3, 3, 2), (2, 2, 1), (1, 1, 1)),
     lambda v: tf.avg_pool3d(v, (3, 3, 2), (2, 2, 1), (1, 1, 1)), (1, 2, 7, 6, 5)),
    (nn.AvgPool3D(3, 2, 1, count_include_pad=False),
     lambda v: tf.avg_pool3d(v, 3, 2, 1, count_include_pad=False), (1, 2, 5, 7, 5)),
    (nn.AvgPool3D(2, ceil_mode=True), lambda v: tf.avg_pool3d(v, 2, ceil_mode=True), (1, 2, 5, 4, 5)),
]


@pytest.mark.parametrize("layer, reference, shape", POOLS, ids=[type(p[0]).__name__ for p in POOLS])
def test_pooling_vs_torch(layer, reference, shape):
    x = rand(*shape)
    check(layer, x, lambda l: reference(t(x)).numpy(), atol=1e-5)


@pytest.mark.parametrize("layer, reduce, ndim", [
    (nn.GlobalMaxPool1D(), np.max, 1), (nn.GlobalMaxPool2D(), np.max, 2), (nn.GlobalMaxPool3D(), np.max, 3),
    (nn.GlobalAvgPool1D(), np.mean, 1), (nn.GlobalAvgPool2D(), np.mean, 2), (nn.GlobalAvgPool3D(), np.mean, 3)])
def test_global_pooling_vs_numpy(layer, reduce, ndim):
    x = rand(2, 3, *([4, 5, 3][:ndim]))
    axes = tuple(range(2, 2 + ndim))
    check(layer, x, lambda l: reduce(x, axis=axes, keepdims=True), atol=1e-5)


def test_reflection_pad_vs_torch():
    x = rand(1, 2, 4, 5)
    check(nn.ReflectionPad2D(2), x, lambda l: tf.pad(t(x), (2, 2, 2, 2), mode="reflect").numpy())
    check(nn.ReflectionPad2D((0, 0, 0, 0, 1, 2, 3, 0)), x,
          lambda l: tf.pad(t(x), (3, 0, 1, 2), mode="reflect").numpy())
    with pytest.raises(ValueError, match="ReflectionPad2D"):
        nn.ReflectionPad2D((1, 2))


def test_pool_repr():
    assert repr(nn.MaxPool2D()) == ("MaxPool2D(size=(2, 2), stride=(2, 2), padding=(0, 0), "
                                    "ceil_mode=False, global_pool=False, pool_type=max, layout=NCHW)")


def test_small_cnn_forward_and_gradients_vs_torch():
    # A whole hybridized network against the same network written in torch with the weights
    # copied in: layers compose, and every parameter gets torch's gradient.
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(), nn.Conv2D(6, 3, strides=2, use_bias=False), nn.GlobalAvgPool2D(),
                nn.Flatten(), nn.Dense(3))
    net.initialize(mx.init.Normal(0.5))
    net.hybridize()
    x = rand(2, 3, 8, 8)
    net(mx.nd.array(x))  # deferred shapes
    params = {name.split("_", 1)[1]: p for name, p in net.collect_params().items()}
    with mx.autograd.record():
        y = net(mx.nd.array(x))
    head = rand(*y.shape)
    y.backward(mx.nd.array(head))

    tp = {k: t(p.data()).requires_grad_() for k, p in params.items() if p.grad_req != "null"}
    h = tf.conv2d(t(x), tp["conv0_weight"], tp["conv0_bias"], padding=1)
    h = tf.batch_norm(h, None, None, tp["batchnorm0_gamma"], tp["batchnorm0_beta"], training=True, eps=1e-5)
    h = tf.max_pool2d(torch.relu(h), 2)
    h = tf.conv2d(h, tp["conv1_weight"], stride=2).mean(dim=(2, 3))
    yt = tf.linear(h, tp["dense0_weight"], tp["dense0_bias"])
    yt.backward(torch.tensor(head))
    np.testing.assert_allclose(y.asnumpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-5)
    assert set(tp) == {"conv0_weight", "conv0_bias", "batchnorm0_gamma", "batchnorm0_beta",
                       "conv1_weight", "dense0_weight", "dense0_bias"}
    for k, v in tp.items():
        np.testing.assert_allclose(params[k].grad().asnumpy(), v.grad.numpy(), rtol=1e-3, atol=1e-4,
                                   err_msg=k)
