"""mx.gluon.contrib.nn (MXNet 1.9.1): Concurrent / HybridConcurrent run each child on the same
input and concatenate their outputs — the containers SqueezeNet's fire modules, DenseNet's dense
layers and Inception's branches are built from. Children are numbered '0', '1', … as in
HybridSequential, so the structural parameter names match MXNet's."""
from .... import ndarray
from ... import nn

__all__ = ["Concurrent", "HybridConcurrent", "Identity"]

Identity = nn.Identity


class HybridConcurrent(nn.HybridSequential):
    """Concatenates the outputs of its children, all fed the same input, along `axis`.

    Parameters
    ----------
    axis : int, default -1
        The axis on which to concatenate the outputs.
    """
    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def hybrid_forward(self, F, x):
        outputs = [block(x) for block in self._children.values()]
        return F.concat(*outputs, dim=self.axis)


class Concurrent(nn.Sequential):
    """Concatenates the outputs of its children, all fed the same input, along `axis` (imperative
    only; HybridConcurrent hybridizes)."""
    def __init__(self, axis=-1, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self.axis = axis

    def forward(self, x):
        return ndarray.concat(*[block(x) for block in self._children.values()], dim=self.axis)
