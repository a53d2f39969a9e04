"""DenseNet-BC ("Densely Connected Convolutional Networks", https://arxiv.org/abs/1608.06993), as
MXNet 1.9.1's Gluon model zoo (parameter names densenet0_conv0_weight,
densenet0_stage1_batchnorm0_gamma …, densenet0_dense0_weight)."""
__all__ = ["DenseNet", "densenet121", "densenet161", "densenet169", "densenet201", "get_densenet"]

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from .. import model_store
from ...contrib.nn import HybridConcurrent, Identity


def _make_dense_layer(growth_rate, bn_size, dropout):
    """BN-relu-1x1 conv (bn_size * growth_rate) - BN-relu-3x3 conv (growth_rate), its output
    concatenated to its input."""
    new_features = nn.HybridSequential(prefix="")
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(bn_size * growth_rate, kernel_size=1, use_bias=False))
    new_features.add(nn.BatchNorm())
    new_features.add(nn.Activation("relu"))
    new_features.add(nn.Conv2D(growth_rate, kernel_size=3, padding=1, use_bias=False))
    if dropout:
        new_features.add(nn.Dropout(dropout))
    out = HybridConcurrent(axis=1, prefix="")
    out.add(Identity())
    out.add(new_features)
    return out


def _make_dense_block(num_layers, bn_size, growth_rate, dropout, stage_index):
    out = nn.HybridSequential(prefix="stage%d_" % stage_index)
    with out.name_scope():
        for _ in range(num_layers):
            out.add(_make_dense_layer(growth_rate, bn_size, dropout))
    return out


def _make_transition(num_output_features):
    """BN-relu-1x1 conv (compression) - 2x2 average pooling between dense blocks."""
    out = nn.HybridSequential(prefix="")
    out.add(nn.BatchNorm())
    out.add(nn.Activation("relu"))
    out.add(nn.Conv2D(num_output_features, kernel_size=1, use_bias=False))
    out.add(nn.AvgPool2D(pool_size=2, strides=2))
    return out


class DenseNet(HybridBlock):
    r"""DenseNet-BC: `features` (7x7 stem, dense blocks with half-compressing transitions, BN-relu,
    7x7 average pooling — hence 224x224 inputs — flatten) and `output` (Dense).

    Parameters
    ----------
    num_init_features : int
        Channels of the first convolution.
    growth_rate : int
        Channels each dense layer adds (k in the paper).
    block_config : list of int
        Number of layers in each dense block.
    bn_size : int, default 4
        Width factor of the bottleneck (bn_size * k channels).
    dropout : float, default 0
        Dropout rate after each dense layer.
    classes : int, default 1000
        Number of classes of the output layer.
    """
    def __init__(self, num_init_features, growth_rate, block_config, bn_size=4, dropout=0, classes=1000,
                 **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(nn.Conv2D(num_init_features, kernel_size=7, strides=2, padding=3, use_bias=False))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2, padding=1))
            num_features = num_init_features
            for i, num_layers in enumerate(block_config):
                self.features.add(_make_dense_block(num_layers, bn_size, growth_rate, dropout, i + 1))
                num_features += num_layers * growth_rate
                if i != len(block_config) - 1:
                    num_features //= 2
                    self.features.add(_make_transition(num_features))
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.AvgPool2D(pool_size=7))
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth: (num_init_features, growth_rate, block_config)
densenet_spec = {121: (64, 32, [6, 12, 24, 16]),
                 161: (96, 48, [6, 12, 36, 24]),
                 169: (64, 32, [6, 12, 32, 32]),
                 201: (64, 32, [6, 12, 48, 32])}


def get_densenet(num_layers, pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""DenseNet-BC with `num_layers` layers.

    Parameters
    ----------
    num_layers : int
        121, 161, 169 or 201.
    pretrained : bool, default False
        Load MXNet's pretrained weights from `root` (see model_store.get_model_file).
    ctx : Context, default CPU
        Context of the loaded weights.
    root : str, default $MXNET_HOME/models
        Directory of the weight files.
    bn_size, dropout, classes
        Passed to DenseNet.
    """
    if num_layers not in densenet_spec:
        raise ValueError("Invalid number of layers: %s. Options are %s" % (num_layers, sorted(densenet_spec)))
    num_init_features, growth_rate, block_config = densenet_spec[num_layers]
    net = DenseNet(num_init_features, growth_rate, block_config, **kwargs)
    if pretrained:
        net.load_parameters(model_store.get_model_file("densenet%d" % num_layers, root=root), ctx=ctx)
    return net


def densenet121(**kwargs):
    r"""DenseNet-BC-121 (get_densenet(121, **kwargs)): pretrained, ctx, root, classes as there."""
    return get_densenet(121, **kwargs)


def densenet161(**kwargs):
    r"""DenseNet-BC-161 (get_densenet(161, **kwargs)): pretrained, ctx, root, classes as there."""
    return get_densenet(161, **kwargs)


def densenet169(**kwargs):
    r"""DenseNet-BC-169 (get_densenet(169, **kwargs)): pretrained, ctx, root, classes as there."""
    return get_densenet(169, **kwargs)


def densenet201(**kwargs):
    r"""DenseNet-BC-201 (get_densenet(201, **kwargs)): pretrained, ctx, root, classes as there."""
    return get_densenet(201, **kwargs)
