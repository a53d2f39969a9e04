"""mx.util: MXNet 1.x's numpy-shape switch (np_shape, use_np_shape, is_np_shape, set_np_shape).

In MXNet, "numpy shape semantics" let 0 mean a zero-size dimension and () a scalar instead of
"unknown". Like MXNet the switch is off by default and kept per thread. In mx it changes symbolic
shape inference's encoding (Symbol.infer_shape / infer_shape_partial: -1 for an unknown dimension,
None for an unknown shape; zero-size dimensions there are refused with a clear error for now).
Arrays are numpy-like either way (() scalars and zero-size arrays exist), and ops keep MXNet's
legacy output shapes (a full reduction gives (1,))."""
import contextlib
import functools
import inspect
import threading

__all__ = ["np_shape", "use_np_shape", "is_np_shape", "set_np_shape"]

_state = threading.local()  # .active: this thread's switch (absent = off, MXNet's default)


def is_np_shape():
    """True when numpy shape semantics are switched on in this thread (default False)."""
    return getattr(_state, "active", False)


def set_np_shape(active):
    """Switches numpy shape semantics on or off for this thread; returns the previous state (a bool),
    as MXNet's mx.util.set_np_shape (what it changes: see the module docstring)."""
    if not isinstance(active, (bool, int)):
        raise TypeError("set_np_shape: active must be a bool, got %s %r" % (type(active).__name__, active))
    previous = is_np_shape()
    _state.active = bool(active)
    return previous


class _NumpyShapeScope(contextlib.ContextDecorator):
    """`with np_shape(active):` sets the switch for the block and restores it on exit; usable as a
    decorator too (@np_shape(True))."""

    def __init__(self, active=True):
        self._enter_state = bool(active)
        self._prev = []  # a stack, so one scope object can be re-entered (as a decorator it is)

    def __enter__(self):
        self._prev.append(set_np_shape(self._enter_state))
        return self

    def __exit__(self, *exc):
        set_np_shape(self._prev.pop())
        return False


def np_shape(active=True):
    """A scope (context manager / decorator) with numpy shape semantics on (or off for active=False)."""
    return _NumpyShapeScope(active)


def use_np_shape(func):
    """Decorator running func (or every method of a class) with numpy shape semantics on, as MXNet's."""
    if inspect.isclass(func):
        for name, member in list(vars(func).items()):
            if inspect.isfunction(member):
                setattr(func, name, use_np_shape(member))
        return func
    if callable(func):
        @functools.wraps(func)
        def _with_np_shape(*args, **kwargs):
            with np_shape(active=True):
                return func(*args, **kwargs)
        return _with_np_shape
    raise TypeError("use_np_shape can only decorate classes and callable objects, got %s" % type(func).__name__)
