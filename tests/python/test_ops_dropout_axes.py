# Dropout's `axes` (MXNet 1.x variational dropout): one keep/drop decision shared along those
# axes. Checked against numpy: the output is x times a {0, 1/(1-p)} mask of x's shape with the
# axes set to 1, broadcast; the gradient is that broadcast mask; inference is the identity.
import numpy as np
import pytest

import mx
from mx.gluon import nn


def shared_mask(x, y, axes):
    """The mask y / x, checked constant along `axes`, reduced to size 1 there."""
    ratio = y / x
    first = ratio
    for a in axes:
        first = np.take(first, [0], axis=a)
    np.testing.assert_allclose(ratio, np.broadcast_to(first, ratio.shape), rtol=1e-6)
    return first


@pytest.mark.parametrize("shape,axes", [((4, 5, 6), (1,)), ((3, 4, 5, 6), (0, 2)), ((40, 3), (1,))])
def test_dropout_mask_is_shared_along_axes_and_is_the_gradient(shape, axes):
    p = 0.5
    mx.random.seed(7)  # masks of >= 24 values: all-kept or all-dropped has odds below 2^-23
    x = mx.nd.array(np.random.RandomState(0).uniform(1.0, 2.0, shape))  # never 0: y / x is the mask
    x.attach_grad()
    with mx.autograd.record(train_mode=True):
        y = mx.nd.Dropout(x, p=p, axes=axes)
    y.backward()
    xn, yn = x.asnumpy(), y.asnumpy()
    mask = shared_mask(xn, yn, [a % len(shape) for a in axes])
    want_shape = tuple(1 if i in [a % len(shape) for a in axes] else d for i, d in enumerate(shape))
    assert mask.shape == want_shape
    assert set(np.unique(np.round(mask, 5))) <= {0.0, 2.0}
    assert 0 < (mask == 0).sum() < mask.size  # some dropped, some kept
    np.testing.assert_allclose(x.grad.asnumpy(), np.broadcast_to(mask, shape), rtol=1e-6)


def test_dropout_axes_is_identity_in_inference_and_drops_with_mode_always():
    mx.random.seed(8)
    x = mx.nd.array(np.random.RandomState(1).uniform(1.0, 2.0, (8, 3, 5)))
    np.testing.assert_array_equal(mx.nd.Dropout(x, p=0.5, axes=(1,)).asnumpy(), x.asnumpy())
    y = mx.nd.Dropout(x, p=0.5, axes=(1,), mode="always").asnumpy()
    mask = shared_mask(x.asnumpy(), y, [1])
    assert 0 < (mask == 0).sum() < mask.size


def test_gluon_dropout_axes_uses_the_op_imperative_and_hybridized():
    mx.random.seed(9)
    x = mx.nd.array(np.random.RandomState(2).uniform(1.0, 2.0, (24, 4, 5)))
    for hybridize in (False, True):
        layer = nn.Dropout(0.5, axes=(1, 2))
        if hybridize:
            layer.hybridize()
        with mx.autograd.record(train_mode=True):
            y = layer(x)
        mask = shared_mask(x.asnumpy(), y.asnumpy(), [1, 2])
        assert mask.shape == (24, 1, 1) and 0 < (mask == 0).sum() < 24
        np.testing.assert_array_equal(layer(x).asnumpy(), x.asnumpy())  # not recording: identity


def test_dropout_axes_shapes_and_errors():
    data = mx.sym.Variable("data")
    out = mx.sym.Dropout(data, p=0.3, axes=(0,))
    _, outs, _ = out.infer_shape(data=(2, 3))
    assert outs == [(2, 3)]
    with pytest.raises(mx.MXNetError) as e:
        mx.nd.Dropout(mx.nd.ones((2, 3)), p=0.5, axes=(2,)).wait_to_read()
    msg = str(e.value).replace(" ", "")
    assert "Dropout" in msg and "axes" in msg and "(2,3)" in msg
