"""RNN weights per gate and RNN checkpoints, as MXNet 1.x's mx.rnn: a checkpoint stores each gate's
weights on their own (prefix + 'i2hf_weight' ...), so that it can be read back by cells whose
fused layout differs; loading packs them again for the cells given. Every step goes through the
cells' own unpack_weights / pack_weights methods, so a FusedRNNCell (one packed vector for all
its layers) takes part wherever it sits in a stack."""
from .. import ndarray
from ..model import load_checkpoint, save_checkpoint


def _children(cell):
    """The cells a composite cell (Sequential, Bidirectional, or a wrapper) is made of."""
    if hasattr(cell, "base_cell"):
        return [cell.base_cell]
    return list(getattr(cell, "_cells", []))


def unpack_weights(cell, args):
    """args with each of cell's i2h / h2h weights and biases split into one entry per gate."""
    args = dict(args)
    children = _children(cell)
    if children:
        for child in children:
            args = child.unpack_weights(args)
        return args
    h = getattr(cell, "_num_hidden", None)
    for group in ("i2h", "h2h") if cell._gate_names else ():
        weight = args.pop("%s%s_weight" % (cell._prefix, group))
        bias = args.pop("%s%s_bias" % (cell._prefix, group))
        for j, gate in enumerate(cell._gate_names):
            args["%s%s%s_weight" % (cell._prefix, group, gate)] = weight[j * h:(j + 1) * h].copy()
            args["%s%s%s_bias" % (cell._prefix, group, gate)] = bias[j * h:(j + 1) * h].copy()
    return args


def pack_weights(cell, args):
    """The inverse of unpack_weights: per-gate entries concatenated back into the cell's params."""
    args = dict(args)
    children = _children(cell)
    if children:
        for child in children:
            args = child.pack_weights(args)
        return args
    for group in ("i2h", "h2h") if cell._gate_names else ():
        for kind in ("weight", "bias"):
            parts = [args.pop("%s%s%s_%s" % (cell._prefix, group, gate, kind)) for gate in cell._gate_names]
            args["%s%s_%s" % (cell._prefix, group, kind)] = ndarray.concatenate(parts, axis=0)
    return args


def _as_list(cells):
    return list(cells) if isinstance(cells, (list, tuple)) else [cells]


def save_rnn_checkpoint(cells, prefix, epoch, symbol, arg_params, aux_params):
    """save_checkpoint with the cells' weights unpacked per gate."""
    for cell in _as_list(cells):
        arg_params = cell.unpack_weights(arg_params)
    save_checkpoint(prefix, epoch, symbol, arg_params, aux_params)


def load_rnn_checkpoint(cells, prefix, epoch):
    """(symbol, arg_params, aux_params) of a checkpoint, the cells' weights packed again."""
    sym, arg, aux = load_checkpoint(prefix, epoch)
    for cell in _as_list(cells):
        arg = cell.pack_weights(arg)
    return sym, arg, aux


def do_rnn_checkpoint(cells, prefix, period=1):
    """An epoch_end_callback saving an RNN checkpoint every `period` epochs."""
    period = int(max(1, period))

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            save_rnn_checkpoint(cells, prefix, iter_no + 1, sym, arg, aux)
    return _callback
