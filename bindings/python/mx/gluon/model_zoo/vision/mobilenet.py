"""MobileNet ("MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications",
https://arxiv.org/abs/1704.04861) and MobileNetV2 ("Inverted Residuals and Linear Bottlenecks",
https://arxiv.org/abs/1801.04381), as MXNet 1.9.1's Gluon model zoo (parameter names
mobilenet0_conv0_weight …, mobilenetv20_features_conv0_weight …, mobilenetv20_output_pred_weight).
"""
__all__ = ["MobileNet", "MobileNetV2", "mobilenet1_0", "mobilenet_v2_1_0", "mobilenet0_75",
           "mobilenet_v2_0_75", "mobilenet0_5", "mobilenet_v2_0_5", "mobilenet0_25",
           "mobilenet_v2_0_25", "get_mobilenet", "get_mobilenet_v2"]

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from .. import model_store


class RELU6(HybridBlock):
    """min(max(x, 0), 6), MobileNetV2's activation."""
    def hybrid_forward(self, F, x):
        return F.clip(x, a_min=0, a_max=6, name="relu6")


def _add_conv(out, channels=1, kernel=1, stride=1, pad=0, num_group=1, active=True, relu6=False):
    """Convolution without bias + BatchNorm (+ relu or relu6), appended to `out`."""
    out.add(nn.Conv2D(channels, kernel, stride, pad, groups=num_group, use_bias=False))
    out.add(nn.BatchNorm(scale=True))
    if active:
        out.add(RELU6() if relu6 else nn.Activation("relu"))


def _add_conv_dw(out, dw_channels, channels, stride, relu6=False):
    """A depthwise-separable convolution: 3x3 depthwise, then 1x1 pointwise."""
    _add_conv(out, channels=dw_channels, kernel=3, stride=stride, pad=1, num_group=dw_channels, relu6=relu6)
    _add_conv(out, channels=channels, relu6=relu6)


class LinearBottleneck(HybridBlock):
    r"""MobileNetV2's inverted residual: 1x1 expansion (t times), 3x3 depthwise, linear 1x1
    projection; the input is added back when stride is 1 and the width does not change.

    Parameters
    ----------
    in_channels : int
        Number of input channels.
    channels : int
        Number of output channels.
    t : int
        Expansion ratio.
    stride : int
        Stride of the depthwise convolution.
    """
    def __init__(self, in_channels, channels, t, stride, **kwargs):
        super().__init__(**kwargs)
        self.use_shortcut = stride == 1 and in_channels == channels
        with self.name_scope():
            self.out = nn.HybridSequential()
            _add_conv(self.out, in_channels * t, relu6=True)
            _add_conv(self.out, in_channels * t, kernel=3, stride=stride, pad=1, num_group=in_channels * t,
                      relu6=True)
            _add_conv(self.out, channels, active=False, relu6=True)

    def hybrid_forward(self, F, x):
        out = self.out(x)
        return F.elemwise_add(out, x) if self.use_shortcut else out


class MobileNet(HybridBlock):
    r"""MobileNet: a strided 3x3 convolution, 13 depthwise-separable convolutions, global average
    pooling, Dense.

    Parameters
    ----------
    multiplier : float, default 1.0
        Width multiplier (at least 0.25): every layer has int(multiplier * its width) channels.
    classes : int, default 1000
        Number of classes of the output layer.
    """
    def __init__(self, multiplier=1.0, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                _add_conv(self.features, channels=int(32 * multiplier), kernel=3, pad=1, stride=2)
                dw_channels = [int(x * multiplier) for x in [32, 64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024]]
                channels = [int(x * multiplier) for x in [64] + [128] * 2 + [256] * 2 + [512] * 6 + [1024] * 2]
                strides = [1, 2] * 3 + [1] * 5 + [2, 1]
                for dwc, c, s in zip(dw_channels, channels, strides):
                    _add_conv_dw(self.features, dw_channels=dwc, channels=c, stride=s)
                self.features.add(nn.GlobalAvgPool2D())
                self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class MobileNetV2(HybridBlock):
    r"""MobileNetV2: a strided 3x3 convolution, 17 linear bottlenecks, a 1x1 convolution to 1280
    channels, global average pooling, then a 1x1 convolution to the classes (output_pred).

    Parameters
    ----------
    multiplier : float, default 1.0
        Width multiplier; the last 1280 channels grow only for multipliers above 1.
    classes : int, default 1000
        Number of classes of the output layer.
    """
    def __init__(self, multiplier=1.0, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                _add_conv(self.features, int(32 * multiplier), kernel=3, stride=2, pad=1, relu6=True)
                in_channels_group = [int(x * multiplier) for x in
                                     [32] + [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3]
                channels_group = [int(x * multiplier) for x in
                                  [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3 + [320]]
                ts = [1] + [6] * 16
                strides = [1, 2] * 2 + [1, 1, 2] + [1] * 6 + [2] + [1] * 3
                for in_c, c, t, s in zip(in_channels_group, channels_group, ts, strides):
                    self.features.add(LinearBottleneck(in_channels=in_c, channels=c, t=t, stride=s))
                last_channels = int(1280 * multiplier) if multiplier > 1.0 else 1280
                _add_conv(self.features, last_channels, relu6=True)
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, use_bias=False, prefix="pred_"), nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def _version_suffix(multiplier):
    # MXNet's file names: mobilenet1.0, mobilenet0.75, mobilenet0.5, mobilenet0.25
    suffix = "{0:.2f}".format(multiplier)
    return suffix[:-1] if suffix in ("1.00", "0.50") else suffix


def get_mobilenet(multiplier, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""MobileNet with width multiplier `multiplier`.

    Parameters
    ----------
    multiplier : float
        Width multiplier (1.0, 0.75, 0.5, 0.25 have pretrained weights).
    pretrained : bool, default False
        Load MXNet's pretrained weights from `root` (see model_store.get_model_file).
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.
    """
    net = MobileNet(multiplier, **kwargs)
    if pretrained:
        net.load_parameters(model_store.get_model_file("mobilenet%s" % _version_suffix(multiplier), root=root),
                            ctx=ctx)
    return net


def get_mobilenet_v2(multiplier, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""MobileNetV2 with width multiplier `multiplier`. Parameters as get_mobilenet."""
    net = MobileNetV2(multiplier, **kwargs)
    if pretrained:
        net.load_parameters(model_store.get_model_file("mobilenetv2_%s" % _version_suffix(multiplier),
                                                       root=root), ctx=ctx)
    return net


def _constructor(getter, multiplier, name):
    def make(**kwargs):
        return getter(multiplier, **kwargs)
    make.__name__ = make.__qualname__ = name
    make.__doc__ = (r"""%s with width multiplier %s (%s(%s, **kwargs)): pretrained, ctx, root,
    classes as there.""" % ("MobileNetV2" if getter is get_mobilenet_v2 else "MobileNet", multiplier,
                            getter.__name__, multiplier))
    return make


mobilenet1_0 = _constructor(get_mobilenet, 1.0, "mobilenet1_0")
mobilenet0_75 = _constructor(get_mobilenet, 0.75, "mobilenet0_75")
mobilenet0_5 = _constructor(get_mobilenet, 0.5, "mobilenet0_5")
mobilenet0_25 = _constructor(get_mobilenet, 0.25, "mobilenet0_25")
mobilenet_v2_1_0 = _constructor(get_mobilenet_v2, 1.0, "mobilenet_v2_1_0")
mobilenet_v2_0_75 = _constructor(get_mobilenet_v2, 0.75, "mobilenet_v2_0_75")
mobilenet_v2_0_5 = _constructor(get_mobilenet_v2, 0.5, "mobilenet_v2_0_5")
mobilenet_v2_0_25 = _constructor(get_mobilenet_v2, 0.25, "mobilenet_v2_0_25")
