"""gluon.utils (MXNet 1.9.1): splitting a batch over contexts, global-norm gradient clipping,
file checks and download, and the small helpers Gluon's modules share."""
import hashlib
import os
import shutil
import urllib.request
import uuid
import warnings
import weakref

import numpy as np

from .. import ndarray as nd
from ..base import MXNetError, MXNetValueError

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1", "download", "HookHandle",
           "shape_is_known"]


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Splits data into num_slice slices along batch_axis. With even_split=False the last slice
    takes the remainder (and a batch smaller than num_slice gives one-element slices)."""
    if batch_axis < 0 or batch_axis >= len(data.shape):
        raise MXNetValueError("split_data: batch_axis %d is out of range for data of shape %s"
                              % (batch_axis, str(data.shape)))
    if num_slice < 1:
        raise MXNetValueError("split_data: num_slice must be >= 1, got %d" % num_slice)
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise MXNetValueError(
            "data with shape %s cannot be evenly split into %d slices along axis %d. Use a batch size that's "
            "multiple of %d or set even_split=False to allow uneven partitioning of data."
            % (str(data.shape), num_slice, batch_axis, num_slice))
    step = size // num_slice
    if not even_split and size < num_slice:
        step = 1
        num_slice = size
    bounds = [(i * step, (i + 1) * step if i < num_slice - 1 else size) for i in range(num_slice)]
    if batch_axis == 0:
        return [data[b:e] for b, e in bounds]
    return [nd.slice_axis(data, axis=batch_axis, begin=b, end=e) for b, e in bounds]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Splits data (an NDArray or numpy array) along batch_axis and copies slice i to ctx_list[i]."""
    if not isinstance(data, nd.NDArray):
        data = nd.array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(ctx) for s, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Scales arrays in place so that the 2-norm of all of them together is at most max_norm;
    returns that norm before scaling (a float, or an NDArray when check_isfinite is False)."""
    if not arrays:
        raise MXNetValueError("clip_global_norm: arrays is empty")
    ctx = arrays[0].context
    squares = [nd.dot(a.reshape((-1,)), a.reshape((-1,))).as_in_context(ctx) for a in arrays]
    total_norm = squares[0]
    for s in squares[1:]:
        total_norm = total_norm + s
    total_norm = nd.sqrt(total_norm)
    if check_isfinite and not np.isfinite(total_norm.asscalar()):
        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."), stacklevel=2)
    scale = max_norm / (total_norm + 1e-8)
    scale = nd.min(nd.concat(scale, nd.ones((1,), ctx=ctx), dim=0))
    for arr in arrays:
        arr *= scale.as_in_context(arr.context)
    return total_norm.asscalar() if check_isfinite else total_norm


def check_sha1(filename, sha1_hash):
    """Whether the file's SHA-1 hex digest is sha1_hash."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha1.update(chunk)
    return sha1.hexdigest() == sha1_hash


def download(url, path=None, overwrite=False, sha1_hash=None, retries=5, verify_ssl=True, timeout=30):
    """Downloads url to path (a file, or a directory to put it in; default the url's file name)
    unless a matching file is already there; returns the file name. Without network access it
    raises MXNetError naming the url and the reason."""
    if path is None:
        fname = url.split("/")[-1]
        if not fname:
            raise MXNetValueError("download: can't construct file-name from this URL: %s" % url)
    else:
        path = os.path.expanduser(path)
        fname = os.path.join(path, url.split("/")[-1]) if os.path.isdir(path) else path
    if retries < 0:
        raise MXNetValueError("download: number of retries should be at least 0, got %d" % retries)
    if not verify_ssl:
        warnings.warn("Unverified HTTPS request is being made (verify_ssl=False). Adding certificate "
                      "verification is strongly advised.")
    if not overwrite and os.path.exists(fname) and (not sha1_hash or check_sha1(fname, sha1_hash)):
        return fname
    dirname = os.path.dirname(os.path.abspath(fname))
    os.makedirs(dirname, exist_ok=True)
    last = None
    for _ in range(retries + 1):
        tmp = os.path.join(dirname, ".%s.%s.part" % (os.path.basename(fname), uuid.uuid4().hex))
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r, open(tmp, "wb") as f:
                shutil.copyfileobj(r, f)
            if sha1_hash and not check_sha1(tmp, sha1_hash):
                raise MXNetError("File {} is downloaded but the content hash does not match. The repo may be "
                                 "outdated or download may be incomplete. If the \"repo_url\" is overridden, "
                                 "consider switching to the default repo.".format(fname))
            replace_file(tmp, fname)
            return fname
        except (OSError, ValueError, MXNetError) as err:
            last = err
            if os.path.exists(tmp):
                os.remove(tmp)
            if isinstance(err, MXNetError):
                raise
    raise MXNetError("download: failed to fetch %s to %s (no network access? %s)" % (url, fname, last))


def replace_file(src, dst):
    """Moves src over dst atomically (as MXNet's replace_file)."""
    os.replace(src, dst)


def _get_repo_url():
    """The Gluon file repository (MXNET_GLUON_REPO, default MXNet's), ending in '/'."""
    default_repo = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
    repo_url = os.environ.get("MXNET_GLUON_REPO", default_repo)
    return repo_url if repo_url.endswith("/") else repo_url + "/"


def _get_repo_file_url(namespace, filename):
    """URL of filename under namespace in the Gluon repository (what model_zoo downloads)."""
    return "{base_url}{namespace}/{filename}".format(base_url=_get_repo_url(), namespace=namespace,
                                                     filename=filename)


def shape_is_known(shape):
    """Whether every dimension of shape is known (MXNet 1.x: 0 means unknown)."""
    if shape is None:
        return False
    return all(d > 0 for d in shape)


def _indent(s_, num_spaces):
    lines = s_.split("\n")
    return "\n".join([lines[0]] + [" " * num_spaces + line for line in lines[1:]])


def _brief_print_list(lst, limit=7):
    """At most `limit` items of lst as a string, the middle elided (as MXNet's error messages)."""
    lst = list(lst)
    if len(lst) > limit:
        return _brief_print_list(lst[:limit // 2], limit) + ", ..., " + _brief_print_list(lst[-limit // 2:], limit)
    return ", ".join(["'%s'" % str(i) for i in lst])


class HookHandle:
    """Returned by register_forward_(pre_)hook; detach() removes the hook (also usable with `with`)."""

    def __init__(self):
        self._hooks_dict_ref = None
        self._id = None

    def attach(self, hooks_dict, hook):
        if self._hooks_dict_ref is not None:
            raise MXNetValueError("The same handle cannot be attached twice.")
        self._id = id(hook)
        hooks_dict[self._id] = hook
        self._hooks_dict_ref = weakref.ref(hooks_dict)

    def detach(self):
        hooks_dict = self._hooks_dict_ref() if self._hooks_dict_ref is not None else None
        if hooks_dict is not None and self._id in hooks_dict:
            del hooks_dict[self._id]

    def __enter__(self):
        return self

    def __exit__(self, ptype, value, trace):
        self.detach()

