"""ResNet V1 ("Deep Residual Learning for Image Recognition", https://arxiv.org/abs/1512.03385) and
V2 ("Identity Mappings in Deep Residual Networks", https://arxiv.org/abs/1603.05027), as MXNet
1.9.1's Gluon model zoo: the same blocks, children and parameter names (resnetv10_conv0_weight,
resnetv10_stage1_conv0_weight, resnetv10_dense0_weight …), so MXNet's weight files load.

Note (MXNet's design, kept for weight compatibility): BottleneckV1 puts the stride on its first
1x1 convolution, and its two 1x1 convolutions have biases; torchvision's ResNet-50 has none, so
resnet50_v1 has 18,880 parameters more than torchvision's 25,557,032.
"""
__all__ = ["ResNetV1", "ResNetV2", "BasicBlockV1", "BasicBlockV2", "BottleneckV1", "BottleneckV2",
           "resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1",
           "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2", "get_resnet"]

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from .. import model_store


def _conv3x3(channels, stride, in_channels):
    return nn.Conv2D(channels, kernel_size=3, strides=stride, padding=1, use_bias=False,
                     in_channels=in_channels)


def _downsample_v1(channels, stride, in_channels):
    # a projection shortcut: 1x1 convolution (strided) + BatchNorm
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size=1, strides=stride, use_bias=False, in_channels=in_channels))
    out.add(nn.BatchNorm())
    return out


# ---------------------------------------------------------------- residual blocks
# The blocks take prefix='' and open no name scope of their own: their layers are numbered in the
# enclosing stage's scope (stage1_conv0, stage1_conv1, …), as MXNet names them.

class BasicBlockV1(HybridBlock):
    r"""BasicBlock V1 (ResNet V1 for 18, 34 layers): two 3x3 convolutions, post-activation.

    Parameters
    ----------
    channels : int
        Number of output channels.
    stride : int
        Stride of the first convolution (and of the shortcut).
    downsample : bool, default False
        Whether the shortcut is a 1x1 convolution (needed when shape or channels change).
    in_channels : int, default 0
        Number of input channels; 0 infers it from the first input.
    """
    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(_conv3x3(channels, stride, in_channels))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels, 1, channels))
        self.body.add(nn.BatchNorm())
        self.downsample = _downsample_v1(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(residual + self.body(x), act_type="relu")


class BottleneckV1(HybridBlock):
    r"""Bottleneck V1 (ResNet V1 for 50, 101, 152 layers): 1x1 (strided) → 3x3 → 1x1 convolutions,
    post-activation. Parameters as BasicBlockV1; `channels` is the output width (4x the inner one)."""
    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(nn.Conv2D(channels // 4, kernel_size=1, strides=stride))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels // 4, 1, channels // 4))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(nn.Conv2D(channels, kernel_size=1, strides=1))
        self.body.add(nn.BatchNorm())
        self.downsample = _downsample_v1(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(self.body(x) + residual, act_type="relu")


class BasicBlockV2(HybridBlock):
    r"""BasicBlock V2 (ResNet V2 for 18, 34 layers): pre-activation (BatchNorm, relu before each
    3x3 convolution); the shortcut projection, when there is one, reads the pre-activated input.
    Parameters as BasicBlockV1."""
    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = _conv3x3(channels, stride, in_channels)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels, 1, channels)
        self.downsample = nn.Conv2D(channels, 1, stride, use_bias=False, in_channels=in_channels) \
            if downsample else None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = self.conv2(F.Activation(self.bn2(x), act_type="relu"))
        return x + residual


class BottleneckV2(HybridBlock):
    r"""Bottleneck V2 (ResNet V2 for 50, 101, 152 layers): pre-activation 1x1 → 3x3 (strided) → 1x1
    convolutions without biases. Parameters as BasicBlockV1."""
    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = nn.Conv2D(channels // 4, kernel_size=1, strides=1, use_bias=False)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels // 4, stride, channels // 4)
        self.bn3 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False)
        self.downsample = nn.Conv2D(channels, 1, stride, use_bias=False, in_channels=in_channels) \
            if downsample else None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = self.conv2(F.Activation(self.bn2(x), act_type="relu"))
        x = self.conv3(F.Activation(self.bn3(x), act_type="relu"))
        return x + residual


# ---------------------------------------------------------------- networks

def _make_stage(block, num_blocks, channels, stride, stage_index, in_channels):
    """Stage `stage_index` (prefix stage{i}_): the first block changes stride / width, the others
    keep them."""
    stage = nn.HybridSequential(prefix="stage%d_" % stage_index)
    with stage.name_scope():
        stage.add(block(channels, stride, channels != in_channels, in_channels=in_channels, prefix=""))
        for _ in range(num_blocks - 1):
            stage.add(block(channels, 1, False, in_channels=channels, prefix=""))
    return stage


def _add_stem(features, channels, thumbnail):
    if thumbnail:  # for small (CIFAR-sized) inputs: one 3x3 convolution, no downsampling
        features.add(_conv3x3(channels, 1, 0))
    else:
        features.add(nn.Conv2D(channels, 7, 2, 3, use_bias=False))
        features.add(nn.BatchNorm())
        features.add(nn.Activation("relu"))
        features.add(nn.MaxPool2D(3, 2, 1))


class ResNetV1(HybridBlock):
    r"""ResNet V1: `features` (stem, four stages, global average pooling) then `output` (Dense).

    Parameters
    ----------
    block : class
        BasicBlockV1 or BottleneckV1.
    layers : list of int
        Number of blocks in each stage.
    channels : list of int
        Width of the stem, then of each stage (one longer than layers).
    classes : int, default 1000
        Number of classes of the output layer.
    thumbnail : bool, default False
        A 3x3 stem without pooling, for small images (CIFAR).
    """
    def __init__(self, block, layers, channels, classes=1000, thumbnail=False, **kwargs):
        super().__init__(**kwargs)
        if len(layers) != len(channels) - 1:
            raise ValueError("ResNetV1: channels (%d) must be one longer than layers (%d)"
                             % (len(channels), len(layers)))
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            _add_stem(self.features, channels[0], thumbnail)
            for i, num_blocks in enumerate(layers):
                self.features.add(_make_stage(block, num_blocks, channels[i + 1], 1 if i == 0 else 2,
                                              i + 1, channels[i]))
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels[-1])

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class ResNetV2(HybridBlock):
    r"""ResNet V2: `features` (an input BatchNorm without scale/shift, stem, four pre-activation
    stages, BatchNorm + relu, global average pooling, flatten) then `output` (Dense).
    Parameters as ResNetV1, with BasicBlockV2 or BottleneckV2."""
    def __init__(self, block, layers, channels, classes=1000, thumbnail=False, **kwargs):
        super().__init__(**kwargs)
        if len(layers) != len(channels) - 1:
            raise ValueError("ResNetV2: channels (%d) must be one longer than layers (%d)"
                             % (len(channels), len(layers)))
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.BatchNorm(scale=False, center=False))
            _add_stem(self.features, channels[0], thumbnail)
            in_channels = channels[0]
            for i, num_blocks in enumerate(layers):
                self.features.add(_make_stage(block, num_blocks, channels[i + 1], 1 if i == 0 else 2,
                                              i + 1, in_channels))
                in_channels = channels[i + 1]
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.GlobalAvgPool2D())
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes, in_units=in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth: (block kind, blocks per stage, widths)
resnet_spec = {18: ("basic_block", [2, 2, 2, 2], [64, 64, 128, 256, 512]),
               34: ("basic_block", [3, 4, 6, 3], [64, 64, 128, 256, 512]),
               50: ("bottle_neck", [3, 4, 6, 3], [64, 256, 512, 1024, 2048]),
               101: ("bottle_neck", [3, 4, 23, 3], [64, 256, 512, 1024, 2048]),
               152: ("bottle_neck", [3, 8, 36, 3], [64, 256, 512, 1024, 2048])}
resnet_net_versions = [ResNetV1, ResNetV2]
resnet_block_versions = [{"basic_block": BasicBlockV1, "bottle_neck": BottleneckV1},
                         {"basic_block": BasicBlockV2, "bottle_neck": BottleneckV2}]


def get_resnet(version, num_layers, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""ResNet V1 or V2 with `num_layers` layers.

    Parameters
    ----------
    version : int
        1 or 2.
    num_layers : int
        18, 34, 50, 101 or 152.
    pretrained : bool, default False
        Load MXNet's pretrained weights from `root` (see model_store.get_model_file).
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.
    classes, thumbnail, prefix, params
        Passed to ResNetV1 / ResNetV2.
    """
    if num_layers not in resnet_spec:
        raise ValueError("Invalid number of layers: %s. Options are %s" % (num_layers, sorted(resnet_spec)))
    if version not in (1, 2):
        raise ValueError("Invalid resnet version: %s. Options are 1 and 2." % version)
    block_type, layers, channels = resnet_spec[num_layers]
    net = resnet_net_versions[version - 1](resnet_block_versions[version - 1][block_type],
                                           layers, channels, **kwargs)
    if pretrained:
        net.load_parameters(model_store.get_model_file("resnet%d_v%d" % (num_layers, version), root=root),
                            ctx=ctx)
    return net


def _constructor(version, num_layers):
    def make(**kwargs):
        return get_resnet(version, num_layers, **kwargs)
    make.__name__ = "resnet%d_v%d" % (num_layers, version)
    make.__qualname__ = make.__name__
    make.__doc__ = (r"""ResNet-%d V%d model (get_resnet(%d, %d, **kwargs)).

    Parameters
    ----------
    pretrained : bool, default False
        Load MXNet's pretrained weights from `root`.
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.
    classes : int, default 1000
        Number of classes of the output layer.
    """ % (num_layers, version, version, num_layers))
    return make


resnet18_v1 = _constructor(1, 18)
resnet34_v1 = _constructor(1, 34)
resnet50_v1 = _constructor(1, 50)
resnet101_v1 = _constructor(1, 101)
resnet152_v1 = _constructor(1, 152)
resnet18_v2 = _constructor(2, 18)
resnet34_v2 = _constructor(2, 34)
resnet50_v2 = _constructor(2, 50)
resnet101_v2 = _constructor(2, 101)
resnet152_v2 = _constructor(2, 152)
