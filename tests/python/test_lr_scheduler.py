"""mx.lr_scheduler against schedules computed by hand from MXNet 1.9.1's formulas."""
import math

import pytest

import mx


def test_factor_scheduler_steps_after_each_step_updates():
    # MXNet: lr drops when num_update > count + step, i.e. from update step + 1 on
    sched = mx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=1.0)
    got = [sched(n) for n in range(1, 8)]
    assert got == pytest.approx([1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125])


def test_factor_scheduler_floor_and_catch_up():
    sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.1, stop_factor_lr=1e-3, base_lr=1.0)
    assert sched(10) == pytest.approx(1e-3)  # 1 * 0.1**9 clipped to stop_factor_lr, in one call
    sched = mx.lr_scheduler.FactorScheduler(step=10, factor=0.5, base_lr=0.8)
    assert sched(35) == pytest.approx(0.8 * 0.5 ** 3)


def test_multifactor_scheduler():
    sched = mx.lr_scheduler.MultiFactorScheduler(step=[2, 5], factor=0.1, base_lr=1.0)
    got = [sched(n) for n in range(1, 8)]
    assert got == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01])


def test_poly_scheduler_with_linear_warmup():
    # warm-up 0 -> 1 over 2 updates, then 1 * (1 - (n - 2) / 8) ** 2 until max_update 10
    sched = mx.lr_scheduler.PolyScheduler(max_update=10, base_lr=1.0, pwr=2, warmup_steps=2, warmup_begin_lr=0.0)
    expected = [0.0, 0.5] + [(1 - (n - 2) / 8.0) ** 2 for n in range(2, 11)] + [0.0]
    assert [sched(n) for n in range(0, 12)] == pytest.approx(expected)


def test_poly_scheduler_final_lr():
    sched = mx.lr_scheduler.PolyScheduler(max_update=4, base_lr=0.5, pwr=1, final_lr=0.1)
    assert [sched(n) for n in (0, 1, 2, 4, 9)] == pytest.approx([0.5, 0.4, 0.3, 0.1, 0.1])


def test_cosine_scheduler_with_constant_warmup():
    sched = mx.lr_scheduler.CosineScheduler(max_update=6, base_lr=2.0, final_lr=0.2, warmup_steps=2,
                                            warmup_begin_lr=0.1, warmup_mode="constant")
    expected = [0.1, 0.1] + [0.2 + 1.8 * (1 + math.cos(math.pi * (n - 2) / 4.0)) / 2 for n in range(2, 7)] + [0.2]
    assert [sched(n) for n in range(0, 8)] == pytest.approx(expected)


def test_get_warmup_lr_linear():
    sched = mx.lr_scheduler.FactorScheduler(step=5, base_lr=1.0, warmup_steps=4, warmup_begin_lr=0.2)
    assert sched.get_warmup_lr(1) == pytest.approx(0.2 + 0.8 * 1 / 4)
    assert sched(3) == pytest.approx(0.8)
    assert sched(4) == pytest.approx(1.0)


@pytest.mark.parametrize("make, word", [
    (lambda: mx.lr_scheduler.FactorScheduler(step=0), "step"),
    (lambda: mx.lr_scheduler.FactorScheduler(step=2, factor=1.5), "factor"),
    (lambda: mx.lr_scheduler.MultiFactorScheduler(step=[3, 2]), "step"),
    (lambda: mx.lr_scheduler.PolyScheduler(max_update=0), "max_update"),
    (lambda: mx.lr_scheduler.CosineScheduler(max_update=5, warmup_mode="cubic"), "warmup_mode"),
    (lambda: mx.lr_scheduler.CosineScheduler(max_update=5, base_lr=0.1, warmup_begin_lr=0.5), "warmup_begin_lr"),
])
def test_bad_arguments_raise(make, word):
    with pytest.raises(ValueError, match=word):
        make()


def test_optimizer_sets_scheduler_base_lr():
    sched = mx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=7.0)
    with pytest.warns(UserWarning, match="overwritten"):
        opt = mx.optimizer.SGD(learning_rate=0.4, lr_scheduler=sched)
    assert sched.base_lr == 0.4
    opt.num_update = 2
    assert opt.learning_rate == pytest.approx(0.2)
    # no learning_rate given: the scheduler's own base_lr stays (MXNet 1.9.1)
    sched = mx.lr_scheduler.FactorScheduler(step=1, base_lr=3.0)
    mx.optimizer.SGD(lr_scheduler=sched)
    assert sched.base_lr == 3.0
