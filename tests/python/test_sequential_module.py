"""mx.mod.SequentialModule: a two-module chain against one Module of the combined network and a
numpy forward, fit on a separable problem, and misuse errors."""
import numpy as np
import pytest

import mx


def first_half():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=6, name="fc1")
    return mx.sym.Activation(net, act_type="relu", name="relu1")


def second_half(data_name="data"):
    net = mx.sym.FullyConnected(mx.sym.Variable(data_name), num_hidden=3, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def combined():
    net = mx.sym.FullyConnected(first_half(), num_hidden=3, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def chain(auto_wiring=False):
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(first_half(), data_names=["data"], label_names=None))
    name = "hidden" if auto_wiring else "relu1_output"
    seq.add(mx.mod.Module(second_half(name), data_names=[name]), take_labels=True, auto_wiring=auto_wiring)
    return seq


def blobs(n, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(3, 4) * 3
    y = rng.randint(0, 3, size=n)
    return (centers[y] + rng.randn(n, 4) * 0.5).astype(np.float32), y.astype(np.float32)


def numpy_forward(p, x):
    h = np.maximum(x @ p["fc1_weight"].T + p["fc1_bias"], 0)
    z = h @ p["fc2_weight"].T + p["fc2_bias"]
    prob = np.exp(z - z.max(1, keepdims=True))
    return prob / prob.sum(1, keepdims=True)


@pytest.mark.parametrize("auto_wiring", [False, True])
def test_chain_matches_one_module_and_numpy(auto_wiring):
    x, y = blobs(8)
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    shapes, labels = [("data", (8, 4))], [("softmax_label", (8,))]

    seq = chain(auto_wiring)
    seq.bind(shapes, labels)
    seq.init_params(mx.init.Xavier())
    start = {k: v.asnumpy().copy() for k, v in seq.get_params()[0].items()}
    assert sorted(start) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
    one = mx.mod.Module(combined())
    one.bind(shapes, labels)
    one.set_params({k: mx.nd.array(v) for k, v in start.items()}, {})

    for mod in (seq, one):
        mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.5})
        mod.forward_backward(batch)
    expected = numpy_forward({k: v.astype(np.float64) for k, v in start.items()}, x)
    np.testing.assert_allclose(seq.get_outputs()[0].asnumpy(), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(seq.get_outputs()[0].asnumpy(), one.get_outputs()[0].asnumpy(), rtol=1e-5, atol=1e-7)
    assert seq.output_shapes == [("softmax_output", (8, 3))]
    assert [tuple(d.shape) for d in seq.data_shapes] == [(8, 4)]

    seq.update()
    one.update()
    after_seq, after_one = seq.get_params()[0], one.get_params()[0]
    for name in start:
        assert not np.allclose(after_seq[name].asnumpy(), start[name]), name  # the step moved it
        np.testing.assert_allclose(after_seq[name].asnumpy(), after_one[name].asnumpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


def test_fit_separable_reaches_high_accuracy():
    x, y = blobs(240, seed=1)
    train = mx.io.NDArrayIter(x, y, batch_size=20, shuffle=True)
    seq = chain()
    seq.fit(train, num_epoch=8, optimizer="sgd", initializer=mx.init.Xavier(),
            optimizer_params={"learning_rate": 0.2})
    (name, acc), = seq.score(mx.io.NDArrayIter(x, y, batch_size=20), "acc")
    assert name == "accuracy" and acc > 0.9
    assert seq.predict(mx.io.NDArrayIter(x, y, batch_size=20)).shape == (240, 3)


def test_misuse_raises():
    seq = mx.mod.SequentialModule()
    with pytest.raises(RuntimeError, match="bind"):
        seq.bind([("data", (2, 4))])
    with pytest.raises(ValueError, match="take_label"):
        seq.add(mx.mod.Module(first_half(), label_names=None), take_label=True)
    seq.add(mx.mod.Module(first_half(), label_names=None))
    with pytest.raises(ValueError, match="take_labels=True"):
        seq.bind([("data", (2, 4))], [("softmax_label", (2,))])
    with pytest.raises(RuntimeError, match="init_params"):
        seq.get_params()
