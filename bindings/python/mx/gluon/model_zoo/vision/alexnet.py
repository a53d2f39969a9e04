"""AlexNet ("One weird trick for parallelizing convolutional neural networks",
https://arxiv.org/abs/1404.5997), as MXNet 1.9.1's Gluon model zoo (parameter names
alexnet0_conv0_weight …, alexnet0_dense2_weight for the output layer)."""
__all__ = ["AlexNet", "alexnet"]

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from .. import model_store


class AlexNet(HybridBlock):
    r"""AlexNet: five convolutions (relu) with three max-poolings, then two Dense(4096) with
    dropout in `features`, and `output`. Needs 224x224 inputs for the published 9216 inputs of
    the first Dense layer (its width is inferred from the first input).

    Parameters
    ----------
    classes : int, default 1000
        Number of classes of the output layer.
    """
    def __init__(self, classes=1000, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                # (channels, kernel, stride, padding, max-pool after it)
                for channels, kernel, stride, pad, pool in [(64, 11, 4, 2, True), (192, 5, 1, 2, True),
                                                            (384, 3, 1, 1, False), (256, 3, 1, 1, False),
                                                            (256, 3, 1, 1, True)]:
                    self.features.add(nn.Conv2D(channels, kernel_size=kernel, strides=stride, padding=pad,
                                                activation="relu"))
                    if pool:
                        self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Flatten())
                for _ in range(2):
                    self.features.add(nn.Dense(4096, activation="relu"))
                    self.features.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def alexnet(pretrained=False, ctx=cpu(), root=None, **kwargs):
    r"""AlexNet model.

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
    net = AlexNet(**kwargs)
    if pretrained:
        net.load_parameters(model_store.get_model_file("alexnet", root=root), ctx=ctx)
    return net
