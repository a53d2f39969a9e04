"""mx.profiler: MXNet 1.x's profiler over the core's (core/profiler, mx_profiler_* in c_api.h).

    mx.profiler.set_config(profile_all=True, aggregate_stats=True, filename='profile.json')
    mx.profiler.set_state('run')
    ...                                  # engine ops, memory, kvstore and data-iterator events
    mx.profiler.set_state('stop')
    mx.profiler.dump()                   # Chrome trace: chrome://tracing or ui.perfetto.dev
    print(mx.profiler.dumps())           # MXNet's aggregate table

One profiler per process; every function is thread-safe. Only the 'worker' process is profiled
(profile_process='server' is refused: servers run their own process)."""
import ctypes
import threading

from .base import LIB, MXNetError, MXNetValueError, check_call, c_str

__all__ = ["set_config", "set_state", "state", "pause", "resume", "dump", "dumps", "Domain", "Task", "Frame",
           "Event", "Counter", "Marker", "profiler_set_config", "profiler_set_state", "dump_profile"]

_STATES = {"stop": 0, "run": 1}
_SORT_BY = ("total", "avg", "min", "max", "count")


def _check_process(profile_process):
    if profile_process != "worker":
        raise MXNetValueError("profiler: profile_process must be 'worker' (server processes are not profiled), "
                              "got %r" % (profile_process,))


def set_config(**kwargs):
    """Sets the profiler's configuration (MXNet's keys; each call starts from the defaults):

    profile_all (False): everything below. profile_symbolic (True), profile_imperative (True):
    engine ops of bound executors and of imperative calls (mx records both together).
    profile_memory (True): storage alloc/free as a per-device counter of bytes in use.
    profile_api (True): kvstore calls and data iterators (also recorded with either op key).
    aggregate_stats (False): keep statistics for dumps(). filename ('profile.json'): where dump()
    writes. continuous_dump, dump_period, profile_process='worker': accepted, without effect
    (every dump writes a complete file). An unknown key or a bad value raises MXNetError naming it."""
    profile_process = kwargs.pop("profile_process", "worker")
    _check_process(profile_process)
    keys = [c_str(k) for k in kwargs]
    vals = [c_str(str(v)) for v in kwargs.values()]
    n = len(keys)
    check_call(LIB.mx_profiler_set_config(ctypes.c_int32(n), (ctypes.c_char_p * n)(*keys),
                                          (ctypes.c_char_p * n)(*vals)))


def set_state(state="stop", profile_process="worker"):
    """'run' starts recording; 'stop' stops it and keeps the events until dump()."""
    _check_process(profile_process)
    if state not in _STATES:
        raise MXNetValueError("profiler.set_state: state must be 'run' or 'stop', got %r" % (state,))
    check_call(LIB.mx_profiler_set_state(ctypes.c_int32(_STATES[state])))


def state():
    """'run' or 'stop' (a paused profiler is still 'run')."""
    run = ctypes.c_int32()
    check_call(LIB.mx_profiler_get_state(ctypes.byref(run), None))
    return "run" if run.value else "stop"


def pause(profile_process="worker"):
    """Suspends recording; the state stays 'run'."""
    _check_process(profile_process)
    check_call(LIB.mx_profiler_pause(ctypes.c_int32(1)))


def resume(profile_process="worker"):
    """Resumes recording after pause()."""
    _check_process(profile_process)
    check_call(LIB.mx_profiler_pause(ctypes.c_int32(0)))


def dump(finished=True, profile_process="worker"):
    """Writes the recorded events to the configured filename as Chrome trace JSON, atomically.
    finished=True consumes them (a later dump holds only newer events); False keeps them for the
    next dump too. Raises MXNetError naming the file when it cannot be written."""
    _check_process(profile_process)
    check_call(LIB.mx_profiler_dump(ctypes.c_int32(1 if finished else 0)))


def dumps(reset=False, format="table", sort_by="total", ascending=False):
    """MXNet's aggregate statistics (needs set_config(aggregate_stats=True)): per category and
    name, Total Count and Time / Min / Max / Avg (ms); per device the memory in use (kB).
    format 'table' or 'json'; sort_by 'total', 'avg', 'min', 'max' or 'count'; reset clears the
    statistics afterwards."""
    if format not in ("table", "json"):
        raise MXNetValueError("profiler.dumps: format must be 'table' or 'json', got %r" % (format,))
    if sort_by not in _SORT_BY:
        raise MXNetValueError("profiler.dumps: sort_by must be one of %s, got %r" % (", ".join(_SORT_BY), sort_by))
    out = ctypes.c_char_p()
    check_call(LIB.mx_profiler_dumps(ctypes.c_int32(1 if reset else 0), c_str(format), c_str(sort_by),
                                     ctypes.c_int32(1 if ascending else 0), ctypes.byref(out)))
    return out.value.decode("utf-8", "replace")


# MXNet's deprecated spellings.
def profiler_set_config(mode="symbolic", filename="profile.json"):
    """Deprecated (MXNet 1.x): mode 'symbolic' or 'all'."""
    if mode not in ("symbolic", "all"):
        raise MXNetValueError("profiler_set_config: mode must be 'symbolic' or 'all', got %r" % (mode,))
    set_config(profile_symbolic=True, profile_imperative=mode == "all", profile_memory=mode == "all",
               profile_api=mode == "all", filename=filename)


def profiler_set_state(state="stop"):
    """Deprecated: set_state."""
    set_state(state)


def dump_profile():
    """Deprecated: dump(True)."""
    dump(True)


def _clock_ns():
    out = ctypes.c_uint64()
    check_call(LIB.mx_profiler_clock_ns(ctypes.byref(out)))
    return out.value


class Domain:
    """A named group of user events: the trace's category and the aggregate table's section."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise MXNetValueError("profiler.Domain: name must be a string, got %r" % (name,))
        self.name = name

    def new_task(self, name):
        return Task(self, name)

    def new_frame(self, name):
        return Frame(self, name)

    def new_counter(self, name, value=None):
        return Counter(self, name, value)

    def new_marker(self, name):
        return Marker(self, name)

    def __str__(self):
        return self.name


class _Span:
    """start() ... stop() recorded as one span of the thread that calls stop()."""
    _kind = "span"

    def __init__(self, domain, name):
        if not isinstance(domain, Domain):
            raise MXNetValueError("profiler.%s %r: domain must be a profiler.Domain, got %r"
                                  % (type(self).__name__, name, domain))
        self.domain, self.name = domain, name
        self._begin = None

    def start(self):
        self._begin = _clock_ns()

    def stop(self):
        if self._begin is None:
            raise MXNetError("profiler.%s '%s': stop() without start()" % (type(self).__name__, self.name))
        begin, self._begin = self._begin, None
        check_call(LIB.mx_profiler_record_span(c_str(self.domain.name), c_str(self.name), ctypes.c_uint64(begin),
                                               ctypes.c_uint64(_clock_ns())))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def __str__(self):
        return self.name


class Task(_Span):
    """A span of work in a domain (profiler.Task(domain, name); start() / stop())."""


class Frame(_Span):
    """A frame (one iteration, say) in a domain; start() / stop()."""


class Event(_Span):
    """A named span outside any domain (recorded in the domain 'event'); start() / stop()."""

    def __init__(self, name):
        super().__init__(Domain("event"), name)


class Counter:
    """A value over time in a domain: set_value / increment / decrement (and += / -=)."""

    def __init__(self, domain, name, value=None):
        if not isinstance(domain, Domain):
            raise MXNetValueError("profiler.Counter %r: domain must be a profiler.Domain, got %r" % (name, domain))
        self.domain, self.name = domain, name
        self._value = 0
        self._lock = threading.Lock()
        if value is not None:
            self.set_value(value)

    def _record(self):
        check_call(LIB.mx_profiler_record_counter(c_str(self.domain.name), c_str(self.name),
                                                  ctypes.c_int64(self._value)))

    def set_value(self, value):
        with self._lock:
            self._value = int(value)
            self._record()

    def increment(self, delta=1):
        with self._lock:
            self._value += int(delta)
            self._record()

    def decrement(self, delta=1):
        self.increment(-int(delta))

    def __iadd__(self, delta):
        self.increment(delta)
        return self

    def __isub__(self, delta):
        self.decrement(delta)
        return self

    def __str__(self):
        return self.name


class Marker:
    """An instant in a domain: mark(scope) with scope 'global', 'process' or 'thread'."""

    def __init__(self, domain, name):
        if not isinstance(domain, Domain):
            raise MXNetValueError("profiler.Marker %r: domain must be a profiler.Domain, got %r" % (name, domain))
        self.domain, self.name = domain, name

    def mark(self, scope="process"):
        check_call(LIB.mx_profiler_record_marker(c_str(self.domain.name), c_str(self.name), c_str(scope)))
