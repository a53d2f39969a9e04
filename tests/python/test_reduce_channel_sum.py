"""sum / mean over the outer and inner axes keeping a middle block (reduce.cc's (R1, K, R2) path,
a bias gradient) against numpy's float64 sum over the same axes: many shapes, exclude=True with
other axes, keepdims, size-1 and empty dims, float32 / float64 / float16 / int32, and runs whose
length is not a multiple of the 16 vector lanes."""
import warnings

import numpy as np
import pytest

import mx

RNG = np.random.default_rng(7)

# (shape, axis, exclude)
CASES = [
    ((128, 20, 24, 24), (1,), True),  # LeNet conv1's bias gradient
    ((128, 50, 8, 8), (1,), True),
    ((3, 5, 7), (1,), True),  # runs of 7 < 16 lanes
    ((2, 3, 17), (1,), True),  # 16 lanes and a tail of 1
    ((4, 1, 3, 33), (1,), True),  # a size-1 kept axis next to the reduced ones
    ((2, 3, 4, 5), (1, 2), True),  # two kept axes form one block
    ((2, 3, 4, 5), (0, 3), False),  # the same without exclude
    ((6, 4, 1, 9), (0, 2, 3), False),
    ((1, 7, 40), (1,), True),  # one leading run: the (A, R, B) path
    ((2, 3, 4, 5, 6), (1, 3), True),  # reduced blocks in between: the general path
    ((0, 3, 4), (1,), True),  # empty reduced dim
    ((2, 0, 4), (1,), True),  # empty kept dim
    ((128, 500), (0,), False),  # FullyConnected's bias gradient
]


@pytest.mark.parametrize("shape,axis,exclude", CASES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int32"])
def test_sum_keeping_a_middle_block_matches_numpy(shape, axis, exclude, keepdims, op, dtype):
    if op == "mean" and dtype == "int32":
        pytest.skip("integer mean truncates")
    x = RNG.uniform(-4, 4, shape)
    if dtype == "int32":
        x = np.floor(x)
    x = x.astype(dtype).astype(np.float64)
    np_axes = tuple(d for d in range(len(shape)) if (d in axis) != exclude)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of an empty slice is NaN, as ours
        want = getattr(np, op)(x, axis=np_axes, keepdims=keepdims)
    got = getattr(mx.nd, op)(mx.nd.array(x, dtype=dtype), axis=axis, exclude=exclude, keepdims=keepdims).asnumpy()
    assert got.shape == want.shape and got.dtype == np.dtype(dtype)
    rtol = {"float32": 1e-6, "float64": 1e-13, "float16": 1e-3, "int32": 0}[dtype]
    np.testing.assert_allclose(got.astype(np.float64), want.astype(dtype).astype(np.float64), rtol=rtol,
                               atol=rtol * np.sqrt(max(x.size, 1)))


def test_sum_to_like_keeping_channels_matches_numpy():
    x = RNG.uniform(-1, 1, (6, 5, 19)).astype(np.float32)
    like = mx.nd.zeros((1, 5, 1))
    got = mx.nd._sum_to_like(mx.nd.array(x), like).asnumpy()
    np.testing.assert_allclose(got, x.astype(np.float64).sum(axis=(0, 2), keepdims=True), rtol=1e-6)


def test_result_does_not_depend_on_the_thread_count():
    x = mx.nd.array(RNG.uniform(-1, 1, (64, 20, 24, 24)).astype(np.float32))
    want = mx.nd.sum(x, axis=1, exclude=True).asnumpy()
    for _ in range(3):
        np.testing.assert_array_equal(mx.nd.sum(x, axis=1, exclude=True).asnumpy(), want)
