"""SqueezeNet 1.0 ("SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model
size", https://arxiv.org/abs/1602.07360) and 1.1 (github.com/DeepScale/SqueezeNet, 2.4x less
computation), as MXNet 1.9.1's Gluon model zoo (parameter names squeezenet0_conv0_weight …)."""
__all__ = ["SqueezeNet", "squeezenet1_0", "squeezenet1_1", "get_squeezenet"]

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from .. import model_store
from ...contrib.nn import HybridConcurrent


def _make_fire_conv(channels, kernel_size, padding=0):
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size, padding=padding))
    out.add(nn.Activation("relu"))
    return out


def _make_fire(squeeze_channels, expand1x1_channels, expand3x3_channels):
    """A fire module: a 1x1 squeeze convolution, then 1x1 and 3x3 expand convolutions side by side,
    concatenated on the channel axis."""
    out = nn.HybridSequential(prefix="")
    out.add(_make_fire_conv(squeeze_channels, 1))
    paths = HybridConcurrent(axis=1, prefix="")
    paths.add(_make_fire_conv(expand1x1_channels, 1))
    paths.add(_make_fire_conv(expand3x3_channels, 3, 1))
    out.add(paths)
    return out


def _pool():
    return nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)


class SqueezeNet(HybridBlock):
    r"""SqueezeNet: `features` (a strided convolution, fire modules between max-poolings, dropout)
    and `output` (1x1 convolution to the classes, relu, 13x13 average pooling, flatten). The
    13x13 pooling needs 224x224 inputs (13x13 final feature maps), as in MXNet.

    Parameters
    ----------
    version : str
        '1.0' or '1.1'.
    classes : int, default 1000
        Number of classes of the output layer.
    """
    def __init__(self, version, classes=1000, **kwargs):
        super().__init__(**kwargs)
        if version not in ("1.0", "1.1"):
            raise ValueError("Unsupported SqueezeNet version {version}: 1.0 or 1.1 expected"
                             .format(version=version))
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            if version == "1.0":
                self.features.add(nn.Conv2D(96, kernel_size=7, strides=2), nn.Activation("relu"), _pool())
                self.features.add(_make_fire(16, 64, 64), _make_fire(16, 64, 64), _make_fire(32, 128, 128))
                self.features.add(_pool())
                self.features.add(_make_fire(32, 128, 128), _make_fire(48, 192, 192),
                                  _make_fire(48, 192, 192), _make_fire(64, 256, 256))
                self.features.add(_pool())
                self.features.add(_make_fire(64, 256, 256))
            else:
                self.features.add(nn.Conv2D(64, kernel_size=3, strides=2), nn.Activation("relu"), _pool())
                self.features.add(_make_fire(16, 64, 64), _make_fire(16, 64, 64))
                self.features.add(_pool())
                self.features.add(_make_fire(32, 128, 128), _make_fire(32, 128, 128))
                self.features.add(_pool())
                self.features.add(_make_fire(48, 192, 192), _make_fire(48, 192, 192),
                                  _make_fire(64, 256, 256), _make_fire(64, 256, 256))
            self.features.add(nn.Dropout(0.5))

            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Conv2D(classes, kernel_size=1))
            self.output.add(nn.Activation("relu"))
            self.output.add(nn.AvgPool2D(13))
            self.output.add(nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def get_squeezenet(version, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""SqueezeNet `version` ('1.0' or '1.1').

    Parameters
    ----------
    version : str
        '1.0' or '1.1'.
    pretrained : bool, default False
        Load MXNet's pretrained weights from `root` (see model_store.get_model_file).
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.
    """
    net = SqueezeNet(version, **kwargs)
    if pretrained:
        net.load_parameters(model_store.get_model_file("squeezenet%s" % version, root=root), ctx=ctx)
    return net


def squeezenet1_0(**kwargs):
    r"""SqueezeNet 1.0 (get_squeezenet('1.0', **kwargs)): pretrained, ctx, root, classes as there."""
    return get_squeezenet("1.0", **kwargs)


def squeezenet1_1(**kwargs):
    r"""SqueezeNet 1.1 (get_squeezenet('1.1', **kwargs)): pretrained, ctx, root, classes as there."""
    return get_squeezenet("1.1", **kwargs)
