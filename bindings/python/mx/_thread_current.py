"""A class attribute `current` kept per thread, as MXNet's NameManager.current and AttrScope.current."""
import threading


class ThreadCurrent(type):
    """Metaclass: cls.current is this thread's current instance, a default instance of the root
    class until one is set; subclasses (Prefix of NameManager) share their root's slot."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        if not any(isinstance(b, ThreadCurrent) for b in bases):
            cls._current_root, cls._current_slot = cls, threading.local()

    @property
    def current(cls):
        slot = cls._current_slot
        if not hasattr(slot, "value"):
            slot.value = cls._current_root()
        return slot.value

    @current.setter
    def current(cls, value):
        cls._current_slot.value = value
