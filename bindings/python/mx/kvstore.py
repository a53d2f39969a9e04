"""mx.kv / mx.kvstore: MXNet's KVStore over the C API (mx_kvstore_*).

    kv = mx.kv.create("local")          # or "device", "dist_sync", "dist_async"
    kv.init(3, mx.nd.ones((2, 3)))
    kv.push(3, [mx.nd.ones((2, 3), ctx=mx.cpu(i)) for i in range(4)])   # summed
    out = mx.nd.zeros((2, 3)); kv.pull(3, out=out)

Keys are ints or strs (one kind per store). Values and outputs may be one NDArray per key, or a
list per key (several devices). With no updater the stored value becomes the merged push; with
set_optimizer the optimizer runs in the store (on the servers for dist_async)."""
import ctypes
import os
import pickle

from .base import LIB, MXNetError, c_str, check_call
from .ndarray import NDArray

_handle = ctypes.c_void_p
_UPDATER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, _handle, _handle, ctypes.c_void_p)


def _key_list(keys, values, what):
    """Flattens (key or keys, value or values or list of lists) into parallel key / array lists."""
    single = isinstance(keys, (int, str))
    keys = [keys] if single else list(keys)
    if single:
        values = [values]
    elif isinstance(values, NDArray):
        raise MXNetError("kvstore %s: %d keys need a value (or list of values) per key" % (what, len(keys)))
    if len(keys) != len(values):
        raise MXNetError("kvstore %s: %d keys but %d values" % (what, len(keys), len(values)))
    flat_keys, flat_vals = [], []
    for k, v in zip(keys, values):
        if not isinstance(k, (int, str)) or isinstance(k, bool):
            raise TypeError("kvstore %s: key %r is neither int nor str" % (what, k))
        if isinstance(k, int) and k < 0:
            raise MXNetError("kvstore %s: integer key %d is negative" % (what, k))
        for arr in (v if isinstance(v, (list, tuple)) else [v]):
            if not isinstance(arr, NDArray):
                raise TypeError("kvstore %s: value for key %r is %s, not an NDArray" % (what, k, type(arr).__name__))
            flat_keys.append(str(k).encode("utf-8"))
            flat_vals.append(arr)
    return flat_keys, flat_vals


def _c_keys(keys):
    return (ctypes.c_char_p * len(keys))(*keys)


def _c_handles(arrays):
    return (_handle * len(arrays))(*[a.handle for a in arrays])


class KVStore:
    """A key-value store for data-parallel training (see the module docstring)."""

    def __init__(self, handle, kv_type):
        self.handle = handle
        self._type = kv_type
        self._updater = None
        self._updater_func = None  # the ctypes callback, kept alive with the store
        self._updater_error = None
        self._int_keys = None

    def __del__(self):
        if getattr(self, "handle", None) is not None and LIB is not None:
            LIB.mx_kvstore_free(self.handle)
            self.handle = None

    @property
    def type(self):
        return self._type

    @property
    def rank(self):
        r = ctypes.c_int32()
        check_call(LIB.mx_kvstore_get_rank(self.handle, ctypes.byref(r)))
        return r.value

    @property
    def num_workers(self):
        n = ctypes.c_int32()
        check_call(LIB.mx_kvstore_get_num_workers(self.handle, ctypes.byref(n)))
        return n.value

    def _note_keys(self, key):
        first = key if isinstance(key, (int, str)) else (list(key)[0] if len(key) else None)
        if isinstance(first, int) and self._int_keys is None:
            self._int_keys = True
        elif isinstance(first, str) and self._int_keys is None:
            self._int_keys = False

    def init(self, key, value):
        self._note_keys(key)
        keys, vals = _key_list(key, value, "init")
        check_call(LIB.mx_kvstore_init(self.handle, len(keys), _c_keys(keys), _c_handles(vals)))

    def push(self, key, value, priority=0):
        keys, vals = _key_list(key, value, "push")
        self._updater_error = None
        ret = LIB.mx_kvstore_push(self.handle, len(keys), _c_keys(keys), _c_handles(vals), ctypes.c_int32(priority))
        self._raise_updater_error()
        check_call(ret)

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        if out is None:
            raise MXNetError("kvstore pull: out= is required")
        keys, outs = _key_list(key, out, "pull")
        check_call(LIB.mx_kvstore_pull(self.handle, len(keys), _c_keys(keys), _c_handles(outs), ctypes.c_int32(priority)))

    def pushpull(self, key, value, out=None, priority=0):
        vkeys, vals = _key_list(key, value, "pushpull")
        # Without out the values are updated in place, as MXNet's pushpull does.
        okeys, outs = _key_list(key, out, "pushpull") if out is not None else (vkeys, vals)
        self._updater_error = None
        ret = LIB.mx_kvstore_pushpull(self.handle, len(vkeys), _c_keys(vkeys), _c_handles(vals), len(okeys),
                                      _c_keys(okeys), _c_handles(outs), ctypes.c_int32(priority))
        self._raise_updater_error()
        check_call(ret)

    def broadcast(self, key, value, out, priority=0):
        self._note_keys(key)
        vkeys, vals = _key_list(key, value, "broadcast")
        okeys, outs = _key_list(key, out, "broadcast")
        check_call(LIB.mx_kvstore_broadcast(self.handle, len(vkeys), _c_keys(vkeys), _c_handles(vals), len(okeys),
                                            _c_keys(okeys), _c_handles(outs), ctypes.c_int32(priority)))

    def barrier(self):
        check_call(LIB.mx_kvstore_barrier(self.handle))

    # ---------------------------------------------------------------- updates
    def _set_updater(self, updater):
        """updater(key, received, stored): called once per key and push (MXNet's _set_updater)."""
        self._updater = updater

        def call(key, recv, stored, _):
            try:
                k = key.decode("utf-8")
                updater(int(k) if self._int_keys else k, NDArray(_handle(recv)), NDArray(_handle(stored)))
                return 0
            except BaseException as e:  # raised again by push, on the caller's thread
                self._updater_error = e
                return -1

        self._updater_func = _UPDATER(call)
        check_call(LIB.mx_kvstore_set_updater(self.handle, self._updater_func, None))

    set_updater = _set_updater

    def _raise_updater_error(self):
        if self._updater_error is not None:
            e, self._updater_error = self._updater_error, None
            raise e

    def set_optimizer(self, optimizer):
        """local / device / dist_sync: the optimizer runs here through an Updater (MXNet's behaviour);
        dist_async: its hyper-parameters go to the servers, which apply it to every push."""
        from . import optimizer as opt_mod
        if "async" not in self._type:
            self._set_updater(opt_mod.get_updater(optimizer))
            return
        name, params = _server_optimizer(optimizer)
        keys = [k.encode() for k in params]
        vals = [str(v).encode() for v in params.values()]
        check_call(LIB.mx_kvstore_set_optimizer(self.handle, c_str(name), len(keys), _c_keys(keys), _c_keys(vals)))
        self._updater = None

    def set_gradient_compression(self, compression_params):
        params = dict(compression_params)
        kind = params.pop("type", None)
        if kind is None:
            raise MXNetError("kvstore set_gradient_compression: 'type' is required ('2bit' or 'none')")
        threshold = float(params.pop("threshold", 0.5))
        if params:
            raise MXNetError("kvstore set_gradient_compression: unknown parameters %s" % ", ".join(sorted(params)))
        check_call(LIB.mx_kvstore_set_gradient_compression(self.handle, c_str(kind), ctypes.c_double(threshold)))

    def save_optimizer_states(self, fname, dump_optimizer=False):
        if self._updater is not None and hasattr(self._updater, "get_states"):
            from .model import _atomic_write
            _atomic_write(fname, self._updater.get_states(dump_optimizer))
        else:
            check_call(LIB.mx_kvstore_save_optimizer_states(self.handle, c_str(fname)))

    def load_optimizer_states(self, fname):
        if self._updater is not None and hasattr(self._updater, "set_states"):
            with open(fname, "rb") as f:
                self._updater.set_states(f.read())
        else:
            check_call(LIB.mx_kvstore_load_optimizer_states(self.handle, c_str(fname)))


def _server_optimizer(optimizer):
    """(name, params) of the store-side optimizer equal to a Python one (SGD or Adam, constant lr)."""
    from . import optimizer as opt_mod
    if isinstance(optimizer, str):
        optimizer = opt_mod.create(optimizer)
    if optimizer.lr_scheduler is not None:
        raise MXNetError("kvstore dist_async: an lr_scheduler cannot run on the servers; use a constant learning rate")
    params = {"learning_rate": optimizer.lr, "wd": optimizer.wd, "rescale_grad": optimizer.rescale_grad,
              "clip_gradient": -1.0 if optimizer.clip_gradient is None else optimizer.clip_gradient}
    if isinstance(optimizer, opt_mod.SGD):
        params["momentum"] = optimizer.momentum
        return "sgd", params
    if isinstance(optimizer, opt_mod.Adam):
        params.update(beta1=optimizer.beta1, beta2=optimizer.beta2, epsilon=optimizer.epsilon)
        return "adam", params
    raise MXNetError("kvstore dist_async: the servers run sgd and adam; %s is not supported there"
                     % type(optimizer).__name__)


def create(name="local"):
    """A new KVStore of type name (local, device, dist_sync, dist_async, dist_device_sync, nccl)."""
    if not isinstance(name, str):
        raise TypeError("mx.kv.create: type must be a str")
    h = _handle()
    check_call(LIB.mx_kvstore_create(c_str(name), ctypes.byref(h)))
    return KVStore(h, name)


def _is_server_process():
    """Whether the launcher started this process as a dist_async server (world rank >= workers)."""
    servers = int(os.environ.get("MX_NUM_SERVERS", "0") or 0)
    if servers <= 0:
        return False
    rank = os.environ.get("OMPI_COMM_WORLD_RANK", os.environ.get("PMI_RANK"))
    workers = os.environ.get("MX_NUM_WORKERS")
    return rank is not None and workers is not None and int(rank) >= int(workers)


def _run_server_and_exit():
    """What `import mx` does in a server process (as MXNet's import does with DMLC_ROLE=server)."""
    import sys
    ret = LIB.mx_kvstore_run_server()
    if ret != 0:
        sys.stderr.write("mx kvstore server: %s\n" % LIB.mx_get_last_error().decode("utf-8", "replace"))
        sys.stderr.flush()
        os._exit(1)
    sys.exit(0)
