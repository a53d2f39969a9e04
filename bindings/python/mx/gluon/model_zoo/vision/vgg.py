"""VGG ("Very Deep Convolutional Networks for Large-Scale Image Recognition",
https://arxiv.org/abs/1409.1556), with or without BatchNorm, as MXNet 1.9.1's Gluon model zoo
(parameter names vgg0_conv0_weight …, vgg0_dense0_weight …, vgg0_dense2_weight for the output)."""
__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
           "get_vgg"]

from ....context import cpu
from ....initializer import Xavier
from ...block import HybridBlock
from ... import nn
from .. import model_store


class VGG(HybridBlock):
    r"""VGG: blocks of 3x3 convolutions (+ BatchNorm) + relu, each block ending in a 2x2 max-pool,
    then two Dense(4096) with dropout (`features`) and `output`. The first Dense layer's width is
    inferred from the first input (25088 for 224x224 images).

    Parameters
    ----------
    layers : list of int
        Number of convolutions in each block.
    filters : list of int
        Channels of each block (as long as layers).
    classes : int, default 1000
        Number of classes of the output layer.
    batch_norm : bool, default False
        BatchNorm after every convolution.
    """
    def __init__(self, layers, filters, classes=1000, batch_norm=False, **kwargs):
        super().__init__(**kwargs)
        if len(layers) != len(filters):
            raise ValueError("VGG: layers (%d) and filters (%d) must have the same length"
                             % (len(layers), len(filters)))
        with self.name_scope():
            self.features = self._make_features(layers, filters, batch_norm)
            for _ in range(2):
                self.features.add(nn.Dense(4096, activation="relu", weight_initializer="normal",
                                           bias_initializer="zeros"))
                self.features.add(nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes, weight_initializer="normal", bias_initializer="zeros")

    def _make_features(self, layers, filters, batch_norm):
        featurizer = nn.HybridSequential(prefix="")
        for num, channels in zip(layers, filters):
            for _ in range(num):
                # He initialisation (gaussian, fan-out), as MXNet's VGG
                featurizer.add(nn.Conv2D(channels, kernel_size=3, padding=1,
                                         weight_initializer=Xavier(rnd_type="gaussian", factor_type="out",
                                                                   magnitude=2),
                                         bias_initializer="zeros"))
                if batch_norm:
                    featurizer.add(nn.BatchNorm())
                featurizer.add(nn.Activation("relu"))
            featurizer.add(nn.MaxPool2D(strides=2))
        return featurizer

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth: (convolutions per block, channels per block)
vgg_spec = {11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
            13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
            16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
            19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])}


def get_vgg(num_layers, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""VGG with `num_layers` layers.

    Parameters
    ----------
    num_layers : int
        11, 13, 16 or 19.
    pretrained : bool, default False
        Load MXNet's pretrained weights from `root` (see model_store.get_model_file).
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.
    classes, batch_norm
        Passed to VGG.
    """
    if num_layers not in vgg_spec:
        raise ValueError("Invalid number of layers: %s. Options are %s" % (num_layers, sorted(vgg_spec)))
    layers, filters = vgg_spec[num_layers]
    net = VGG(layers, filters, **kwargs)
    if pretrained:
        suffix = "_bn" if kwargs.get("batch_norm") else ""
        net.load_parameters(model_store.get_model_file("vgg%d%s" % (num_layers, suffix), root=root), ctx=ctx)
    return net


def _constructor(num_layers, batch_norm):
    name = "vgg%d%s" % (num_layers, "_bn" if batch_norm else "")

    def make(**kwargs):
        if batch_norm:
            kwargs["batch_norm"] = True
        return get_vgg(num_layers, **kwargs)
    make.__name__ = make.__qualname__ = name
    make.__doc__ = (r"""VGG-%d%s (get_vgg(%d, **kwargs)): pretrained, ctx, root, classes as there."""
                    % (num_layers, " with BatchNorm" if batch_norm else "", num_layers))
    return make


vgg11 = _constructor(11, False)
vgg13 = _constructor(13, False)
vgg16 = _constructor(16, False)
vgg19 = _constructor(19, False)
vgg11_bn = _constructor(11, True)
vgg13_bn = _constructor(13, True)
vgg16_bn = _constructor(16, True)
vgg19_bn = _constructor(19, True)
