"""mx.name: automatic names for symbols, as MXNet 1.x's NameManager and Prefix.

    with mx.name.Prefix('mynet_'):
        net = mx.sym.FullyConnected(data, num_hidden=10, name='fc1')   # mynet_fc1, mynet_fc1_weight
"""
from ._thread_current import ThreadCurrent


class NameManager(metaclass=ThreadCurrent):
    """Gives each unnamed symbol hint + a counter per hint ('fullyconnected0', 'fullyconnected1').
    Subclass it and override get() to change the naming; use it with `with` to make it current."""

    def __init__(self):
        self._counter = {}
        self._old_manager = None

    def get(self, name, hint):
        """The name to use: `name` when the user gave one, else hint followed by a counter."""
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return "%s%d" % (hint, count)

    def __enter__(self):
        self._old_manager = NameManager.current
        NameManager.current = self
        return self

    def __exit__(self, ptype, value, trace):
        NameManager.current = self._old_manager


class Prefix(NameManager):
    """A NameManager that puts `prefix` in front of every name, given or automatic."""

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)
