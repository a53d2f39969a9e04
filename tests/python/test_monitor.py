"""Executor.set_monitor_callback, mx.monitor.Monitor, Module / BucketingModule.install_monitor and
Module.get_states / set_states, against numpy forwards written here and MXNet 1.9.1's documented
behaviour (names "<node>_output", step counting, pattern / interval / sort / stat_func)."""
import logging
import math

import numpy as np
import pytest

import mx
from mx.ndarray import NDArray


def fc_relu_fc():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=5, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    return mx.sym.FullyConnected(net, num_hidden=3, name="fc2")


def bound_net(batch=4, seed=0):
    """The net bound with random values, and its numpy forward {name: value}."""
    rng = np.random.RandomState(seed)
    exe = fc_relu_fc().simple_bind(mx.cpu(), data=(batch, 6))
    vals = {n: rng.uniform(-1, 1, a.shape).astype(np.float32) for n, a in exe.arg_dict.items()}
    for n, v in vals.items():
        exe.arg_dict[n][:] = v
    p = {k: v.astype(np.float64) for k, v in vals.items()}
    fc1 = p["data"] @ p["fc1_weight"].T + p["fc1_bias"]
    relu = np.maximum(fc1, 0)
    fc2 = relu @ p["fc2_weight"].T + p["fc2_bias"]
    return exe, vals, {"fc1_output": fc1, "relu1_output": relu, "fc2_output": fc2}


def rms(x):
    x = np.asarray(x, np.float64)
    return np.linalg.norm(x) / math.sqrt(x.size)


def collect_into(seen):
    def callback(name, handle):
        seen.append((name.decode(), NDArray(handle)))  # the callback owns the handle
    return callback


def test_callback_sees_every_node_output_with_its_value():
    exe, _, want = bound_net()
    seen = []
    exe.set_monitor_callback(collect_into(seen))
    exe.forward(is_train=False)
    assert [n for n, _ in seen] == ["fc1_output", "relu1_output", "fc2_output"]
    for name, arr in seen:  # read after the whole forward: copies, not the reused buffers
        np.testing.assert_allclose(arr.asnumpy(), want[name], rtol=1e-5, atol=1e-6)
    seen.clear()
    exe.set_monitor_callback(None)
    exe.forward()
    assert seen == []
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), want["fc2_output"], rtol=1e-5, atol=1e-6)


def test_monitor_all_adds_inputs_under_mxnet_names():
    exe, vals, want = bound_net()
    seen = []
    exe.set_monitor_callback(collect_into(seen), monitor_all=True)
    exe.forward()
    names = [n for n, _ in seen]
    assert names[:7] == ["data", "fc1_data", "fc1_weight", "fc1_weight", "fc1_bias", "fc1_bias", "fc1_output"]
    assert names[7:9] == ["relu1_data", "relu1_output"]
    got = dict(seen)
    np.testing.assert_array_equal(got["data"].asnumpy(), vals["data"])
    np.testing.assert_allclose(got["relu1_data"].asnumpy(), want["fc1_output"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["fc2_data"].asnumpy(), want["relu1_output"], rtol=1e-5, atol=1e-6)


def test_backward_reports_gradient_nodes_too():
    exe, _, _ = bound_net()
    seen = []
    exe.set_monitor_callback(collect_into(seen))
    exe.forward(is_train=True)
    n_forward = len(seen)
    exe.backward(mx.nd.ones((4, 3)))
    assert n_forward == 3 and len(seen) > n_forward
    assert all(n.endswith("_output") or "_output" in n for n, _ in seen[n_forward:])


def test_a_reused_buffer_still_reports_each_nodes_own_value():
    x = mx.sym.Variable("x")
    h = mx.sym.Activation(x * 3 + 1, act_type="relu", name="r1")
    h = (h * -2 + 0.5) * 4 - 1
    exe = h.simple_bind(mx.cpu(), x=(6,))
    assert exe.memory_stats()["inplace_count"] >= 3  # the plan writes the chain over one buffer
    xv = np.array([-1.5, -0.5, 0, 0.25, 0.5, 2], np.float32)
    exe.arg_dict["x"][:] = xv
    seen = []
    exe.set_monitor_callback(collect_into(seen))
    exe.forward()
    steps = [xv * 3.0]
    steps.append(steps[-1] + 1)
    steps.append(np.maximum(steps[-1], 0))
    steps.append(steps[-1] * -2)
    steps.append(steps[-1] + 0.5)
    steps.append(steps[-1] * 4)
    steps.append(steps[-1] - 1)
    assert len(seen) == len(steps)
    assert seen[2][0] == "r1_output"
    for (name, arr), ref in zip(seen, steps):
        np.testing.assert_allclose(arr.asnumpy(), ref, rtol=1e-6, err_msg=name)


def test_an_exception_in_the_callback_is_raised_from_forward():
    exe, _, _ = bound_net()

    def bad(name, handle):
        NDArray(handle)
        raise KeyError("from the callback")
    exe.set_monitor_callback(bad)
    with pytest.raises(KeyError, match="from the callback"):
        exe.forward()
    exe.set_monitor_callback(None)
    exe.forward()  # nothing left over


def parse(stat):
    return float(stat.strip())


def test_monitor_default_stat_pattern_and_arguments():
    exe, vals, want = bound_net()
    mon = mx.mon.Monitor(1, pattern=".*output")
    mon.install(exe)
    mon.tic()
    exe.forward()
    res = mon.toc()
    assert [k for _, k, _ in res] == ["fc1_output", "relu1_output", "fc2_output"]
    assert all(step == 1 for step, _, _ in res)  # tic counted the batch before the callbacks ran
    for _, name, stat in res:
        assert parse(stat) == pytest.approx(rms(want[name]), rel=1e-5)
    # pattern is re.match: from the start; arguments are added at toc
    mon = mx.mon.Monitor(1, pattern="fc1")
    mon.install(exe)
    mon.tic()
    exe.forward()
    got = {k: parse(s) for _, k, s in mon.toc()}
    assert set(got) == {"fc1_output", "fc1_weight", "fc1_bias"}
    assert got["fc1_weight"] == pytest.approx(rms(vals["fc1_weight"]), rel=1e-5)


def test_monitor_interval_sort_and_stat_func():
    exe, _, want = bound_net()
    mon = mx.mon.Monitor(2, stat_func=lambda x: [mx.nd.max(x), mx.nd.min(x)], sort=True, pattern=".*_output")
    mon.install(exe)
    got = []
    for _ in range(5):
        mon.tic()
        exe.forward()
        got.append(mon.toc())
    assert [len(r) for r in got] == [3, 0, 3, 0, 3]
    assert [r[0][0] for r in got if r] == [1, 3, 5]
    names = [k for _, k, _ in got[0]]
    assert names == sorted(names) == ["fc1_output", "fc2_output", "relu1_output"]
    for _, name, stat in got[0]:
        hi, lo = [float(v) for v in stat.split("\t") if v]
        assert hi == pytest.approx(want[name].max(), rel=1e-5, abs=1e-6)
        assert lo == pytest.approx(want[name].min(), rel=1e-5, abs=1e-6)
    with pytest.raises(TypeError, match="stat_func"):
        bad = mx.mon.Monitor(1, stat_func=lambda x: 3.0)
        bad.install(exe)
        bad.tic()
        exe.forward()
        bad.toc()


def blob_iter(n=32, batch=8):
    rng = np.random.RandomState(1)
    x = rng.randn(n, 6).astype(np.float32)
    y = rng.randint(0, 3, n).astype(np.float32)
    return mx.io.NDArrayIter(x, y, batch_size=batch, label_name="softmax_label")


def test_module_fit_ticks_the_monitor_and_logs(caplog):
    net = mx.sym.SoftmaxOutput(fc_relu_fc(), name="softmax")
    mod = mx.mod.Module(net, context=mx.cpu())
    mon = mx.mon.Monitor(2, pattern="fc1_output|fc2_weight")
    with caplog.at_level(logging.INFO):
        mod.fit(blob_iter(), num_epoch=1, monitor=mon, optimizer_params={"learning_rate": 0.1})
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Batch:")]
    # 4 batches, every 2nd monitored: fc1_output (forward) and fc2_weight (argument) each time
    assert len(lines) == 4
    assert sum("fc1_output" in s for s in lines) == 2 and sum("fc2_weight" in s for s in lines) == 2
    assert [int(s.split()[1]) for s in lines] == [1, 1, 3, 3]


def test_module_install_monitor_follows_reshape():
    mod = mx.mod.Module(fc_relu_fc(), label_names=None, context=mx.cpu())
    with pytest.raises(RuntimeError, match="bind"):
        mod.install_monitor(mx.mon.Monitor(1))
    mod.bind([("data", (4, 6))], for_training=False)
    mod.init_params()
    shapes = []
    mon = mx.mon.Monitor(1, stat_func=lambda x: (shapes.append(x.shape), mx.nd.sum(x))[1], pattern=".*output")
    mod.install_monitor(mon)
    x = np.random.RandomState(2).randn(3, 6).astype(np.float32)
    mon.tic()
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)  # a smaller batch: reshaped executor
    res = mon.toc()
    assert shapes == [(3, 5), (3, 5), (3, 3)]
    assert len(mon.exes) == 1
    args, _ = mod.get_params()
    p = {k: v.asnumpy().astype(np.float64) for k, v in args.items()}
    fc1 = x @ p["fc1_weight"].T + p["fc1_bias"]
    assert parse(res[0][2]) == pytest.approx(fc1.sum(), rel=1e-4, abs=1e-5)


def test_bucketing_module_installs_on_every_bucket():
    def sym_gen(key):
        net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=4, name="fc_shared")
        for i in range(key):
            net = mx.sym.Activation(net, act_type="relu", name="act%d" % i)
        return net, ("data",), None
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=1, context=mx.cpu())
    mod.bind([("data", (2, 3))], for_training=False)
    mod.init_params()
    mon = mx.mon.Monitor(1, pattern=".*output")
    mod.install_monitor(mon)
    names = []
    for key in (1, 3):
        batch = mx.io.DataBatch([mx.nd.ones((2, 3))], bucket_key=key, provide_data=[mx.io.DataDesc("data", (2, 3))])
        mon.tic()
        mod.forward(batch, is_train=False)
        names.append([k for _, k, _ in mon.toc()])
    assert names[0] == ["fc_shared_output", "act0_output"]
    assert names[1] == ["fc_shared_output", "act0_output", "act1_output", "act2_output"]


def stateful_net():
    """out = FC(data) + state: `state` is an input that is neither data nor a parameter."""
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3, name="fc")
    return fc + mx.sym.Variable("state")


def test_get_set_states_round_trip_and_states_are_not_parameters():
    mod = mx.mod.Module(stateful_net(), label_names=None, state_names=["state"], context=mx.cpu())
    mod.bind([("data", (4, 2))], for_training=True)
    mod.init_params(mx.init.Uniform(0.5))
    assert "state" not in mod.get_params()[0]
    mod.set_states(value=2.5)
    np.testing.assert_array_equal(mod.get_states()[0].asnumpy(), np.full((4, 3), 2.5, np.float32))
    s = np.arange(12, dtype=np.float32).reshape(4, 3)
    mod.set_states([mx.nd.array(s)])
    np.testing.assert_array_equal(mod.get_states()[0].asnumpy(), s)
    np.testing.assert_array_equal(mod.get_states(merge_multi_context=False)[0][0].asnumpy(), s)
    mod.set_states([s * 2])  # numpy too
    np.testing.assert_array_equal(mod.get_states()[0].asnumpy(), s * 2)
    # forward uses it; training updates the weights but never the state, which stays across batches
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1})
    x = np.random.RandomState(3).randn(4, 2).astype(np.float32)
    args, _ = mod.get_params()
    p = {k: v.asnumpy().astype(np.float64) for k, v in args.items()}
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=True)
    want = x @ p["fc_weight"].T + p["fc_bias"] + s * 2
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), want, rtol=1e-5, atol=1e-5)
    mod.backward([mx.nd.ones((4, 3))])
    mod.update()
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=True)
    np.testing.assert_array_equal(mod.get_states()[0].asnumpy(), s * 2)
    assert not np.allclose(mod.get_params()[0]["fc_bias"].asnumpy(), p["fc_bias"])
    with pytest.raises(ValueError, match="exactly one"):
        mod.set_states()
    with pytest.raises(ValueError, match="shape"):
        mod.set_states([np.zeros((2, 3), np.float32)])


def test_states_split_and_merge_over_contexts():
    mod = mx.mod.Module(stateful_net(), label_names=None, state_names=["state"], context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([("data", (4, 2))], for_training=False)
    mod.init_params()
    s = np.arange(12, dtype=np.float32).reshape(4, 3)
    mod.set_states([mx.nd.array(s)])
    parts = mod.get_states(merge_multi_context=False)[0]
    assert [p.context for p in parts] == [mx.cpu(0), mx.cpu(1)]
    np.testing.assert_array_equal(parts[0].asnumpy(), s[:2])
    np.testing.assert_array_equal(parts[1].asnumpy(), s[2:])
    np.testing.assert_array_equal(mod.get_states()[0].asnumpy(), s)
    mod.set_states([[mx.nd.ones((2, 3)), mx.nd.zeros((2, 3))]])
    np.testing.assert_array_equal(mod.get_states()[0].asnumpy(), np.repeat([[1.0], [0.0]], 2, axis=0) * np.ones(3))


def test_monitor_all_names_inputs_of_fc_without_bias():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3, no_bias=True, name="fc1")
    exe = net.simple_bind(mx.cpu(), data=(2, 4))
    seen = []
    exe.set_monitor_callback(collect_into(seen), monitor_all=True)
    exe.forward()
    assert [n for n, _ in seen] == ["data", "fc1_data", "fc1_weight", "fc1_weight", "fc1_output"]


def test_a_callback_that_removes_itself_during_forward():
    exe, _, want = bound_net()
    seen = []

    def once(name, handle):
        seen.append((name.decode(), NDArray(handle)))
        exe.set_monitor_callback(None)

    exe.set_monitor_callback(once)
    out = exe.forward(is_train=False)  # the running pass may finish with the callback it began with
    assert seen[0][0] == "fc1_output"
    np.testing.assert_allclose(out[0].asnumpy(), want["fc2_output"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seen[0][1].asnumpy(), want["fc1_output"], rtol=1e-5, atol=1e-6)
    before = len(seen)
    exe.forward(is_train=False)  # no monitor now
    assert len(seen) == before


def test_a_monitored_executor_is_freed_without_the_cyclic_gc():
    import gc
    import weakref
    gc.collect()
    gc.disable()
    try:
        exe, _, _ = bound_net()
        exe.set_monitor_callback(collect_into([]))
        exe.forward()
        ref = weakref.ref(exe)
        del exe
        assert ref() is None
    finally:
        gc.enable()
