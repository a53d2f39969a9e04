"""mx.random: the seed of every device's generator, and MXNet's sampling functions
(mx.random.uniform, normal, gamma, ...: those of mx.nd.random)."""
import ctypes
import numbers

from .base import LIB, check_call
from .ndarray_random import (uniform, normal, randn, exponential, poisson, gamma, negative_binomial,  # noqa: F401
                             generalized_negative_binomial, randint, multinomial, shuffle)


def seed(seed_state, ctx="all"):
    """Seeds the Philox generator. mx keeps one seed for every device (samples are the same on every
    device for the same seed), so `ctx` is accepted for MXNet's signature and every device is seeded."""
    if not isinstance(seed_state, numbers.Integral):
        raise ValueError("seed_state must be an int")
    check_call(LIB.mx_random_seed(ctypes.c_uint64(int(seed_state) & 0xFFFFFFFFFFFFFFFF)))
