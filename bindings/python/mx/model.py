"""mx.model: checkpoints in MXNet's format: prefix-symbol.json and prefix-%04d.params holding
"arg:name" / "aux:name" arrays.

Every checkpoint file is replaced atomically (the core writes .params and -symbol.json through a
temporary, fsync and rename; _atomic_write does the same for optimizer states): a job killed
while saving leaves the previous file or the new one, never a torn one, and can resume from it."""
import errno
import itertools
import logging
import os
from collections import namedtuple

from . import ndarray as nd
from . import symbol as sym

BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])

_tmp_counter = itertools.count()


def _atomic_write(path, data):
    """Writes bytes to path as the core writes .params: into a temporary next to it (same file
    system, so the rename is atomic), fsync, rename over path, fsync the directory. The temporary,
    ".<name>.tmp.<pid>.<n>", is hidden and matches no prefix-*.params / *.states glob; one left
    by a killed process is skipped (exclusive create), never reused. On error it is removed and
    path is untouched."""
    path = os.fspath(path)
    target = os.path.realpath(path) if os.path.islink(path) else path  # keep a link, replace its file
    directory, base = os.path.split(target)
    if os.path.exists(target) and not os.path.isfile(target):
        if os.path.isdir(target):
            raise IsADirectoryError("cannot write %s: it is a directory" % path)
        with open(target, "wb") as f:  # a device or FIFO: nothing to tear, must not be replaced
            f.write(data)
        return
    tmp = None
    try:
        while True:
            tmp = os.path.join(directory, ".%s.tmp.%d.%d" % (base[:200], os.getpid(), next(_tmp_counter)))
            try:
                f = open(tmp, "xb")
                break
            except FileExistsError:
                continue
        with f:
            if os.path.exists(target):
                os.chmod(f.fileno(), os.stat(target).st_mode & 0o7777)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(e, OSError) and e.errno is not None:  # the same class (ENOSPC, EACCES...), naming path
            raise OSError(e.errno, "cannot write %s (through the temporary %s): %s; the file is unchanged"
                          % (path, tmp, e.strerror)) from e
        raise
    try:
        dfd = os.open(directory or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP):
            raise
    finally:
        os.close(dfd)


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
