"""Module over several CPU contexts (data parallelism through the KVStore) equals one context with
the same batch: each context gets its slice, the gradients are summed, the weights updated once."""
import numpy as np
import pytest

import mx


def mlp():
    d = mx.sym.Variable("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(d, num_hidden=16, name="fc1"), act_type="relu")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=4, name="fc2"), name="softmax")


def train(contexts, kvstore, steps, batch, env=None, monkeypatch=None):
    mod = mx.mod.Module(mlp(), context=contexts)
    mod.bind(data_shapes=[("data", batch.data[0].shape)], label_shapes=[("softmax_label", batch.label[0].shape)])
    mx.random.seed(1)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(kvstore=kvstore, optimizer="sgd",
                       optimizer_params={"learning_rate": 0.5, "momentum": 0.9, "wd": 1e-3})
    for _ in range(steps):
        mod.forward_backward(batch)
        mod.update()
    return mod


@pytest.fixture
def batch():
    rng = np.random.RandomState(0)
    return mx.io.DataBatch([mx.nd.array(rng.randn(12, 10).astype("float32"))],
                           [mx.nd.array(rng.randint(0, 4, 12).astype("float32"))])


@pytest.mark.parametrize("ndev,kvstore", [(2, "local"), (3, "device"), (4, "local")])
def test_contexts_equal_one_context(batch, ndev, kvstore):
    one = train([mx.cpu(0)], "local", 1, batch)
    many = train([mx.cpu(i) for i in range(ndev)], kvstore, 1, batch)
    ref_args, got_args = one.get_params()[0], many.get_params()[0]
    for name in ref_args:
        np.testing.assert_allclose(got_args[name].asnumpy(), ref_args[name].asnumpy(), rtol=1e-5, atol=1e-5)
    # The outputs of the step's forward, merged over the contexts in batch order.
    np.testing.assert_allclose(many.get_outputs()[0].asnumpy(), one.get_outputs()[0].asnumpy(), rtol=1e-5, atol=1e-6)
    parts = many.get_outputs(merge_multi_context=False)[0]
    assert len(parts) == ndev and sum(p.shape[0] for p in parts) == 12


def test_several_steps_and_update_on_devices(batch, monkeypatch):
    one = train([mx.cpu(0)], "local", 4, batch)
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")  # sum in the store, update on every device
    many = train([mx.cpu(0), mx.cpu(1)], "local", 4, batch)
    assert not many._update_on_kvstore
    for name, ref in one.get_params()[0].items():
        np.testing.assert_allclose(many.get_params()[0][name].asnumpy(), ref.asnumpy(), rtol=1e-4, atol=1e-5)
    for ex in many._execs:  # every device holds the same weights
        np.testing.assert_allclose(ex.arg_dict["fc1_weight"].asnumpy(), many._execs[0].arg_dict["fc1_weight"].asnumpy())


def test_fit_with_two_contexts_learns(tmp_path):
    rng = np.random.RandomState(3)
    X = rng.randn(256, 10).astype("float32")
    Y = (X[:, 0] > 0).astype("float32") + 2 * (X[:, 1] > 0).astype("float32")
    it = mx.io.NDArrayIter(X, Y, batch_size=32)
    mx.random.seed(0)
    mod = mx.mod.Module(mlp(), context=[mx.cpu(0), mx.cpu(1)])
    mod.fit(it, num_epoch=8, kvstore="device", optimizer="sgd",
            optimizer_params={"learning_rate": 0.1, "momentum": 0.9}, initializer=mx.init.Xavier())
    acc = dict(mod.score(mx.io.NDArrayIter(X, Y, batch_size=32), "acc"))["accuracy"]
    assert acc > 0.9
    mod.save_optimizer_states(str(tmp_path / "m.states"))
    assert (tmp_path / "m.states").stat().st_size > 0
