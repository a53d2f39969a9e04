"""mx.lr_scheduler: the learning rate as a function of the number of updates, as in MXNet 1.9.1.

Schedulers are stateful like MXNet's: Factor/MultiFactor lower base_lr as num_update passes their
steps (a step s takes effect from update s + 1); Poly/Cosine recompute base_lr up to max_update and
keep it afterwards. Every scheduler may start with warmup_steps of a linear or constant warm-up."""
import logging
import math


class LRScheduler:
    """Base class: base_lr, and the warm-up from warmup_begin_lr to base_lr over warmup_steps."""

    def __init__(self, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        self.base_lr = base_lr
        if not isinstance(warmup_steps, int):
            raise TypeError("LRScheduler: warmup_steps must be an int, got %r" % (warmup_steps,))
        self.warmup_steps = warmup_steps
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        if self.warmup_begin_lr > self.warmup_final_lr:
            raise ValueError("LRScheduler: base_lr %r must be at least warmup_begin_lr %r"
                             % (base_lr, warmup_begin_lr))
        if self.warmup_steps < 0:
            raise ValueError("LRScheduler: warmup_steps must be 0 or positive, got %r" % (warmup_steps,))
        if warmup_mode not in ("linear", "constant"):
            raise ValueError("LRScheduler: warmup_mode must be 'linear' or 'constant', got %r" % (warmup_mode,))
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update):
        if num_update >= self.warmup_steps:
            raise ValueError("LRScheduler.get_warmup_lr: num_update %r is past warmup_steps %r"
                             % (num_update, self.warmup_steps))
        if self.warmup_mode == "linear":
            increase = (self.warmup_final_lr - self.warmup_begin_lr) * float(num_update) / float(self.warmup_steps)
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update):
        raise NotImplementedError("LRScheduler.__call__: use a subclass")


def _check_factor(cls_name, factor):
    if factor > 1.0:
        raise ValueError("%s: factor must be at most 1 to lower the lr, got %r" % (cls_name, factor))


class FactorScheduler(LRScheduler):
    """lr = base_lr * factor ** floor((num_update - 1) / step) after warm-up, never below stop_factor_lr."""

    def __init__(self, step, factor=1, stop_factor_lr=1e-8, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if step < 1:
            raise ValueError("FactorScheduler: step must be at least 1, got %r" % (step,))
        _check_factor("FactorScheduler", factor)
        self.step, self.factor, self.stop_factor_lr = step, factor, stop_factor_lr
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        # a loop, not a formula: training resumed at a later num_update catches up in one call
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info("Update[%d]: learning rate reached %0.5e and stays there", num_update, self.base_lr)
            else:
                logging.info("Update[%d]: learning rate changed to %0.5e", num_update, self.base_lr)
        return self.base_lr


class MultiFactorScheduler(LRScheduler):
    """lr = base_lr * factor ** (number of steps s in `step` with num_update > s)."""

    def __init__(self, step, factor=1, base_lr=0.01, warmup_steps=0, warmup_begin_lr=0, warmup_mode="linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, list) or not step:
            raise ValueError("MultiFactorScheduler: step must be a non-empty list, got %r" % (step,))
        for i, s in enumerate(step):
            if i and s <= step[i - 1]:
                raise ValueError("MultiFactorScheduler: step must increase, got %r" % (step,))
            if s < 1:
                raise ValueError("MultiFactorScheduler: every step must be at least 1, got %r" % (step,))
        _check_factor("MultiFactorScheduler", factor)
        self.step, self.factor = step, factor
        self.cur_step_ind = 0
        self.count = 0

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind < len(self.step) and num_update > self.step[self.cur_step_ind]:
            self.count = self.step[self.cur_step_ind]
            self.cur_step_ind += 1
            self.base_lr *= self.factor
            logging.info("Update[%d]: learning rate changed to %0.5e", num_update, self.base_lr)
        return self.base_lr


class _DecayToFinal(LRScheduler):
    """Shared by Poly and Cosine: decay from the constructor's base_lr to final_lr over max_update."""

    def __init__(self, cls_name, max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr, warmup_mode):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(max_update, int):
            raise TypeError("%s: max_update must be an int, got %r" % (cls_name, max_update))
        if max_update < 1:
            raise ValueError("%s: max_update must be at least 1, got %r" % (cls_name, max_update))
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def _decay(self, progress):
        raise NotImplementedError

    def __call__(self, num_update):
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            progress = float(num_update - self.warmup_steps) / float(self.max_steps)
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * self._decay(progress)
        return self.base_lr


class PolyScheduler(_DecayToFinal):
    """lr = final_lr + (base_lr - final_lr) * (1 - t / max_steps) ** pwr, t counted after warm-up."""

    def __init__(self, max_update, base_lr=0.01, pwr=2, final_lr=0, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode="linear"):
        super().__init__("PolyScheduler", max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        self.power = pwr

    def _decay(self, progress):
        return pow(1 - progress, self.power)


class CosineScheduler(_DecayToFinal):
    """lr = final_lr + (base_lr - final_lr) * (1 + cos(pi * t / max_steps)) / 2, t counted after warm-up."""

    def __init__(self, max_update, base_lr=0.01, final_lr=0, warmup_steps=0, warmup_begin_lr=0,
                 warmup_mode="linear"):
        super().__init__("CosineScheduler", max_update, base_lr, final_lr, warmup_steps, warmup_begin_lr,
                         warmup_mode)

    def _decay(self, progress):
        return (1 + math.cos(math.pi * progress)) / 2
