"""mx.lr_scheduler: the learning rate as a function of the number of updates."""


class LRScheduler:
    def __init__(self, base_lr=0.01):
        self.base_lr = base_lr

    def __call__(self, num_update):
        raise NotImplementedError


class FactorScheduler(LRScheduler):
    """lr = base_lr * factor ** (num_update // step), never below stop_factor_lr."""

    def __init__(self, step, factor=1.0, stop_factor_lr=1e-8, base_lr=0.01):
        super().__init__(base_lr)
        if step < 1:
            raise ValueError("FactorScheduler: step must be at least 1, got %r" % (step,))
        if factor > 1.0:
            raise ValueError("FactorScheduler: factor must be at most 1, got %r" % (factor,))
        self.step, self.factor, self.stop_factor_lr = step, factor, stop_factor_lr

    def __call__(self, num_update):
        return max(self.base_lr * self.factor ** (num_update // self.step), self.stop_factor_lr)


class MultiFactorScheduler(LRScheduler):
    """lr = base_lr * factor ** (number of steps in `step` that num_update has passed)."""

    def __init__(self, step, factor=1.0, base_lr=0.01):
        super().__init__(base_lr)
        if any(b <= a for a, b in zip(step, step[1:])) or (step and step[0] < 1):
            raise ValueError("MultiFactorScheduler: steps must increase from at least 1, got %r" % (step,))
        self.step, self.factor = list(step), factor

    def __call__(self, num_update):
        return self.base_lr * self.factor ** sum(1 for s in self.step if num_update > s)
