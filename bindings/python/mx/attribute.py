"""mx.attribute: AttrScope, attributes given to every symbol and Variable made inside a `with`,
as MXNet 1.x's.

    with mx.AttrScope(ctx_group='dev1'):
        fc = mx.sym.FullyConnected(data, num_hidden=10)    # fc.attr('ctx_group') == 'dev1'
"""
from ._thread_current import ThreadCurrent


class AttrScope(metaclass=ThreadCurrent):
    """Attribute scope: string attributes added to symbols made while it is current. Nested scopes
    merge, the inner one's values winning."""

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError("AttrScope: attribute %r must be a string, got %r" % (key, value))
        self._old_scope = None
        self._attr = kwargs

    def get(self, attr):
        """The scope's attributes updated with `attr` (the symbol's own attributes win)."""
        if self._attr:
            merged = self._attr.copy()
            if attr:
                merged.update(attr)
            return merged
        return attr if attr else {}

    def __enter__(self):
        self._old_scope = AttrScope.current
        merged = self._old_scope._attr.copy()
        merged.update(self._attr)
        self._attr = merged
        AttrScope.current = self
        return self

    def __exit__(self, ptype, value, trace):
        AttrScope.current = self._old_scope
