"""mx.gluon.model_zoo.vision against independent references written here: published parameter
counts (torchvision / the papers; differences derived by hand), MXNet 1.9.1's parameter names
generated from its naming rules, a PyTorch re-implementation of ResNet V1 fed the same weights,
and hand-computed output shapes. Big models are only shape-inferred (no forward): CPU time."""
import os
import re
import warnings

import numpy as np
import pytest

import mx
from mx.gluon.model_zoo import model_store, vision

torch = pytest.importorskip("torch")


def trainable_count(net, shape=(1, 3, 224, 224)):
    """Number of trainable parameters (BatchNorm's running statistics excluded, as torchvision's
    sum(p.numel() for p in model.parameters())), shapes inferred symbolically: nothing runs."""
    net.infer_shape(mx.nd.zeros(shape))
    params = net.collect_params().values()
    return (sum(int(np.prod(p.shape)) for p in params if p.grad_req != "null"),
            sum(int(np.prod(p.shape)) for p in params))


# ---------------------------------------------------------------- parameter counts

# Published figures (torchvision's parameter counts; MobileNet v1: the paper's 4.2M, Keras' exact
# 4,231,976). Where MXNet's Gluon architecture differs from torchvision, the difference is derived
# by hand beside it.
RESNET50_1X1_BIASES = sum(n * (c // 4 + c) for n, c in [(3, 256), (4, 512), (6, 1024), (3, 2048)])
assert RESNET50_1X1_BIASES == 18880
# ResNet-18 V2 vs V1 BatchNorm gamma+beta: V1 has one per conv output (and per projection), V2 one
# per conv input plus a final one; the input BatchNorm(scale=False, center=False) is not trainable.
BN_V1 = 2 * (64 + 2 * 2 * 64 + (4 * 128 + 128) + (4 * 256 + 256) + (4 * 512 + 512))
BN_V2 = 2 * (64 + 4 * 64 + (64 + 3 * 128) + (128 + 3 * 256) + (256 + 3 * 512) + 512)
# MobileNetV2: Gluon's first bottleneck (t=1) keeps a 1x1 expansion 32->32 (+BN) that torchvision
# omits, and the classifier is a 1x1 convolution without bias.
MOBILENET_V2_EXTRA = 32 * 32 + 2 * 32 - 1000
# Inception v3: torchvision's 27,161,264 include the auxiliary classifier, which Gluon's lacks:
# 1x1 conv 768->128 + BN, 5x5 conv 128->768 + BN, Dense 768->1000.
INCEPTION_AUX = 768 * 128 + 2 * 128 + 128 * 768 * 25 + 2 * 768 + 768 * 1000 + 1000
PUBLISHED = {
    "resnet18_v1": 11689512,
    "resnet34_v1": 21797672,
    "resnet50_v1": 25557032 + RESNET50_1X1_BIASES,  # BottleneckV1's 1x1 convolutions have biases
    "resnet18_v2": 11689512 - BN_V1 + BN_V2,
    "mobilenet1_0": 4231976,
    "mobilenet_v2_1_0": 3504872 + MOBILENET_V2_EXTRA,
    "vgg16": 138357544,
    "vgg16_bn": 138365992,
    "alexnet": 61100840,
    "squeezenet1_0": 1248424,
    "squeezenet1_1": 1235496,
    "densenet121": 7978856,
    "inception_v3": 27161264 - INCEPTION_AUX,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_matches_published(name):
    size = 299 if name == "inception_v3" else 224
    trainable, _ = trainable_count(getattr(vision, name)(), (1, 3, size, size))
    assert trainable == PUBLISHED[name]


def test_running_statistics_are_parameters_too():
    # every BatchNorm has running_mean + running_var as large as gamma + beta
    trainable, total = trainable_count(vision.resnet18_v1())
    assert (trainable, total) == (11689512, 11689512 + BN_V1)


# ---------------------------------------------------------------- MXNet 1.9.1's parameter names

def resnet18_v1_names():
    """MXNet's names for resnet18_v1, from its rules: each stage is a name scope (stage{i}_) whose
    blocks add convs / batchnorms to one counter; stages 2-4 start with a projection shortcut."""
    bn = ["gamma", "beta", "running_mean", "running_var"]
    names = ["conv0_weight"] + ["batchnorm0_" + s for s in bn]
    for stage in range(1, 5):
        layers = 4 if stage == 1 else 5
        for i in range(layers):
            names.append("stage%d_conv%d_weight" % (stage, i))
            names += ["stage%d_batchnorm%d_%s" % (stage, i, s) for s in bn]
    return names + ["dense0_weight", "dense0_bias"]


def relative_names(net):
    assert all(k.startswith(net.prefix) for k in net.collect_params().keys())
    return [k[len(net.prefix):] for k in net.collect_params().keys()]


def test_resnet_parameter_names_are_mxnets():
    net = vision.resnet18_v1()
    assert re.fullmatch(r"resnetv1\d+_", net.prefix)
    assert sorted(relative_names(net)) == sorted(resnet18_v1_names())
    structural = net._collect_params_with_prefix()
    for key in ["features.0.weight", "features.1.gamma", "features.4.0.body.0.weight",
                "features.5.0.downsample.0.weight", "features.7.1.body.4.running_var",
                "output.weight", "output.bias"]:
        assert key in structural, key
    v2 = relative_names(vision.resnet50_v2())
    for name in ["batchnorm0_gamma", "conv0_weight", "stage1_batchnorm0_gamma", "stage1_conv0_weight",
                 "stage1_conv3_weight", "stage4_conv9_weight", "batchnorm2_running_var", "dense0_weight"]:
        assert name in v2, name


@pytest.mark.parametrize("ctor, prefix, names", [
    (vision.mobilenet1_0, r"mobilenet\d+_", ["conv0_weight", "batchnorm26_gamma", "conv26_weight",
                                             "dense0_weight"]),
    (vision.mobilenet_v2_1_0, r"mobilenetv2\d+_", ["features_conv0_weight",
                                                   "features_linearbottleneck0_conv0_weight",
                                                   "features_linearbottleneck16_batchnorm2_gamma",
                                                   "features_conv1_weight", "output_pred_weight"]),
    (vision.vgg11_bn, r"vgg\d+_", ["conv0_weight", "conv7_bias", "batchnorm7_gamma", "dense0_weight",
                                   "dense2_bias"]),
    (vision.alexnet, r"alexnet\d+_", ["conv4_weight", "dense0_weight", "dense2_bias"]),
    (vision.squeezenet1_1, r"squeezenet\d+_", ["conv0_weight", "conv25_weight", "conv25_bias"]),
    # Inception: each A/B/C/D/E module is a name scope numbering its branches' convs in order
    (vision.inception_v3, r"inception3\d+_", ["conv4_weight", "A1_conv6_weight", "A3_batchnorm6_beta",
                                              "B_conv3_weight", "C1_conv9_weight", "C4_conv9_weight",
                                              "D_conv5_weight", "E1_conv8_weight", "E2_batchnorm8_running_var",
                                              "dense0_weight"]),
    (vision.densenet121, r"densenet\d+_", ["conv0_weight", "stage1_conv11_weight", "stage4_conv31_weight",
                                           "conv3_weight", "batchnorm4_gamma", "dense0_weight"]),
])
def test_other_parameter_names_are_mxnets(ctor, prefix, names):
    net = ctor()
    assert re.fullmatch(prefix, net.prefix)
    rel = relative_names(net)
    for name in names:
        assert name in rel, name


# ---------------------------------------------------------------- forward

def torch_resnet_v1(params, x, layers, bottleneck):
    """ResNet V1 (MXNet's variant: BottleneckV1 strides and biases its first 1x1 conv) in PyTorch,
    with weights taken in MXNet's parameter order: an independent forward of the same network."""
    F = torch.nn.functional
    it = iter(params)

    def conv(x, stride=1, pad=0, bias=False):
        w = next(it)
        b = next(it) if bias else None
        return F.conv2d(x, w, b, stride=stride, padding=pad)

    def bn(x):
        g, b, m, v = next(it), next(it), next(it), next(it)
        return F.batch_norm(x, m, v, g, b, training=False, eps=1e-5)

    x = F.max_pool2d(F.relu(bn(conv(x, 2, 3))), 3, 2, 1)
    in_c = 64
    widths = [256, 512, 1024, 2048] if bottleneck else [64, 128, 256, 512]
    for stage, (n, c) in enumerate(zip(layers, widths)):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            if bottleneck:
                y = F.relu(bn(conv(x, stride, bias=True)))
                y = F.relu(bn(conv(y, 1, 1)))
                y = bn(conv(y, bias=True))
            else:
                y = F.relu(bn(conv(x, stride, 1)))
                y = bn(conv(y, 1, 1))
            shortcut = bn(conv(x, stride)) if i == 0 and c != in_c else x
            x = F.relu(y + shortcut)
            in_c = c
    w, b = next(it), next(it)
    return F.linear(x.mean(dim=(2, 3)), w, b)


def randomize_running_stats(net):
    rng = np.random.default_rng(0)
    for name, p in net.collect_params().items():
        if name.endswith("running_mean"):
            p.set_data(mx.nd.array(rng.normal(0, 0.1, p.shape)))
        elif name.endswith("running_var"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape)))


@pytest.mark.parametrize("ctor, layers, bottleneck, size", [
    (vision.resnet18_v1, [2, 2, 2, 2], False, 64),
    (vision.resnet50_v1, [3, 4, 6, 3], True, 32),
])
def test_resnet_v1_forward_matches_torch(ctor, layers, bottleneck, size):
    net = ctor(classes=10)
    net.initialize(mx.init.Xavier(magnitude=2))
    x = np.random.default_rng(1).normal(size=(2, 3, size, size)).astype(np.float32)
    net(mx.nd.array(x))  # finishes deferred initialisation
    randomize_running_stats(net)
    out = net(mx.nd.array(x)).asnumpy()
    assert out.shape == (2, 10)
    params = [torch.from_numpy(p.data().asnumpy().astype(np.float64)) for p in net.collect_params().values()]
    ref = torch_resnet_v1(params, torch.from_numpy(x.astype(np.float64)), layers, bottleneck).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())


@pytest.mark.parametrize("make, size, classes", [
    (lambda: vision.resnet18_v2(classes=7), 64, 7),
    (lambda: vision.resnet34_v2(classes=5, thumbnail=True), 32, 5),
    (lambda: vision.mobilenet0_25(classes=6), 64, 6),
    (lambda: vision.mobilenet_v2_0_25(classes=6), 64, 6),
    (lambda: vision.vgg11_bn(classes=4), 32, 4),
    (lambda: vision.alexnet(classes=3), 64, 3),
    (lambda: vision.squeezenet1_1(classes=8), 224, 8),  # its 13x13 average pool needs 224x224
    (lambda: vision.DenseNet(16, 8, [2, 2], classes=5), 64, 5),
])
def test_output_shape(make, size, classes):
    net = make()
    net.initialize()
    out = net(mx.nd.ones((1, 3, size, size)))
    assert out.shape == (1, classes)
    assert np.isfinite(out.asnumpy()).all()


@pytest.mark.parametrize("make, size", [
    (lambda: vision.mobilenet_v2_0_25(classes=10), 32),   # relu6 (clip), shortcut adds
    (lambda: vision.DenseNet(16, 8, [2, 2], classes=5), 64),  # channel concatenation
])
def test_hybridized_equals_imperative(make, size):
    net = make()
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(2).normal(size=(2, 3, size, size)))
    imperative = net(x).asnumpy()
    net.hybridize()
    hybrid = net(x).asnumpy()
    np.testing.assert_allclose(hybrid, imperative, rtol=1e-4, atol=1e-5)


def test_densenet_concatenates_input_first():
    # a dense layer's output is [its input, new features] on the channel axis (MXNet's order,
    # which pretrained weights rely on)
    net = vision.DenseNet(16, 8, [2], classes=5)
    net.initialize()
    x = mx.nd.array(np.random.default_rng(3).normal(size=(1, 3, 32, 32)))
    stem = net.features[:4](x).asnumpy()
    block_out = net.features[4](mx.nd.array(stem)).asnumpy()
    assert block_out.shape == (1, 16 + 2 * 8, 8, 8)
    np.testing.assert_array_equal(block_out[:, :16], stem)


# ---------------------------------------------------------------- get_model and pretrained files

def test_get_model():
    assert isinstance(vision.get_model("ResNet18_V1", classes=3), vision.ResNetV1)
    assert isinstance(vision.get_model("mobilenet0.5"), vision.MobileNet)
    assert isinstance(vision.get_model("mobilenetv2_0.25"), vision.MobileNetV2)
    assert isinstance(vision.get_model("squeezenet1.1"), vision.SqueezeNet)
    assert isinstance(vision.get_model("inceptionv3"), vision.Inception3)
    with pytest.raises(ValueError, match=r"(?s)resnet19_v1 is not supported.*\n\tresnet18_v1\n"):
        vision.get_model("resnet19_v1")
    with pytest.raises(ValueError, match="layers"):
        vision.get_resnet(1, 19)
    with pytest.raises(ValueError, match="SqueezeNet version 2.0"):
        vision.SqueezeNet("2.0")


def test_model_file_names():
    assert model_store.short_hash("resnet18_v1") == "a0666292"
    assert model_store.short_hash("mobilenet1.0") == "6b8c5106"
    with pytest.raises(ValueError, match="nonet"):
        model_store.short_hash("nonet")


def test_pretrained_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        vision.resnet18_v1(pretrained=True, root=str(tmp_path))
    msg = str(err.value)
    assert os.path.join(str(tmp_path), "resnet18_v1-a0666292.params") in msg
    assert "does not download" in msg


@pytest.mark.parametrize("legacy", [False, True])
def test_pretrained_loads_a_local_file(tmp_path, legacy):
    src = vision.mobilenet0_25(classes=1000)
    src.initialize(mx.init.Normal(0.5))
    src(mx.nd.ones((1, 3, 32, 32)))
    path = os.path.join(str(tmp_path), "mobilenet0.25-9f83e440.params")
    if legacy:  # MXNet's published files: ParameterDict names without the model's prefix
        src.collect_params().save(path, strip_prefix=src.prefix)
    else:
        src.save_parameters(path)
    with pytest.warns(UserWarning, match="differs from MXNet's published weights"):
        net = vision.get_model("mobilenet0.25", pretrained=True, root=str(tmp_path))
    for a, b in zip(src.collect_params().values(), net.collect_params().values()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy())
    x = mx.nd.ones((1, 3, 32, 32))
    np.testing.assert_allclose(net(x).asnumpy(), src(x).asnumpy(), rtol=1e-6)


def test_default_root_follows_mxnet_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    assert model_store.default_root() == os.path.join(str(tmp_path), "models")
    monkeypatch.delenv("MXNET_HOME")
    assert model_store.default_root() == os.path.join("~", ".mxnet", "models")


@pytest.mark.parametrize("name", ["resnet18_v1", "mobilenet1_0"])
def test_viz_summary_of_a_zoo_model_counts_published_parameters(name, capsys):
    from mx import visualization as viz
    sym = getattr(vision, name)()(mx.sym.var("data"))
    viz.print_summary(sym, shape={"data": (1, 3, 224, 224)})
    out = capsys.readouterr().out
    assert "Total params: %d" % PUBLISHED[name] in out
    assert re.search(r"dense0_fwd\(FullyConnected\)\s+1000\s+%d" % (1024 * 1000 + 1000 if name == "mobilenet1_0"
                                                                    else 512 * 1000 + 1000), out)


def test_matching_file_loads_without_warning(tmp_path, monkeypatch):
    import hashlib
    src = vision.mobilenet0_25(classes=4)
    src.initialize()
    src(mx.nd.zeros((1, 3, 32, 32)))
    path = str(tmp_path / "file.params")
    src.save_parameters(path)
    sha1 = hashlib.sha1(open(path, "rb").read()).hexdigest()
    monkeypatch.setitem(model_store._model_sha1, "mobilenet0.25", sha1)
    os.rename(path, str(tmp_path / ("mobilenet0.25-%s.params" % sha1[:8])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = vision.mobilenet0_25(classes=4, pretrained=True, root=str(tmp_path))
    np.testing.assert_array_equal(net.collect_params()[net.prefix + "dense0_weight"].data().asnumpy(),
                                  src.collect_params()[src.prefix + "dense0_weight"].data().asnumpy())
