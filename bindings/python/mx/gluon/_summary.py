"""Block.summary (MXNet 1.9.1): one forward with a hook on every layer, then a table of each
layer's output shape and parameter count, in MXNet's exact layout."""
from collections import OrderedDict

from .. import ndarray as nd
from ..base import MXNetValueError


def _shape_str(args):
    """Shapes of a (nested) output as MXNet prints them: (2, 4) or (2, 4), (2, 3)."""
    def shapes(x):
        if isinstance(x, (list, tuple)):
            return [shapes(i) for i in x]
        return x.shape if isinstance(x, nd.NDArray) else x
    s = shapes(args)
    return str(s)[1:-1] if isinstance(s, list) else str(s)


def _is_container(block):
    # Sequential containers get no row, as in MXNet (gluon.nn may not be importable yet)
    return type(block).__name__ in ("Sequential", "HybridSequential")


def summary(block, *inputs):
    from .hybrid_block import HybridBlock
    rows = OrderedDict()
    seen = set()
    hooks = []

    def hook(layer, _, outputs):
        key = "%s-%i" % (layer.__class__.__name__, len(rows))
        row = rows[key] = {"output_shape": _shape_str(outputs), "n_params": 0, "trainable": 0, "shared": 0}
        for p in layer.params.values():
            size = p.data().size
            row["n_params"] += size
            row["trainable"] += 0 if p.grad_req == "null" else size
            if p in seen:
                row["shared"] += size
            else:
                seen.add(p)

    def register(layer):
        if isinstance(layer, HybridBlock) and layer._active:
            raise MXNetValueError('"{}" must not be hybridized to print summary.'.format(layer.name))
        if not _is_container(layer):
            hooks.append(layer.register_forward_hook(hook))

    rows["Input"] = {"output_shape": _shape_str(list(inputs)), "n_params": 0, "trainable": 0, "shared": 0}
    try:
        block.apply(register)
        block(*inputs)
        line_format = "{:>20}  {:>42} {:>15}"
        print("-" * 80)
        print(line_format.format("Layer (type)", "Output Shape", "Param #"))
        print("=" * 80)
        total = trainable = shared = 0
        for name, row in rows.items():
            print(line_format.format(name, str(row["output_shape"]), row["n_params"]))
            total += row["n_params"]
            trainable += row["trainable"]
            shared += row["shared"]
        print("=" * 80)
        print("Parameters in forward computation graph, duplicate included")
        print("   Total params: " + str(total))
        print("   Trainable params: " + str(trainable))
        print("   Non-trainable params: " + str(total - trainable))
        print("Shared params in forward computation graph: " + str(shared))
        print("Unique parameters in model: " + str(total - shared))
        print("-" * 80)
    finally:
        for h in hooks:
            h.detach()
