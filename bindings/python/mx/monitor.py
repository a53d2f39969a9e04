"""mx.monitor (mx.mon): statistics of every node's output while a network runs, as MXNet 1.9.1's
python/mxnet/monitor.py.

    mon = mx.mon.Monitor(100, pattern=".*weight|.*output")  # every 100th batch
    mod.fit(train_iter, num_epoch=1, monitor=mon)          # logs 'Batch: ... name stat'

install(exe) sets the executor's monitor callback; tic() before a batch starts collecting on every
`interval`-th call; toc() after the batch returns [(step, name, stat string)]: the stat of each
node output seen (and, at toc, of each argument and auxiliary state) whose name matches `pattern`
(re.match, from the start). stat_func(NDArray) -> NDArray or list of NDArrays; the default is
norm(x) / sqrt(x.size), the root mean square."""
import logging
import re
from math import sqrt

from . import ndarray
from .base import py_str
from .ndarray import NDArray


class Monitor:
    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        if stat_func is None:
            def asum_stat(x):
                """norm(x) / sqrt(x.size), pushed asynchronously."""
                return ndarray.norm(x) / sqrt(x.size)
            stat_func = asum_stat
        self.stat_func = stat_func
        self.interval = interval
        self.activated = False
        self.queue = []
        self.step = 0
        self.exes = []
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all

        def stat_helper(name, array):
            # The handle is ours (a copy the executor made): the NDArray frees it. The stat op is
            # pushed now; its value is read at toc().
            array = NDArray(array, writable=False)
            name = py_str(name)
            if not self.activated or not self.re_prog.match(name):
                return
            self.queue.append((self.step, name, self.stat_func(array)))
        self.stat_helper = stat_helper

    def install(self, exe):
        """Collects from executor exe (any number of executors may be installed)."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def _wait_for_arrays(self):
        for exe in self.exes:
            for array in exe.arg_arrays + exe.aux_arrays:
                array.wait_to_read()

    def tic(self):
        """Before a batch: starts collecting if this is an `interval`-th batch."""
        if self.step % self.interval == 0:
            self._wait_for_arrays()
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """After a batch: [(step, name, stat)] collected since tic (empty when not activated),
        the arguments' and auxiliary states' stats added; sorted by name if sort."""
        if not self.activated:
            return []
        self._wait_for_arrays()
        for exe in self.exes:
            named = list(zip(exe._symbol.list_arguments(), exe.arg_arrays))
            named += list(zip(exe._symbol.list_auxiliary_states(), exe.aux_arrays))
            for name, array in named:
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda x: x[1])
        res = []
        for n, k, v_list in self.queue:
            if isinstance(v_list, NDArray):
                v_list = [v_list]
            if not isinstance(v_list, list) or not all(isinstance(v, NDArray) for v in v_list):
                raise TypeError("Monitor: stat_func must return an NDArray or a list of NDArrays, got %r"
                                % (v_list,))
            s = ""
            for v in v_list:
                s += (str(v.asscalar()) if v.shape == (1,) else str(v.asnumpy())) + "\t"
            res.append((n, k, s))
        self.queue = []
        return res

    def toc_print(self):
        """toc(), each entry logged as MXNet does."""
        for n, k, v in self.toc():
            logging.info("Batch: {:7d} {:30s} {:s}".format(n, k, v))
