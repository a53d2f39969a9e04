"""mx.random: the seed of every device's generator, and MXNet's sampling functions
(mx.random.uniform, normal, gamma, ...: those of mx.nd.random)."""
import ctypes
import numbers

from .base import LIB, check_call
from .context import Context
from .ndarray_random import (uniform, normal, randn, exponential, poisson, gamma, negative_binomial,  # noqa: F401
                             generalized_negative_binomial, randint, multinomial, shuffle)


def seed(seed_state, ctx="all"):
    """Seeds the random generators, as MXNet's mx.random.seed(seed_state, ctx='all').

    ctx is 'all' (every device, mx_random_seed) or a Context (mx.cpu(0), mx.gpu(1), ...): then only
    that device's generator is seeded and rewound (mx_random_seed_device), and the other devices go
    on with their own sequences. The same seed gives the same samples on every device. A context
    that does not exist (a gpu beyond num_gpus(), a cpu id past the CPU backend's devices) is an
    MXNetError naming it, as MXNet refuses to seed it."""
    if isinstance(seed_state, bool) or not isinstance(seed_state, numbers.Integral):
        raise ValueError("seed: seed_state must be an int, got %s %r" % (type(seed_state).__name__, seed_state))
    value = ctypes.c_uint64(int(seed_state) & 0xFFFFFFFFFFFFFFFF)
    if isinstance(ctx, str) and ctx == "all":
        check_call(LIB.mx_random_seed(value))
    elif isinstance(ctx, Context):
        check_call(LIB.mx_random_seed_device(ctypes.c_int32(ctx.device_typeid), ctypes.c_int32(ctx.device_id), value))
    else:
        raise ValueError("seed: ctx must be 'all' or a Context, got %r" % (ctx,))
