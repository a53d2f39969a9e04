"""mx.random: the seed of every device's generator, and MXNet's sampling functions
(mx.random.uniform, normal, gamma, ...: those of mx.nd.random)."""
import ctypes
import numbers

from .base import LIB, MXNetError, check_call
from .context import Context, num_gpus
from .ndarray_random import (uniform, normal, randn, exponential, poisson, gamma, negative_binomial,  # noqa: F401
                             generalized_negative_binomial, randint, multinomial, shuffle)


def seed(seed_state, ctx="all"):
    """Seeds the random generators, as MXNet's mx.random.seed(seed_state, ctx='all').

    ctx is 'all' or a Context (mx.cpu(0), mx.gpu(1), ...). mx's C API keeps one seed for every
    device (mx_random_seed; the same seed gives the same samples on every device), so seeding one
    context reseeds every device: the context's own sequence is reproducible as in MXNet, but
    other devices are reset too. A context that does not exist (a gpu beyond num_gpus()) is an
    MXNetError, as MXNet refuses to seed it."""
    if isinstance(seed_state, bool) or not isinstance(seed_state, numbers.Integral):
        raise ValueError("seed: seed_state must be an int, got %s %r" % (type(seed_state).__name__, seed_state))
    if isinstance(ctx, str) and ctx == "all":
        pass
    elif isinstance(ctx, Context):
        if ctx.device_type == "gpu" and ctx.device_id >= num_gpus():
            raise MXNetError("seed: cannot seed %r: no such GPU (num_gpus() is %d)" % (ctx, num_gpus()))
    else:
        raise ValueError("seed: ctx must be 'all' or a Context, got %r" % (ctx,))
    check_call(LIB.mx_random_seed(ctypes.c_uint64(int(seed_state) & 0xFFFFFFFFFFFFFFFF)))
