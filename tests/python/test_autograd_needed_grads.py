"""Backward computes only the gradients that reach the tape: an input that is not on it (the data of
a network's first layer) gets none, so its GEMM never runs. Checked against numpy's hand-written
backward of y = relu(x W1^T + b1) W2^T + b2, loss = sum(y * c), and against counts of the ops the
profiler saw (a FullyConnected's backward is one dot per input gradient, one sum for the bias)."""
import json

import numpy as np
import pytest

import mx
import mx.profiler as profiler


def numpy_mlp_grads(x, w1, b1, w2, b2, c):
    h_pre = x @ w1.T + b1
    h = np.maximum(h_pre, 0)
    dy = c                              # d sum(y * c) / dy
    dw2, db2, dh = dy.T @ h, dy.sum(0), dy @ w2
    dh_pre = dh * (h_pre > 0)
    return {"x": dh_pre @ w1, "w1": dh_pre.T @ x, "b1": dh_pre.sum(0), "w2": dw2, "b2": db2}


def run_mlp(mark_x):
    rs = np.random.RandomState(0)
    arrays = {"x": rs.uniform(-1, 1, (5, 7)), "w1": rs.uniform(-1, 1, (6, 7)), "b1": rs.uniform(-1, 1, 6),
              "w2": rs.uniform(-1, 1, (3, 6)), "b2": rs.uniform(-1, 1, 3)}
    c = rs.uniform(-1, 1, (5, 3))
    nds = {k: mx.nd.array(v, dtype=np.float64) for k, v in arrays.items()}
    for k, a in nds.items():
        if k != "x" or mark_x:
            a.attach_grad()
    with mx.autograd.record():
        h = mx.nd.relu(mx.nd.FullyConnected(nds["x"], nds["w1"], nds["b1"], num_hidden=6))
        y = mx.nd.FullyConnected(h, nds["w2"], nds["b2"], num_hidden=3)
        loss = (y * mx.nd.array(c, dtype=np.float64)).sum()
    loss.backward()
    return nds, numpy_mlp_grads(*(arrays[k] for k in ("x", "w1", "b1", "w2", "b2")), c)


@pytest.mark.parametrize("mark_x", [False, True])
def test_mlp_gradients_match_numpy(mark_x):
    nds, expected = run_mlp(mark_x)
    for k in ("w1", "b1", "w2", "b2") + (("x",) if mark_x else ()):
        np.testing.assert_allclose(nds[k].grad.asnumpy(), expected[k], rtol=1e-12, atol=1e-12, err_msg=k)
    if not mark_x:
        assert nds["x"].grad is None


def backward_op_counts(mark_x):
    mx.nd.waitall()
    profiler.set_config(profile_imperative=True, aggregate_stats=True, filename="/dev/null")
    profiler.dumps(reset=True)
    rs = np.random.RandomState(1)
    x, w = mx.nd.array(rs.rand(4, 8)), mx.nd.array(rs.rand(3, 8))
    w.attach_grad()
    if mark_x:
        x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.FullyConnected(x, w, no_bias=True, num_hidden=3)
    profiler.set_state("run")
    y.backward()
    mx.nd.waitall()
    profiler.set_state("stop")
    ops = json.loads(profiler.dumps(reset=True, format="json")).get("Time", {}).get("operator", {})
    return {name: s["Count"] for name, s in ops.items()}


def test_gradient_of_an_input_off_the_tape_is_not_computed():
    # x . w^T's backward: dw = og^T . x always; dx = og . w only when x is on the tape
    assert backward_op_counts(mark_x=False).get("dot", 0) == 1
    assert backward_op_counts(mark_x=True).get("dot", 0) == 2


def test_autograd_grad_of_the_wanted_variable_only():
    a, b = mx.nd.array([1.0, 2.0], dtype=np.float64), mx.nd.array([3.0, -4.0], dtype=np.float64)
    a.attach_grad()
    b.attach_grad()
    with mx.autograd.record():
        z = (a * b + mx.nd.exp(a)).sum()
    (ga,) = mx.autograd.grad(z, [a], retain_graph=True)
    np.testing.assert_allclose(ga.asnumpy(), np.array([3.0, -4.0]) + np.exp([1.0, 2.0]), rtol=1e-12)
    z.backward()
    np.testing.assert_allclose(b.grad.asnumpy(), [1.0, 2.0], rtol=1e-12)


# A variable that one op input consumes (grad_req 'write') gets its gradient computed straight into
# its buffer: no 'copy' op after backward, and the buffer the caller holds shows each new gradient.
def test_single_use_weight_gradient_written_in_place_without_a_copy():
    counts = backward_op_counts(mark_x=False)
    assert counts.get("copy", 0) == 0 and counts.get("dot", 0) == 1


def test_held_gradient_buffer_is_overwritten_each_backward():
    rs = np.random.RandomState(2)
    w = mx.nd.array(rs.rand(3, 4), dtype=np.float64)
    w.attach_grad()
    held = w.grad
    for _ in range(2):
        xv = rs.rand(5, 4)
        with mx.autograd.record():
            y = mx.nd.FullyConnected(mx.nd.array(xv, dtype=np.float64), w, no_bias=True, num_hidden=3)
        y.backward()
        np.testing.assert_allclose(held.asnumpy(), np.ones((5, 3)).T @ xv, rtol=1e-12)  # write, not add


def test_shared_head_and_aliased_variables_still_correct():
    rs = np.random.RandomState(3)
    wv, xv = rs.rand(3, 4), rs.rand(2, 4)
    w = mx.nd.array(wv, dtype=np.float64)
    w.attach_grad()
    with mx.autograd.record():  # w feeds two ops: its gradient is the sum of both
        y = mx.nd.FullyConnected(mx.nd.array(xv, dtype=np.float64), w, no_bias=True, num_hidden=3).sum() + (w * w).sum()
    y.backward()
    np.testing.assert_allclose(w.grad.asnumpy(), np.ones((2, 3)).T @ xv + 2 * wv, rtol=1e-12)
    w.backward()  # the head is the variable itself
    np.testing.assert_allclose(w.grad.asnumpy(), np.ones((3, 4)), rtol=0)
    g0 = w.grad.asnumpy() * 3
    w.grad[:] = g0
    with mx.autograd.record():  # d(w * g)/dw = g, where g is w's own gradient buffer (read, then written)
        z = (w * w.grad).sum()
    z.backward()
    np.testing.assert_allclose(w.grad.asnumpy(), g0, rtol=0)


def test_gradient_buffer_read_by_the_graph_keeps_its_old_value_for_backward():
    # v's gradient reads w's gradient buffer as it was when recorded, whatever the order the
    # backward pass visits w and v in
    w, v, c = (mx.nd.array(a, dtype=np.float64) for a in ([1.0, 2.0], [3.0, 4.0], [5.0, 6.0]))
    w.attach_grad()
    v.attach_grad()
    w.grad[:] = np.array([7.0, 8.0])
    for first_w in (True, False):
        w.grad[:] = np.array([7.0, 8.0])
        with mx.autograd.record():
            a, b = (w * c).sum(), (v * w.grad).sum()
            z = a + b if first_w else b + a
        z.backward()
        np.testing.assert_allclose(w.grad.asnumpy(), [5.0, 6.0], rtol=0)
        np.testing.assert_allclose(v.grad.asnumpy(), [7.0, 8.0], rtol=0)
