"""mx.callback: what Module.fit calls after each batch (Speedometer, ProgressBar) or epoch
(do_checkpoint, module_checkpoint, log_train_metric). Checkpoint files are replaced atomically
(see mx.model)."""
import logging
import sys
import time

from .model import save_checkpoint


def do_checkpoint(prefix, period=1):
    """An epoch-end callback saving prefix-symbol.json and prefix-%04d.params every `period` epochs."""
    period = int(max(1, period))

    def _callback(iter_no, sym, arg, aux):
        if (iter_no + 1) % period == 0:
            save_checkpoint(prefix, iter_no + 1, sym, arg, aux)
    return _callback


def module_checkpoint(mod, prefix, period=1, save_optimizer_states=False):
    """An epoch-end callback saving mod's checkpoint (symbol, params and, if asked, optimizer
    states) every `period` epochs. The states go first: once prefix-%04d.params exists (what a
    resume looks for), the whole checkpoint does."""
    period = int(max(1, period))

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            if save_optimizer_states:
                mod.save_optimizer_states("%s-%04d.states" % (prefix, iter_no + 1))
            mod.save_checkpoint(prefix, iter_no + 1)
    return _callback


def log_train_metric(period, auto_reset=False):
    def _callback(param):
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                logging.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch, name, value)
            if auto_reset:
                param.eval_metric.reset_local()
    return _callback


class Speedometer:
    """Logs samples/s (and the training metric) every `frequent` batches."""

    def __init__(self, batch_size, frequent=50, auto_reset=True):
        self.batch_size, self.frequent, self.auto_reset = batch_size, frequent, auto_reset
        self.init = False
        self.tic = 0
        self.last_count = 0

    def __call__(self, param):
        count = param.nbatch
        if self.last_count > count:
            self.init = False
        self.last_count = count
        if not self.init:
            self.init = True
            self.tic = time.time()
            return
        if count % self.frequent == 0:
            speed = self.frequent * self.batch_size / max(time.time() - self.tic, 1e-9)
            msg = "Epoch[%d] Batch [%d]\tSpeed: %.2f samples/sec" % (param.epoch, count, speed)
            if param.eval_metric is not None:
                pairs = param.eval_metric.get_name_value()
                if self.auto_reset:
                    param.eval_metric.reset_local()
                msg += "".join("\t%s=%f" % nv for nv in pairs)
            logging.info(msg)
            self.tic = time.time()


class ProgressBar:
    """A one-line bar per epoch on stderr: [=====>    ] batch/total, samples/s, the metric."""

    def __init__(self, total, length=40, batch_size=None, stream=None):
        self.total, self.length, self.batch_size = max(1, total), length, batch_size
        self.stream = stream or sys.stderr
        self.tic = None
        self.epoch = None

    def __call__(self, param):
        if self.epoch != param.epoch or self.tic is None or param.nbatch == 0:
            self.epoch, self.tic = param.epoch, time.time()
        done = param.nbatch + 1
        filled = min(self.length, int(round(self.length * done / self.total)))
        bar = "=" * filled + (">" if filled < self.length else "") + " " * (self.length - filled - 1)
        line = "Epoch %d [%s] %d/%d" % (param.epoch, bar[:self.length], done, self.total)
        if self.batch_size:
            line += "  %.0f samples/s" % (done * self.batch_size / max(time.time() - self.tic, 1e-9))
        if param.eval_metric is not None:
            line += "".join("  %s %.4f" % nv for nv in param.eval_metric.get_name_value())
        last = done >= self.total
        if self.stream.isatty():
            self.stream.write("\r" + line + ("\n" if last else ""))
        elif last or done % max(1, self.total // 4) == 0:
            self.stream.write(line + "\n")  # a log file gets a few whole lines instead
        else:
            return
        self.stream.flush()
