"""mx.model: checkpoints in MXNet's format: prefix-symbol.json and prefix-%04d.params holding
"arg:name" / "aux:name" arrays."""
import logging
from collections import namedtuple

from . import ndarray as nd
from . import symbol as sym

BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    if symbol is not None:
        symbol.save("%s-symbol.json" % prefix)
    params = {"arg:%s" % k: v.as_in_context(nd.Context("cpu")) for k, v in arg_params.items()}
    params.update({"aux:%s" % k: v.as_in_context(nd.Context("cpu")) for k, v in aux_params.items()})
    name = "%s-%04d.params" % (prefix, epoch)
    nd.save(name, params)
    logging.info('Saved checkpoint to "%s"', name)


def load_params(prefix, epoch):
    """(arg_params, aux_params) from prefix-%04d.params."""
    name = "%s-%04d.params" % (prefix, epoch)
    saved = nd.load(name)
    if not isinstance(saved, dict):
        raise ValueError("load_params: %s holds a list of arrays, not arg:/aux: keys" % name)
    arg_params, aux_params = {}, {}
    for key, value in saved.items():
        kind, _, pname = key.partition(":")
        if kind == "arg":
            arg_params[pname] = value
        elif kind == "aux":
            aux_params[pname] = value
        else:
            raise ValueError("load_params: %s: key %r is neither arg:name nor aux:name" % (name, key))
    return arg_params, aux_params


def load_checkpoint(prefix, epoch):
    """(symbol, arg_params, aux_params) as save_checkpoint wrote them."""
    symbol = sym.load("%s-symbol.json" % prefix)
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params
