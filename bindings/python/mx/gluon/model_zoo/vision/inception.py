"""Inception v3 ("Rethinking the Inception Architecture for Computer Vision",
http://arxiv.org/abs/1512.00567), as MXNet 1.9.1's Gluon model zoo: no auxiliary classifier,
parameter names inception30_conv0_weight …, inception30_A1_conv0_weight …, inception30_dense0_weight.
Expects 299x299 inputs (its final 8x8 average pooling)."""
__all__ = ["Inception3", "inception_v3"]

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from .. import model_store
from ...contrib.nn import HybridConcurrent


def _make_basic_conv(**conv_args):
    """Convolution without bias + BatchNorm(epsilon=0.001) + relu."""
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(use_bias=False, **conv_args))
    out.add(nn.BatchNorm(epsilon=0.001))
    out.add(nn.Activation("relu"))
    return out


def _make_branch(use_pool, *convs):
    """An optional pooling ('avg': 3x3/1 padded, 'max': 3x3/2) then basic convolutions, each given as
    (channels, kernel_size, strides, padding) with None for the layer's default."""
    out = nn.HybridSequential(prefix="")
    if use_pool == "avg":
        out.add(nn.AvgPool2D(pool_size=3, strides=1, padding=1))
    elif use_pool == "max":
        out.add(nn.MaxPool2D(pool_size=3, strides=2))
    for setting in convs:
        args = {k: v for k, v in zip(("channels", "kernel_size", "strides", "padding"), setting) if v is not None}
        out.add(_make_basic_conv(**args))
    return out


def _concurrent(prefix, *branch_specs):
    """Branches side by side (concatenated on channels), named in the scope `prefix`."""
    out = HybridConcurrent(axis=1, prefix=prefix)
    with out.name_scope():
        for spec in branch_specs:
            out.add(spec() if callable(spec) else _make_branch(*spec))
    return out


def _make_A(pool_features, prefix):
    return _concurrent(prefix,
                       (None, (64, 1, None, None)),
                       (None, (48, 1, None, None), (64, 5, None, 2)),
                       (None, (64, 1, None, None), (96, 3, None, 1), (96, 3, None, 1)),
                       ("avg", (pool_features, 1, None, None)))


def _make_B(prefix):
    return _concurrent(prefix,
                       (None, (384, 3, 2, None)),
                       (None, (64, 1, None, None), (96, 3, None, 1), (96, 3, 2, None)),
                       ("max",))


def _make_C(channels_7x7, prefix):
    c = channels_7x7
    return _concurrent(prefix,
                       (None, (192, 1, None, None)),
                       (None, (c, 1, None, None), (c, (1, 7), None, (0, 3)), (192, (7, 1), None, (3, 0))),
                       (None, (c, 1, None, None), (c, (7, 1), None, (3, 0)), (c, (1, 7), None, (0, 3)),
                        (c, (7, 1), None, (3, 0)), (192, (1, 7), None, (0, 3))),
                       ("avg", (192, 1, None, None)))


def _make_D(prefix):
    return _concurrent(prefix,
                       (None, (192, 1, None, None), (320, 3, 2, None)),
                       (None, (192, 1, None, None), (192, (1, 7), None, (0, 3)), (192, (7, 1), None, (3, 0)),
                        (192, 3, 2, None)),
                       ("max",))


def _split_3x3(*stem):
    """`stem` convolutions, then 1x3 and 3x1 convolutions side by side (Inception-E's widening)."""
    def make():
        out = nn.HybridSequential(prefix="")
        out.add(_make_branch(None, *stem))
        split = HybridConcurrent(axis=1, prefix="")
        split.add(_make_branch(None, (384, (1, 3), None, (0, 1))))
        split.add(_make_branch(None, (384, (3, 1), None, (1, 0))))
        out.add(split)
        return out
    return make


def _make_E(prefix):
    return _concurrent(prefix,
                       (None, (320, 1, None, None)),
                       _split_3x3((384, 1, None, None)),
                       _split_3x3((448, 1, None, None), (384, 3, None, 1)),
                       ("avg", (192, 1, None, None)))


class Inception3(HybridBlock):
    r"""Inception v3: `features` (stem, 3 x A, B, 4 x C, D, 2 x E, 8x8 average pooling, dropout)
    and `output` (Dense).

    Parameters
    ----------
    classes : int, default 1000
        Number of classes of the output layer.
    """
    def __init__(self, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(_make_basic_conv(channels=32, kernel_size=3, strides=2))
            self.features.add(_make_basic_conv(channels=32, kernel_size=3))
            self.features.add(_make_basic_conv(channels=64, kernel_size=3, padding=1))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
            self.features.add(_make_basic_conv(channels=80, kernel_size=1))
            self.features.add(_make_basic_conv(channels=192, kernel_size=3))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
            self.features.add(_make_A(32, "A1_"), _make_A(64, "A2_"), _make_A(64, "A3_"))
            self.features.add(_make_B("B_"))
            self.features.add(_make_C(128, "C1_"), _make_C(160, "C2_"), _make_C(160, "C3_"), _make_C(192, "C4_"))
            self.features.add(_make_D("D_"))
            self.features.add(_make_E("E1_"), _make_E("E2_"))
            self.features.add(nn.AvgPool2D(pool_size=8))
            self.features.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def inception_v3(pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""Inception v3 model.

    Parameters
    ----------
    pretrained : bool, default False
        Load MXNet's pretrained weights from `root` (see model_store.get_model_file).
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.
    classes : int, default 1000
        Number of classes of the output layer.
    """
    net = Inception3(**kwargs)
    if pretrained:
        net.load_parameters(model_store.get_model_file("inceptionv3", root=root), ctx=ctx)
    return net
