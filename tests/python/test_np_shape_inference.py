"""mx.util.np_shape in symbolic shape inference: MXNet's numpy encoding (-1 for an unknown dimension,
None for an unknown shape) instead of the legacy one (0 and ()). Expected shapes worked out by hand."""
import warnings

import pytest

import mx


def _fc():
    return mx.sym.FullyConnected(mx.sym.Variable("x"), num_hidden=5, name="fc")


def test_legacy_encoding_is_the_default():
    assert not mx.util.is_np_shape()
    arg, out, _ = _fc().infer_shape_partial(x=(0, 10))
    assert arg == [(0, 10), (5, 10), (5,)] and out == [(0, 5)]
    arg, out, _ = mx.sym.Variable("y").__add__(1).infer_shape_partial()
    assert arg == [()] and out == [()]


def test_np_shape_reads_minus_one_as_unknown_and_reports_minus_one():
    with mx.util.np_shape(True):
        arg, out, aux = _fc().infer_shape_partial(x=(-1, 10))
        assert arg == [(-1, 10), (5, 10), (5,)] and out == [(-1, 5)] and aux == []
        # nothing known of y: None, not ()
        arg, out, _ = (mx.sym.Variable("y") + 1).infer_shape_partial()
        assert arg == [None] and out == [None]
        # complete shapes are unchanged
        arg, out, _ = _fc().infer_shape(x=(3, 10))
        assert out == [(3, 5)]
    assert not mx.util.is_np_shape()


def test_np_shape_infer_shape_warning_uses_the_numpy_form():
    with mx.util.np_shape(True), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _fc().infer_shape(x=(-1, 10)) == (None, None, None)
    text = str(caught[-1].message)
    assert "-1s in shape" in text and "x: (-1, 10)" in text


def test_np_shape_zero_size_dims_are_refused_with_a_clear_error():
    with mx.util.np_shape(True):
        with pytest.raises(mx.MXNetError, match=r"infer_shape_partial: argument 'x' has shape \(0, 10\).*zero-size"):
            _fc().infer_shape_partial(x=(0, 10))
