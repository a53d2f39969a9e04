"""mx.mod.Module: its steps against the same computation written in numpy, fit on a learnable
problem, checkpoints in MXNet's format, predict / score with padding."""
import logging

import numpy as np
import pytest

import mx


def softmax_mlp(hidden=16, classes=3):
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=hidden, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    net = mx.sym.FullyConnected(net, num_hidden=classes, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def blobs(n=300, classes=3, dim=4, seed=0):
    rng = np.random.RandomState(seed)
    centers = rng.randn(classes, dim) * 3
    y = rng.randint(0, classes, size=n)
    return (centers[y] + rng.randn(n, dim) * 0.5).astype(np.float32), y.astype(np.float32)


def test_one_sgd_step_matches_numpy():
    x, y = blobs(n=8)
    mod = mx.mod.Module(softmax_mlp(), context=mx.cpu())
    mod.bind(data_shapes=[("data", (8, 4))], label_shapes=[("softmax_label", (8,))])
    mod.init_params(mx.init.Xavier())
    args, _ = mod.get_params()
    p = {k: v.asnumpy().astype(np.float64) for k, v in args.items()}
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.5})
    mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
    mod.update()

    h = np.maximum(x @ p["fc1_weight"].T + p["fc1_bias"], 0)
    z = h @ p["fc2_weight"].T + p["fc2_bias"]
    prob = np.exp(z - z.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), prob, rtol=1e-4, atol=1e-6)
    dz = (prob - np.eye(3)[y.astype(int)]) / 8  # SoftmaxOutput's gradient, rescale_grad = 1 / batch
    dh = (dz @ p["fc2_weight"]) * (h > 0)
    expected = {"fc2_weight": dz.T @ h, "fc2_bias": dz.sum(0), "fc1_weight": dh.T @ x, "fc1_bias": dh.sum(0)}
    new, _ = mod.get_params()
    for k, g in expected.items():
        np.testing.assert_allclose(new[k].asnumpy(), p[k] - 0.5 * g, rtol=1e-4, atol=1e-5)


def test_fit_score_predict_and_checkpoint(tmp_path, caplog):
    x, y = blobs()
    train = mx.io.NDArrayIter(x[:240], y[:240], batch_size=32, shuffle=True)
    val = mx.io.NDArrayIter(x[240:], y[240:], batch_size=32)  # 60 samples: the last batch has 4 of padding
    mod = mx.mod.Module(softmax_mlp())
    speed = mx.callback.Speedometer(32, frequent=2)
    with caplog.at_level(logging.INFO):
        mod.fit(train, eval_data=val, optimizer="adam", optimizer_params={"learning_rate": 0.05},
                initializer=mx.init.Xavier(), num_epoch=8, batch_end_callback=speed,
                epoch_end_callback=mx.callback.do_checkpoint(str(tmp_path / "blob")))
    assert "Validation-accuracy" in caplog.text and "samples/sec" in caplog.text
    score = dict(mod.score(val, ["acc", "ce"]))
    assert score["accuracy"] > 0.95

    pred = mod.predict(val)
    assert pred.shape == (60, 3)  # padding removed
    acc = np.mean(pred.asnumpy().argmax(1) == y[240:])
    assert acc == pytest.approx(score["accuracy"])  # score leaves the padding out too

    # The checkpoint is MXNet's: a symbol JSON and arg:/aux: keys, and predictions survive a reload.
    saved = mx.nd.load(str(tmp_path / "blob-0008.params"))
    assert sorted(saved) == ["arg:fc1_bias", "arg:fc1_weight", "arg:fc2_bias", "arg:fc2_weight"]
    sym, args, auxs = mx.model.load_checkpoint(str(tmp_path / "blob"), 8)
    assert sym.list_arguments() == mod.symbol.list_arguments() and auxs == {}
    loaded = mx.mod.Module.load(str(tmp_path / "blob"), 8)
    loaded.bind(data_shapes=val.provide_data, label_shapes=val.provide_label, for_training=False)
    np.testing.assert_allclose(loaded.predict(val).asnumpy(), pred.asnumpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.predict(x[240:]).asnumpy(), pred.asnumpy(), rtol=1e-5, atol=1e-6)


def test_batchnorm_aux_states_and_optimizer_states(tmp_path):
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=6, name="fc")
    net = mx.sym.BatchNorm(net, name="bn")
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(net, num_hidden=2, name="out"), name="softmax")
    x, y = blobs(n=64, classes=2)
    it = mx.io.NDArrayIter(x, y, batch_size=16)
    mod = mx.mod.Module(net)
    mod.fit(it, num_epoch=2, optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9},
            initializer=mx.init.Xavier())
    _, auxs = mod.get_params()
    assert sorted(auxs) == ["bn_moving_mean", "bn_moving_var"]
    assert np.abs(auxs["bn_moving_mean"].asnumpy()).sum() > 0  # training moved the statistics
    mod.save_checkpoint(str(tmp_path / "bn"), 2, save_optimizer_states=True)
    assert "aux:bn_moving_var" in mx.nd.load(str(tmp_path / "bn-0002.params"))
    again = mx.mod.Module.load(str(tmp_path / "bn"), 2, load_optimizer_states=True)
    again.bind(it.provide_data, it.provide_label)
    again.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    for i in range(len(again.param_names)):
        np.testing.assert_allclose(again._updater.states[i].asnumpy(), mod._updater.states[i].asnumpy())


def test_module_errors_name_the_problem():
    with pytest.raises(ValueError, match="images"):
        mx.mod.Module(softmax_mlp(), data_names=["images"])
    two = mx.mod.Module(softmax_mlp(), context=[mx.cpu(0), mx.cpu(1)])
    two.bind(data_shapes=[("data", (4, 5))], label_shapes=[("softmax_label", (4,))])
    two.init_params()
    with pytest.raises(ValueError, match="2 contexts need a kvstore"):
        two.init_optimizer(kvstore=None)
    with pytest.raises(ValueError, match="cannot be split over 2 contexts"):
        two.forward(mx.io.DataBatch([mx.nd.zeros((1, 5))], [mx.nd.zeros((1,))]))
    mod = mx.mod.Module(softmax_mlp())
    mod.bind(data_shapes=[("data", (4, 5))], label_shapes=[("softmax_label", (4,))])
    with pytest.raises(ValueError, match="fc1_weight has shape"):
        mod.init_params(arg_params={"fc1_weight": mx.nd.zeros((16, 4))}, allow_missing=True)
