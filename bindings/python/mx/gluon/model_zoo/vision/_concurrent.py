"""HybridConcurrent: runs each child on the same input and concatenates their outputs — the
container MXNet 1.9.1's SqueezeNet (fire modules) and DenseNet (dense layers) are built from
(mx.gluon.contrib.nn.HybridConcurrent there). Children are numbered '0', '1', … as in
HybridSequential, so the structural parameter names match MXNet's."""
from ... import nn

__all__ = ["HybridConcurrent", "Identity"]

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
