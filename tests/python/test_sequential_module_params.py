"""mx.mod.SequentialModule's parameters over the whole chain (MXNet 1.9.1: get_params / set_params /
init_params over all modules, BaseModule's save_params / load_params, install_monitor on every
module): checked against a numpy forward written here and stub modules that record calls."""
import numpy as np
import pytest

import mx


def chain():
    first = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=5, name="fc1"), act_type="tanh")
    second = mx.sym.FullyConnected(mx.sym.var("hidden"), num_hidden=3, name="fc2")
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(first, data_names=["data"], label_names=None))
    seq.add(mx.mod.Module(second, data_names=["hidden"], label_names=None), auto_wiring=True)
    seq.bind([("data", (4, 6))], for_training=False)
    return seq


def numpy_forward(p, x):
    return np.tanh(x @ p["fc1_weight"].T + p["fc1_bias"]) @ p["fc2_weight"].T + p["fc2_bias"]


def outputs(seq, x):
    seq.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)
    return seq.get_outputs()[0].asnumpy()


def test_save_params_and_load_params_round_trip_the_whole_chain(tmp_path):
    x = np.random.RandomState(0).randn(4, 6).astype(np.float32)
    seq = chain()
    seq.init_params(mx.init.Uniform(0.5))
    params = {k: v.asnumpy().copy() for k, v in seq.get_params()[0].items()}
    assert sorted(params) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
    np.testing.assert_allclose(outputs(seq, x), numpy_forward(params, x), rtol=1e-5, atol=1e-5)
    fname = str(tmp_path / "chain.params")
    seq.save_params(fname)
    # BaseModule's file: 'arg:' / 'aux:' names in one NDArray dict
    assert sorted(mx.nd.load(fname)) == ["arg:fc1_bias", "arg:fc1_weight", "arg:fc2_bias", "arg:fc2_weight"]
    other = chain()
    other.init_params(mx.init.Zero())
    other.load_params(fname)
    for k, v in other.get_params()[0].items():
        np.testing.assert_array_equal(v.asnumpy(), params[k])
    np.testing.assert_allclose(outputs(other, x), numpy_forward(params, x), rtol=1e-5, atol=1e-5)


def test_set_params_over_all_modules_checks_missing_and_extra_names():
    seq = chain()
    seq.init_params(mx.init.Zero())
    rng = np.random.RandomState(1)
    new = {k: rng.randn(*v.shape).astype(np.float32) for k, v in seq.get_params()[0].items()}
    seq.set_params({k: mx.nd.array(v) for k, v in new.items()}, {})
    x = rng.randn(4, 6).astype(np.float32)
    np.testing.assert_allclose(outputs(seq, x), numpy_forward(new, x), rtol=1e-5, atol=1e-5)
    partial = {k: mx.nd.array(v) for k, v in new.items() if k != "fc2_bias"}
    with pytest.raises(RuntimeError, match="fc2_bias"):
        seq.set_params(partial, {})
    seq.set_params(partial, {}, allow_missing=True)  # the missing one is left to the initializer
    extra = dict({k: mx.nd.array(v) for k, v in new.items()}, nobody=mx.nd.zeros((1,)))
    with pytest.raises(ValueError, match="nobody"):
        seq.set_params(extra, {})
    seq.set_params(extra, {}, allow_extra=True)
    np.testing.assert_allclose(outputs(seq, x), numpy_forward(new, x), rtol=1e-5, atol=1e-5)


class RecordingModule:
    """A stand-in for a module: binds, reports output shapes and records install_monitor calls
    (Module.install_monitor itself is another engineer's work in this session)."""

    def __init__(self, name, calls):
        self.name, self.calls = name, calls
        self.data_names, self.output_names = ["data"], [name + "_output"]

    def bind(self, data_shapes, label_shapes, for_training, inputs_need_grad, force_rebind=False, grad_req="write"):
        self.output_shapes = [(self.output_names[0], tuple(data_shapes[0].shape))]

    def install_monitor(self, mon):
        self.calls.append((self.name, mon))


def test_install_monitor_reaches_every_module_in_order():
    calls = []
    seq = mx.mod.SequentialModule()
    seq.add(RecordingModule("a", calls)).add(RecordingModule("b", calls))
    mon = object()
    with pytest.raises(RuntimeError, match="bind"):
        seq.install_monitor(mon)
    assert calls == []
    seq.bind([("data", (2, 3))], for_training=False)
    seq.install_monitor(mon)
    assert calls == [("a", mon), ("b", mon)]
