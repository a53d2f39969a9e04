"""MXNet 1.9.1's NDArray methods and semantics: fluent methods, truth values, creation checks and
out=, numpy calling the methods, and unpickling MXNet 1.x's pickles."""
import pickle
import struct

import numpy as np
import pytest

import mx
from mx import _fluent

RNG = np.random.RandomState(7)
X_NP = RNG.uniform(-2, 2, size=(3, 4)).astype(np.float32)


def _x():
    return mx.nd.array(X_NP)


# ---------------------------------------------------------------- 1. fluent methods

# method call -> numpy reference (x is the 3x4 array above)
FLUENT_CASES = {
    "abs": (lambda x: x.abs(), lambda a: np.abs(a)),
    "clip": (lambda x: x.clip(0, 1), lambda a: np.clip(a, 0, 1)),
    "sign": (lambda x: x.sign(), np.sign),
    "square": (lambda x: x.square(), np.square),
    "exp": (lambda x: x.exp(), np.exp),
    "tanh": (lambda x: x.tanh(), np.tanh),
    "floor": (lambda x: x.floor(), np.floor),
    "sum_axis": (lambda x: x.sum(axis=1), lambda a: a.sum(axis=1)),
    "sum_positional": (lambda x: x.sum(0), lambda a: a.sum(axis=0)),
    "mean": (lambda x: x.mean(), lambda a: np.array([a.mean()])),
    "max": (lambda x: x.max(axis=0, keepdims=True), lambda a: a.max(axis=0, keepdims=True)),
    "prod": (lambda x: x.prod(axis=1), lambda a: a.prod(axis=1)),
    "norm": (lambda x: x.norm(), lambda a: np.array([np.sqrt((a * a).sum())])),
    "argmin": (lambda x: x.argmin(axis=1), lambda a: a.argmin(axis=1).astype(np.float32)),
    "tile": (lambda x: x.tile(reps=(2, 1)), lambda a: np.tile(a, (2, 1))),
    "repeat": (lambda x: x.repeat(repeats=2, axis=0), lambda a: np.repeat(a, 2, axis=0)),
    "transpose": (lambda x: x.transpose(), lambda a: a.T),
    "swapaxes": (lambda x: x.swapaxes(0, 1), lambda a: np.swapaxes(a, 0, 1)),
    "flip": (lambda x: x.flip(axis=1), lambda a: a[:, ::-1]),
    "expand_dims": (lambda x: x.expand_dims(axis=0), lambda a: a[None]),
    "flatten": (lambda x: x.expand_dims(axis=2).flatten(), lambda a: a),
    "slice_axis": (lambda x: x.slice_axis(axis=1, begin=1, end=3), lambda a: a[:, 1:3]),
    "sort": (lambda x: x.sort(axis=1), lambda a: np.sort(a, axis=1)),
    "broadcast_to": (lambda x: x[0:1].broadcast_to((3, 4)), lambda a: np.broadcast_to(a[0:1], (3, 4))),
    "squeeze": (lambda x: x.expand_dims(axis=0).squeeze(), lambda a: a),
    "zeros_like": (lambda x: x.zeros_like(), np.zeros_like),
    "softmax": (lambda x: x.softmax(), lambda a: np.exp(a) / np.exp(a).sum(axis=-1, keepdims=True)),
    "shape_array": (lambda x: x.shape_array(), lambda a: np.array(a.shape)),
    "size_array": (lambda x: x.size_array(), lambda a: np.array([a.size])),
}


@pytest.mark.parametrize("case", sorted(FLUENT_CASES))
def test_fluent_method_matches_numpy(case):
    call, ref = FLUENT_CASES[case]
    out = call(_x())
    assert isinstance(out, mx.nd.NDArray)
    np.testing.assert_allclose(out.asnumpy(), ref(X_NP), rtol=1e-5, atol=1e-6)


def test_fluent_split_topk_one_hot_pick():
    x = _x()
    halves = x.split(num_outputs=2, axis=1)
    assert len(halves) == 2
    np.testing.assert_allclose(halves[1].asnumpy(), X_NP[:, 2:])
    # topk: indices of the 2 largest along the last axis, largest first (MXNet's default)
    np.testing.assert_array_equal(x.topk(k=2).asnumpy(), np.argsort(-X_NP, axis=1)[:, :2])
    idx = mx.nd.array([0, 2, 1])
    np.testing.assert_array_equal(idx.one_hot(3).asnumpy(), np.eye(3)[[0, 2, 1]])
    np.testing.assert_allclose(x.pick(idx).asnumpy(), X_NP[np.arange(3), [0, 2, 1]])


def test_every_fluent_method_exists_and_runs():
    x = _x()
    missing_ops = {m for m, op in _fluent.FLUENT.items() if not hasattr(mx.nd, op)}
    assert not missing_ops
    # methods needing arguments are covered above; the rest run with none
    needs_args = {"broadcast_axes", "broadcast_axis", "repeat", "pad", "swapaxes", "split", "slice", "slice_like",
                  "take", "one_hot", "pick", "tile", "depth_to_space", "space_to_depth", "broadcast_to",
                  "broadcast_like", "reshape_like", "split_v2", "slice_axis", "clip", "expand_dims", "flip"}
    for method in _fluent.FLUENT:
        assert callable(getattr(mx.nd.NDArray, method)), method
        if method in needs_args:
            continue
        out = getattr(x, method)()
        outs = out if isinstance(out, list) else [out]
        for o in outs:
            assert isinstance(o, mx.nd.NDArray), method
            o.asnumpy()


def test_fluent_out_and_bad_positional():
    x = _x()
    target = mx.nd.zeros((3,))
    assert x.sum(axis=1, out=target) is target
    np.testing.assert_allclose(target.asnumpy(), X_NP.sum(axis=1), rtol=1e-5)
    with pytest.raises(TypeError, match="clip"):
        x.clip(0, 1, 2)


# ---------------------------------------------------------------- 2. truth values, creation

def test_bool_as_mxnet():
    assert bool(mx.nd.array([3])) is True
    assert bool(mx.nd.array([0])) is False
    assert bool(mx.nd.zeros((0,))) is False
    assert bool(mx.nd.zeros((2, 0))) is False
    with pytest.raises(ValueError, match="The truth value of an NDArray with multiple elements is ambiguous"):
        bool(mx.nd.ones((2,)))


@pytest.mark.parametrize("create,name", [
    (lambda: mx.nd.zeros((2, -1)), "zeros"), (lambda: mx.nd.empty((2, -1)), "empty"),
    (lambda: mx.nd.ones((-3,)), "ones"), (lambda: mx.nd.full((-1, 2), 1.5), "full")])
def test_negative_dims_rejected(create, name):
    with pytest.raises(ValueError, match=r"mx\.nd\.%s: shape .*-\d" % name):
        create()


def test_creation_out():
    out = mx.nd.empty((2, 3))
    assert mx.nd.zeros((2, 3), out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.zeros((2, 3)))
    assert mx.nd.ones((2, 3), out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.ones((2, 3)))
    assert mx.nd.full((2, 3), 7, out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), np.full((2, 3), 7))
    line = mx.nd.empty((5,))
    assert mx.nd.arange(0, 5, out=line) is line
    np.testing.assert_array_equal(line.asnumpy(), np.arange(5))
    assert mx.nd.linspace(0, 1, 5, out=line) is line
    np.testing.assert_allclose(line.asnumpy(), np.linspace(0, 1, 5), rtol=1e-6)
    square = mx.nd.empty((3, 3))
    assert mx.nd.eye(3, out=square) is square
    np.testing.assert_array_equal(square.asnumpy(), np.eye(3))


# ---------------------------------------------------------------- 3. numpy calling the methods

def test_numpy_functions_call_the_methods():
    x = _x()
    # numpy calls x.argmax(axis=None, out=None): MXNet's argmax over the flattened array, an NDArray
    got = np.argmax(x)
    assert isinstance(got, mx.nd.NDArray)
    assert got.asscalar() == np.argmax(X_NP)
    got = np.argmin(x, axis=1)
    assert isinstance(got, mx.nd.NDArray)
    np.testing.assert_array_equal(got.asnumpy(), X_NP.argmin(axis=1))
    for fn in (np.sum, np.max, np.min, np.prod):
        got = fn(x)
        assert isinstance(got, mx.nd.NDArray), fn
        np.testing.assert_allclose(got.asnumpy(), [fn(X_NP)], rtol=1e-5)
    np.testing.assert_allclose(np.sum(x, axis=0).asnumpy(), X_NP.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np.clip(x, -1, 1).asnumpy(), np.clip(X_NP, -1, 1))


# ---------------------------------------------------------------- 4. MXNet 1.x pickles

def _mxnet_bytes(values, flag, magic=0xF993FAC9, dev=(1, 0)):
    """One array in NDArray::Save's layout, built here from MXNet's src/ndarray/ndarray.cc."""
    if magic is None:  # legacy: no magic, the first word is the ndim, then uint32 dims
        head = struct.pack("<I", values.ndim) + struct.pack("<%dI" % values.ndim, *values.shape)
    else:
        head = struct.pack("<I", magic)
        if magic == 0xF993FAC9:
            head += struct.pack("<i", 0)  # kDefaultStorage
        head += struct.pack("<i", values.ndim) + struct.pack("<%dq" % values.ndim, *values.shape)
    data = values.astype(values.dtype.newbyteorder("<")).tobytes()
    return head + struct.pack("<ii", *dev) + struct.pack("<i", flag) + data


def _unpickle_mxnet(raw):
    nd = mx.nd.NDArray.__new__(mx.nd.NDArray)
    nd.__setstate__({"handle": raw})
    return nd


@pytest.mark.parametrize("dtype,flag", [("float32", 0), ("float64", 1), ("float16", 2), ("uint8", 3),
                                        ("int32", 4), ("int8", 5), ("int64", 6)])
def test_unpickle_mxnet_state_dtypes(dtype, flag):
    values = (np.arange(6).reshape(2, 3) * 3 - 4).astype(dtype) if dtype != "uint8" else np.arange(6, dtype="uint8")
    nd = _unpickle_mxnet(_mxnet_bytes(values, flag))
    assert nd.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(nd.asnumpy(), values)


def test_unpickle_mxnet_state_v1_legacy_gpu_and_pickle_module():
    values = X_NP
    np.testing.assert_array_equal(_unpickle_mxnet(_mxnet_bytes(values, 0, magic=0xF993FAC8)).asnumpy(), values)
    np.testing.assert_array_equal(_unpickle_mxnet(_mxnet_bytes(values, 0, magic=None)).asnumpy(), values)
    on_gpu = _unpickle_mxnet(_mxnet_bytes(values, 0, dev=(2, 1)))  # a GPU array loads on the CPU
    assert on_gpu.context == mx.cpu()
    np.testing.assert_array_equal(on_gpu.asnumpy(), values)
    # what pickle.loads does with MXNet's pickle: NDArray.__new__ then __setstate__(dict)
    class Shim:
        def __reduce__(self):
            return (object.__new__, (mx.nd.NDArray,), {"handle": _mxnet_bytes(values, 0)})
    restored = pickle.loads(pickle.dumps(Shim()))
    assert isinstance(restored, mx.nd.NDArray)
    np.testing.assert_array_equal(restored.asnumpy(), values)


def test_unpickle_mxnet_state_bfloat16():
    values = np.array([1.0, -2.5, 0.15625], dtype=np.float32)  # exact in bfloat16
    bits = (values.view(np.uint32) >> 16).astype("<u2")
    raw = struct.pack("<Iii", 0xF993FAC9, 0, 1) + struct.pack("<q", 3) + struct.pack("<iii", 1, 0, 12) + bits.tobytes()
    nd = _unpickle_mxnet(raw)
    assert nd.dtype == "bfloat16"
    np.testing.assert_array_equal(nd.astype("float32").asnumpy(), values)


def test_unpickle_mxnet_state_errors():
    values = X_NP
    with pytest.raises(ValueError, match="more needed"):
        _unpickle_mxnet(_mxnet_bytes(values, 0)[:-4])
    sparse = struct.pack("<Ii", 0xF993FAC9, 1) + b"\0" * 64
    with pytest.raises(ValueError, match="row_sparse"):
        _unpickle_mxnet(sparse)
    with pytest.raises(ValueError, match="magic"):
        _unpickle_mxnet(struct.pack("<I", 0xDEADBEEF) + b"\0" * 64)


def test_own_pickles_still_work():
    x = _x()
    y = pickle.loads(pickle.dumps(x))
    np.testing.assert_array_equal(y.asnumpy(), X_NP)
    assert y.dtype == np.float32


def test_unpickle_mxnet_state_v3_scalar_and_unknown_shape():
    # v3 (numpy shape semantics): ndim 0 is a 0-d array; v2 ndim 0 is MXNet's "no shape"
    raw = struct.pack("<Iii", 0xF993FACA, 0, 0) + struct.pack("<iii", 1, 0, 0) + struct.pack("<f", 2.5)
    scalar = _unpickle_mxnet(raw)
    assert scalar.shape == ()
    assert scalar.asscalar() == 2.5
    with pytest.raises(ValueError, match="unknown shape"):
        _unpickle_mxnet(struct.pack("<Iii", 0xF993FAC9, 0, 0) + struct.pack("<iii", 1, 0, 0))
