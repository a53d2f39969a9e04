"""The generated op functions and _ops.invoke cache the encoded attribute strings per attribute
tuple: repeated calls with different values, equal-looking values of different types, and mutated
lists must still give what numpy computes."""
import numpy as np
import pytest

import mx
from mx import _ops


def _x():
    return np.arange(-6, 6, dtype=np.float32).reshape(3, 4) / 4.0


def test_different_values_each_call():
    x = _x()
    a = mx.nd.array(x)
    for lo, hi in [(0.0, 1.0), (-0.5, 0.25), (0.0, 1.0), (-1.0, -0.5)]:
        np.testing.assert_allclose(mx.nd.clip(a, a_min=lo, a_max=hi).asnumpy(), np.clip(x, lo, hi))
    for s in [1.0, 2.5, 1.0, -3.0]:
        np.testing.assert_allclose(mx.nd._mul_scalar(a, scalar=s).asnumpy(), x * s)
        np.testing.assert_allclose(_ops.invoke("_plus_scalar", [a], {"scalar": s}).asnumpy(), x + s)


def test_int_float_bool_are_distinct():
    x = _x()
    a = mx.nd.array(x)
    # keepdims: True vs 1 vs 1.0 all mean "keep"; axis 1 vs True must not collide with (1,)
    for keep in (True, 1, False, 0):
        out = mx.nd.sum(a, axis=1, keepdims=keep).asnumpy()
        np.testing.assert_allclose(out, x.sum(axis=1, keepdims=bool(keep)), rtol=1e-6)
    # 1 and 1.0 and True hash alike; their strings differ ("1", "1.0", "True")
    assert _ops._attr_key({"v": 1}) != _ops._attr_key({"v": 1.0})
    assert _ops._attr_key({"v": 1}) != _ops._attr_key({"v": True})
    assert _ops._attr_key({"v": 0.0}) != _ops._attr_key({"v": -0.0})
    for s in (2, 2.0, 1, 1.0):
        np.testing.assert_allclose(mx.nd._mul_scalar(a, scalar=s).asnumpy(), x * float(s))
    # a cached 1 must not make True (which MXNet's attribute parser refuses for a number) pass
    with pytest.raises(mx.base.MXNetError, match="True"):
        mx.nd._mul_scalar(a, scalar=True)
    np.testing.assert_allclose(mx.nd._mul_scalar(a, scalar=1).asnumpy(), x)


def test_tuple_and_list_shapes():
    x = np.arange(24, dtype=np.float32)
    a = mx.nd.array(x)
    for shape in [(2, 12), [2, 12], (4, 6), [4, 6], (24,), [24], (2, 3, 4)]:
        np.testing.assert_array_equal(mx.nd.reshape(a, shape=shape).asnumpy(), x.reshape(shape))
    b = mx.nd.array(x.reshape(2, 12))
    for axes in [(1, 0), [1, 0], (0, 1)]:
        np.testing.assert_array_equal(mx.nd.transpose(b, axes=axes).asnumpy(), x.reshape(2, 12).transpose(axes))
    # an int where a shape goes is (n,), cached apart from the tuple
    np.testing.assert_array_equal(mx.nd.reshape(a, shape=24).asnumpy(), x)
    np.testing.assert_array_equal(mx.nd.reshape(a, shape=(24,)).asnumpy(), x)


def test_mutated_list_does_not_leak():
    x = np.arange(24, dtype=np.float32)
    a = mx.nd.array(x)
    shape = [4, 6]
    np.testing.assert_array_equal(mx.nd.reshape(a, shape=shape).asnumpy(), x.reshape(4, 6))
    shape[0], shape[1] = 3, 8
    np.testing.assert_array_equal(mx.nd.reshape(a, shape=shape).asnumpy(), x.reshape(3, 8))
    axes = [0]
    b = mx.nd.array(x.reshape(4, 6))
    np.testing.assert_allclose(mx.nd.sum(b, axis=axes).asnumpy(), x.reshape(4, 6).sum(axis=0))
    axes[0] = 1
    np.testing.assert_allclose(mx.nd.sum(b, axis=axes).asnumpy(), x.reshape(4, 6).sum(axis=1))


def test_errors_are_not_cached():
    a = mx.nd.array(np.arange(6, dtype=np.float32))
    for _ in range(2):  # the second call must check again, not reuse a cached result
        with pytest.raises(mx.base.MXNetError):
            mx.nd.reshape(a, shape=(2, 1.5))
        with pytest.raises(mx.base.MXNetError):
            mx.nd.reshape(a, shape=(-5, 6))
        with pytest.raises(mx.base.MXNetError):
            mx.nd.reshape(a, shape=(4, 4))
    np.testing.assert_array_equal(mx.nd.reshape(a, shape=(2, 3)).asnumpy(), np.arange(6).reshape(2, 3))
    # (2.0, 3) equals and hashes as the cached (2, 3), but a float dimension is refused
    with pytest.raises(TypeError, match="2.0"):
        mx.nd.reshape(a, shape=(2.0, 3))
    with pytest.raises(TypeError):
        mx.nd.reshape(a, shape=(True, 6))


def test_none_values_and_positional_params():
    x = _x()
    a = mx.nd.array(x)
    np.testing.assert_allclose(mx.nd.sum(a, axis=None).asnumpy(), x.sum(), rtol=1e-6)
    np.testing.assert_allclose(mx.nd.sum(a, axis=0).asnumpy(), x.sum(axis=0), rtol=1e-6)
    np.testing.assert_allclose(mx.nd.clip(a, -0.5, 0.5).asnumpy(), np.clip(x, -0.5, 0.5))
    np.testing.assert_allclose(mx.nd.clip(a, np.float32(-0.25), np.float64(0.5)).asnumpy(), np.clip(x, -0.25, 0.5))


def test_outputs_and_out_argument():
    x = _x()
    a = mx.nd.array(x)
    out = mx.nd.zeros((3, 4))
    for s in (2.0, 3.0):
        assert mx.nd._mul_scalar(a, scalar=s, out=out) is out
        np.testing.assert_allclose(out.asnumpy(), x * s)
    parts = mx.nd.split(a, num_outputs=2, axis=1)
    assert len(parts) == 2
    np.testing.assert_array_equal(parts[1].asnumpy(), x[:, 2:])
    with pytest.raises(TypeError):
        mx.nd.clip(a, a_min=a, a_max=1.0)
    with pytest.raises(TypeError):
        _ops.invoke("negative", [x], {})
