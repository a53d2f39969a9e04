"""mx.random.seed(seed, ctx) seeds one device only, as MXNet 1.x: that device's draws repeat after
the same seed, and every other device goes on with its own sequence. cpu(1) ... cpu(7) are logical
CPU devices with generators of their own. The expected numbers are the same calls repeated (a
device's sequence after a seed is fixed), never the implementation's internals."""
import numpy as np
import pytest

import mx


def _uniform(ctx, n=8):
    return mx.nd.random.uniform(shape=(n,), ctx=ctx).asnumpy()


def test_seeding_cpu0_repeats_its_numbers_and_leaves_cpu1_alone():
    # reference: cpu(1)'s first three draws after seeding everything, with nothing seeded between
    mx.random.seed(11)
    want_cpu1 = [_uniform(mx.cpu(1)) for _ in range(3)]

    mx.random.seed(11)
    got_cpu1 = [_uniform(mx.cpu(1))]
    mx.random.seed(1, ctx=mx.cpu(0))
    a = _uniform(mx.cpu(0))
    got_cpu1.append(_uniform(mx.cpu(1)))
    mx.random.seed(1, ctx=mx.cpu(0))
    b = _uniform(mx.cpu(0))
    got_cpu1.append(_uniform(mx.cpu(1)))

    np.testing.assert_array_equal(a, b)  # the same seed repeats cpu(0)'s numbers
    for got, want in zip(got_cpu1, want_cpu1):  # and cpu(1)'s sequence did not notice
        np.testing.assert_array_equal(got, want)
    assert ((a >= 0) & (a < 1)).all()


def test_a_device_seed_gives_the_numbers_that_seed_gives_everywhere():
    # the same seed gives the same samples on every device: seeding cpu(3) with 5 must give the
    # draws cpu(0) makes after mx.random.seed(5)
    mx.random.seed(5)
    want = [_uniform(mx.cpu(0)), _uniform(mx.cpu(0))]
    mx.random.seed(99)
    mx.random.seed(5, ctx=mx.cpu(3))
    got = [_uniform(mx.cpu(3)), _uniform(mx.cpu(3))]
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert not np.array_equal(got[0], got[1])


def test_seed_all_overrides_a_device_seed():
    mx.random.seed(3, ctx=mx.cpu(2))
    mx.random.seed(4)
    after_all = _uniform(mx.cpu(2))
    mx.random.seed(4)
    np.testing.assert_array_equal(_uniform(mx.cpu(0)), after_all)


def test_seeding_a_device_that_does_not_exist_names_it():
    with pytest.raises(mx.base.MXNetError, match=r"cpu\(4096\)"):
        mx.random.seed(1, ctx=mx.cpu(4096))
    with pytest.raises(mx.base.MXNetError, match="gpu"):
        mx.random.seed(1, ctx=mx.gpu(mx.context.num_gpus()))
