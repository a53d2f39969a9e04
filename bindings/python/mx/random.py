"""mx.random: the seed of every device's generator."""
import ctypes

from .base import LIB, check_call


def seed(seed_state):
    check_call(LIB.mx_random_seed(ctypes.c_uint64(int(seed_state))))
