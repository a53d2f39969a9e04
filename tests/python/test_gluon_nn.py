"""gluon.nn basic, normalisation and activation layers. References: torch.nn.functional with the
same weights copied in (forward and autograd gradients), numpy written here, and MXNet 1.9.1's
documented names, shapes and running-statistics rule. Every layer runs imperatively and
hybridized."""
import numpy as np
import pytest
import torch
import torch.nn.functional as tf

import mx
from mx.gluon import nn

RNG = np.random.default_rng(7)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def run_both(make, x, init=None):
    """The layer's output imperatively and hybridized (same parameters), and the layer."""
    layer = make()
    layer.initialize(init) if init is not None else layer.initialize()
    xs = [mx.nd.array(a) for a in x] if isinstance(x, list) else [mx.nd.array(x)]
    imperative = layer(*xs).asnumpy()
    layer.hybridize()
    hybrid = layer(*xs).asnumpy()
    return imperative, hybrid, layer


def check(make, x, reference, init=None, atol=1e-5):
    imperative, hybrid, layer = run_both(make, x, init)
    expected = reference(layer)
    np.testing.assert_allclose(imperative, expected, rtol=1e-4, atol=atol)
    np.testing.assert_allclose(hybrid, expected, rtol=1e-4, atol=atol)
    return layer


def t(a):
    return torch.tensor(np.asarray(a.asnumpy() if hasattr(a, "asnumpy") else a))


# ---------------------------------------------------------------- Dense


@pytest.mark.parametrize("flatten", [True, False])
@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_forward_vs_torch(flatten, use_bias):
    x = rand(2, 3, 4)

    def reference(layer):
        inp = t(x).reshape(2, -1) if flatten else t(x)
        bias = t(layer.bias.data()) if use_bias else None
        return torch.relu(tf.linear(inp, t(layer.weight.data()), bias)).numpy()

    layer = check(lambda: nn.Dense(5, activation="relu", use_bias=use_bias, flatten=flatten), x,
                  reference, init=mx.init.Normal(1.0))
    assert layer.weight.shape == ((5, 12) if flatten else (5, 4))
    assert (layer.bias is not None) == use_bias


def test_dense_gradients_vs_torch_autograd():
    x = rand(3, 4)
    layer = nn.Dense(5, activation="tanh", in_units=4)
    layer.initialize(mx.init.Normal(1.0))
    layer.bias.set_data(mx.nd.array(rand(5)))
    head = rand(3, 5)
    for hybridize in (False, True):
        layer.hybridize(hybridize)
        xm = mx.nd.array(x)
        xm.attach_grad()
        with mx.autograd.record():
            y = layer(xm)
        y.backward(mx.nd.array(head))
        xt, wt, bt = (t(a).requires_grad_() for a in (x, layer.weight.data(), layer.bias.data()))
        torch.tanh(tf.linear(xt, wt, bt)).backward(torch.tensor(head))
        np.testing.assert_allclose(xm.grad.asnumpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.weight.grad().asnumpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.bias.grad().asnumpy(), bt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_dense_deferred_in_units_and_names():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(4), nn.Dense(3, in_units=4))
    assert net[0].weight.shape == (4, 0)  # unknown until the first forward
    assert [p for p in net.collect_params()] == [
        "net_dense0_weight", "net_dense0_bias", "net_dense1_weight", "net_dense1_bias"]
    net.initialize()
    net(mx.nd.ones((2, 7)))
    assert net[0].weight.shape == (4, 7) and net[1].weight.shape == (3, 4)
    with mx.name.NameManager():
        assert nn.Dense(2).weight.name == "dense0_weight"
        assert nn.Dense(2).bias.name == "dense1_bias"
    # The bias starts at zero (bias_initializer='zeros'), as MXNet.
    np.testing.assert_array_equal(net[0].bias.data().asnumpy(), np.zeros(4))


def test_dense_wrong_input_names_layer_and_shapes():
    layer = nn.Dense(3, in_units=4, prefix="fc_")
    layer.initialize()
    with pytest.raises(mx.base.MXNetError) as err:
        layer(mx.nd.ones((2, 5)))
    msg = str(err.value)
    assert "fc" in msg and "(2, 5)" in msg and "(3,4)" in msg.replace(" ", "")


def test_dense_float64():
    x = np.random.default_rng(1).standard_normal((2, 3))
    layer = nn.Dense(2, dtype="float64", in_units=3)
    layer.initialize(mx.init.Normal(1.0))
    out = layer(mx.nd.array(x, dtype="float64"))
    assert np.dtype(layer.weight.dtype) == np.float64 and out.dtype == np.float64
    np.testing.assert_allclose(out.asnumpy(), x @ layer.weight.data().asnumpy().T, rtol=1e-12)


# ---------------------------------------------------------------- BatchNorm


def _bn_reference(x, gamma, beta, eps):
    mean = x.mean(axis=(0, 2, 3), keepdims=True)
    var = x.var(axis=(0, 2, 3), keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)


@pytest.mark.parametrize("hybridize", [False, True])
def test_batchnorm_running_stats_update_in_training_only(hybridize):
    x = rand(4, 3, 2, 2) * 2 + 1
    layer = nn.BatchNorm(momentum=0.8, epsilon=1e-3)
    layer.initialize()
    layer.hybridize(hybridize)
    gamma, beta = rand(3), rand(3)
    layer.gamma.set_data(mx.nd.array(gamma))
    layer.beta.set_data(mx.nd.array(beta))
    # Inference: normalise by the initial running stats (0, 1); they do not move.
    out = layer(mx.nd.array(x)).asnumpy()
    expected = x / np.sqrt(1 + 1e-3) * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(layer.running_mean.data().asnumpy(), np.zeros(3))
    np.testing.assert_array_equal(layer.running_var.data().asnumpy(), np.ones(3))
    # Training: batch statistics, and running = 0.8 * running + 0.2 * batch (MXNet's rule).
    with mx.autograd.record():
        out = layer(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(out, _bn_reference(x, gamma, beta, 1e-3), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.running_mean.data().asnumpy(),
                               0.2 * x.mean(axis=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.running_var.data().asnumpy(),
                               0.8 + 0.2 * x.var(axis=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    assert layer.running_mean.grad_req == "null" and layer.running_var.grad_req == "null"
    # record(train_mode=False) is inference (running stats used, not moved); train_mode() without
    # recording is training.
    mean = layer.running_mean.data().asnumpy()
    with mx.autograd.record(train_mode=False):
        out = layer(mx.nd.array(x)).asnumpy()
    np.testing.assert_array_equal(layer.running_mean.data().asnumpy(), mean)
    with mx.autograd.train_mode():
        out = layer(mx.nd.array(x)).asnumpy()
    np.testing.assert_allclose(out, _bn_reference(x, gamma, beta, 1e-3), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.running_mean.data().asnumpy(), 0.8 * mean + 0.2 * x.mean(axis=(0, 2, 3)),
                               rtol=1e-4, atol=1e-5)


def test_batchnorm_gradients_vs_torch_autograd():
    x, head = rand(4, 3, 2, 2), rand(4, 3, 2, 2)
    for hybridize in (False, True):
        layer = nn.BatchNorm(in_channels=3)
        layer.initialize()
        layer.gamma.set_data(mx.nd.array(rand(3)))
        layer.beta.set_data(mx.nd.array(rand(3)))
        layer.hybridize(hybridize)
        xm = mx.nd.array(x)
        xm.attach_grad()
        with mx.autograd.record():
            y = layer(xm)
        y.backward(mx.nd.array(head))
        xt, gt, bt = (t(a).requires_grad_() for a in (x, layer.gamma.data(), layer.beta.data()))
        yt = tf.batch_norm(xt, None, None, gt, bt, training=True, eps=1e-5)
        yt.backward(torch.tensor(head))
        np.testing.assert_allclose(y.asnumpy(), yt.detach().numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(xm.grad.asnumpy(), xt.grad.numpy(), rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(layer.gamma.grad().asnumpy(), gt.grad.numpy(), rtol=1e-3, atol=1e-4)
        np.testing.assert_allclose(layer.beta.grad().asnumpy(), bt.grad.numpy(), rtol=1e-3, atol=1e-4)


def test_batchnorm_names_deferred_and_options():
    with mx.name.NameManager():
        bn = nn.BatchNorm()
    assert [p for p in bn.collect_params()] == [
        "batchnorm0_gamma", "batchnorm0_beta", "batchnorm0_running_mean", "batchnorm0_running_var"]
    assert bn.gamma.shape == (0,)
    bn.initialize()
    bn(mx.nd.ones((2, 5, 3)))
    assert bn.running_var.shape == (5,)
    # scale=False / center=False: gamma and beta get no gradient; use_global_stats: moving stats.
    fixed = nn.BatchNorm(scale=False, center=False, use_global_stats=True, in_channels=2)
    assert fixed.gamma.grad_req == "null" and fixed.beta.grad_req == "null"
    fixed.initialize()
    x = rand(3, 2, 4)
    with mx.autograd.record():
        out = fixed(mx.nd.array(x))
    np.testing.assert_allclose(out.asnumpy(), x / np.sqrt(1 + 1e-5), rtol=1e-5)
    # float16 parameters would lose the running statistics: MXNet keeps BatchNorm at float32.
    fixed.cast("float16")
    assert np.dtype(fixed.gamma.dtype) == np.float32 and np.dtype(fixed.running_var.dtype) == np.float32


def test_batchnorm_relu_vs_numpy():
    x = rand(4, 3, 2, 2)
    layer = nn.BatchNormReLU()
    layer.initialize()
    for hybridize in (False, True):
        layer.hybridize(hybridize)
        with mx.autograd.record():
            out = layer(mx.nd.array(x)).asnumpy()
        expected = np.maximum(_bn_reference(x, np.ones(3), np.zeros(3), 1e-5), 0)
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_nn_reexports_blocks():
    from mx.gluon import block
    assert nn.Block is block.Block and nn.HybridBlock is block.HybridBlock
    assert nn.SymbolBlock is block.SymbolBlock


def test_batchnorm_wrong_channels_names_layer():
    bn = nn.BatchNorm(in_channels=4, prefix="bn_")
    bn.initialize()
    with pytest.raises(mx.base.MXNetError, match=r"bn.*\(2, 3, 5\)"):
        bn(mx.nd.ones((2, 3, 5)))


# ---------------------------------------------------------------- other normalisations


def test_layernorm_vs_torch():
    x = rand(2, 3, 5)
    gamma, beta = rand(5), rand(5)

    def make():
        layer = nn.LayerNorm(epsilon=1e-4)
        return layer

    def reference(layer):
        return tf.layer_norm(t(x), (5,), t(gamma), t(beta), eps=1e-4).numpy()

    layer = make()
    layer.initialize()
    layer(mx.nd.array(x))  # deferred: gamma (5,) inferred
    layer.gamma.set_data(mx.nd.array(gamma))
    layer.beta.set_data(mx.nd.array(beta))
    np.testing.assert_allclose(layer(mx.nd.array(x)).asnumpy(), reference(layer), rtol=1e-4, atol=1e-5)
    layer.hybridize()
    np.testing.assert_allclose(layer(mx.nd.array(x)).asnumpy(), reference(layer), rtol=1e-4, atol=1e-5)
    # axis=1
    check(lambda: nn.LayerNorm(axis=1, in_channels=3), x,
          lambda l: tf.layer_norm(t(x).transpose(1, 2), (3,), eps=1e-5).transpose(1, 2).numpy())


def test_instancenorm_vs_torch():
    x = rand(2, 3, 4, 5)
    layer = check(lambda: nn.InstanceNorm(in_channels=3, center=True, scale=True), x,
                  lambda l: tf.instance_norm(t(x), weight=t(l.gamma.data()), bias=t(l.beta.data()),
                                             eps=1e-5).numpy(), init=mx.init.Normal(1.0))
    assert layer.gamma.grad_req == "write"
    assert nn.InstanceNorm().gamma.grad_req == "null"  # MXNet's default scale=False
    # Channel axis elsewhere: normalise per (sample, axis-2 slice).
    x3 = rand(2, 4, 3)
    check(lambda: nn.InstanceNorm(axis=2), x3,
          lambda l: tf.instance_norm(t(x3).transpose(1, 2), eps=1e-5).transpose(1, 2).numpy())


def test_groupnorm_vs_torch():
    x = rand(2, 4, 3, 3)
    gamma, beta = rand(2), rand(2)

    def reference(layer):
        # MXNet 1.x: one gamma / beta per group; torch's affine is per channel.
        return tf.group_norm(t(x), 2, t(np.repeat(gamma, 2)), t(np.repeat(beta, 2)), eps=1e-5).numpy()

    layer = nn.GroupNorm(num_groups=2)
    assert layer.gamma.shape == (2,)
    layer.initialize()
    layer.gamma.set_data(mx.nd.array(gamma))
    layer.beta.set_data(mx.nd.array(beta))
    np.testing.assert_allclose(layer(mx.nd.array(x)).asnumpy(), reference(layer), rtol=1e-4, atol=1e-5)
    layer.hybridize()
    np.testing.assert_allclose(layer(mx.nd.array(x)).asnumpy(), reference(layer), rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------- Embedding, Flatten, Identity, Dropout


def test_embedding_vs_numpy():
    idx = np.array([[0, 3, 1], [4, 4, 2]], dtype=np.float32)
    layer = check(lambda: nn.Embedding(5, 3), idx,
                  lambda l: l.weight.data().asnumpy()[idx.astype(int)], init=mx.init.Normal(1.0))
    assert layer.weight.shape == (5, 3)
    assert repr(layer) == "Embedding(5 -> 3, float32)"


def test_flatten_identity():
    x = rand(2, 3, 4)
    check(nn.Flatten, x, lambda l: x.reshape(2, 12))
    check(nn.Identity, x, lambda l: x)


def test_dropout_training_and_inference():
    x = np.ones((50, 40), dtype=np.float32)
    for hybridize in (False, True):
        layer = nn.Dropout(0.25)
        layer.hybridize(hybridize)
        np.testing.assert_array_equal(layer(mx.nd.array(x)).asnumpy(), x)  # inference: identity
        with mx.autograd.record():
            out = layer(mx.nd.array(x)).asnumpy()
        assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.75)}
        assert 0.15 < (out == 0).mean() < 0.35
    # axes: one mask value shared along axis 1.
    shared = nn.Dropout(0.5, axes=(1,))
    for hybridize in (False, True):
        shared.hybridize(hybridize)
        xm = mx.nd.array(x)
        xm.attach_grad()
        with mx.autograd.record():
            y = shared(xm)
        y.backward()
        out = y.asnumpy()
        assert set(np.unique(out)) <= {0.0, 2.0}
        assert (out == out[:, :1]).all() and 0 < (out[:, 0] == 0).sum() < 50
        np.testing.assert_array_equal(xm.grad.asnumpy(), out)  # d(x * mask)/dx = mask, x = 1
        np.testing.assert_array_equal(shared(mx.nd.array(x)).asnumpy(), x)
    with mx.autograd.record():
        np.testing.assert_array_equal(nn.Dropout(0)(mx.nd.array(x)).asnumpy(), x)
    with pytest.raises(ValueError, match="rate"):
        nn.Dropout(1.5)


# ---------------------------------------------------------------- activations


ACTIVATIONS = [
    (lambda: nn.Activation("relu"), torch.relu),
    (lambda: nn.Activation("sigmoid"), torch.sigmoid),
    (lambda: nn.Activation("tanh"), torch.tanh),
    (lambda: nn.Activation("softrelu"), tf.softplus),
    (lambda: nn.Activation("softsign"), tf.softsign),
    (lambda: nn.LeakyReLU(0.1), lambda v: tf.leaky_relu(v, 0.1)),
    (lambda: nn.ELU(0.7), lambda v: tf.elu(v, 0.7)),
    (nn.SELU, tf.selu),
    (nn.GELU, tf.gelu),
    (lambda: nn.GELU(approximation="tanh"), lambda v: tf.gelu(v, approximate="tanh")),
    (lambda: nn.Swish(1.5), lambda v: v * torch.sigmoid(1.5 * v)),
    (nn.SiLU, tf.silu),
]


@pytest.mark.parametrize("make, reference", ACTIVATIONS)
def test_activation_vs_torch(make, reference):
    x = rand(2, 3, 4) * 2
    check(make, x, lambda l: reference(t(x)).numpy())


def test_prelu_vs_torch():
    x = rand(2, 3, 4)
    layer = check(nn.PReLU, x, lambda l: tf.prelu(t(x), torch.tensor([0.25])).numpy())
    assert layer.alpha.shape == (1,) and layer.alpha.name.endswith("alpha")
    alpha = np.array([0.1, -0.2, 0.5], dtype=np.float32)
    per_channel = nn.PReLU(in_channels=3)
    per_channel.initialize()
    per_channel.alpha.set_data(mx.nd.array(alpha))
    expected = tf.prelu(t(x), t(alpha)).numpy()
    np.testing.assert_allclose(per_channel(mx.nd.array(x)).asnumpy(), expected, rtol=1e-5, atol=1e-6)
    per_channel.hybridize()
    np.testing.assert_allclose(per_channel(mx.nd.array(x)).asnumpy(), expected, rtol=1e-5, atol=1e-6)


def test_activation_prefix_and_bad_arguments():
    with mx.name.NameManager():
        assert nn.Activation("relu").prefix == "relu0_"
    assert repr(nn.Activation("tanh")) == "Activation(tanh)"
    with pytest.raises(ValueError, match="alpha"):
        nn.LeakyReLU(-0.1)
    with pytest.raises(ValueError, match="approximation"):
        nn.GELU(approximation="cubic")
    with pytest.raises(TypeError, match="Activation"):
        nn.Activation(3)


# ---------------------------------------------------------------- containers and lambdas


def test_sequential_indexing_slicing_len_repr():
    for container, layers in ((nn.Sequential, (nn.Dense(4), nn.Activation("relu"), nn.Dense(2))),
                              (nn.HybridSequential, (nn.Dense(4), nn.Activation("relu"), nn.Dense(2)))):
        net = container()
        net.add(*layers)
        assert len(net) == 3
        assert net[0] is layers[0] and net[-1] is layers[2]
        part = net[1:]
        assert type(part) is container and len(part) == 2
        assert part[0] is layers[1] and part[1] is layers[2]
        assert repr(net) == ("%s(\n  (0): Dense(None -> 4, linear)\n  (1): Activation(relu)\n"
                             "  (2): Dense(None -> 2, linear)\n)" % container.__name__)
        net.initialize(mx.init.Normal(1.0))
        x = rand(3, 5)
        w0, b0 = None, None
        out = net(mx.nd.array(x)).asnumpy()
        w0, b0 = net[0].weight.data().asnumpy(), net[0].bias.data().asnumpy()
        w2, b2 = net[2].weight.data().asnumpy(), net[2].bias.data().asnumpy()
        expected = np.maximum(x @ w0.T + b0, 0) @ w2.T + b2
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
        # A slice shares the layers, hence the parameters.
        np.testing.assert_allclose(net[:1](mx.nd.array(x)).asnumpy(), x @ w0.T + b0, rtol=1e-4, atol=1e-5)
    with pytest.raises(TypeError):
        nn.HybridSequential().add(nn.Lambda("tanh"))


def test_lambda_and_hybrid_lambda():
    x = rand(2, 3)
    np.testing.assert_allclose(nn.Lambda("tanh")(mx.nd.array(x)).asnumpy(), np.tanh(x), rtol=1e-6)
    np.testing.assert_allclose(nn.Lambda(lambda a: a * 2)(mx.nd.array(x)).asnumpy(), x * 2)
    check(lambda: nn.HybridLambda("tanh"), x, lambda l: np.tanh(x))
    check(lambda: nn.HybridLambda(lambda F, a: F.relu(a) + 1), x, lambda l: np.maximum(x, 0) + 1)
    with pytest.raises(ValueError, match="no_such_op"):
        nn.HybridLambda("no_such_op")
    with pytest.raises(ValueError, match="Lambda"):
        nn.Lambda(42)
