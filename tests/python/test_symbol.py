import numpy as np
import pytest

import mx


def mlp():
    data = mx.sym.Variable("data")
    h = mx.sym.FullyConnected(data, num_hidden=8, name="fc1")
    h = mx.sym.Activation(h, act_type="tanh", name="tanh1")
    h = mx.sym.FullyConnected(h, num_hidden=3, name="fc2")
    return mx.sym.SoftmaxOutput(h, name="softmax")


def test_lists_inference_and_json_round_trip():
    net = mlp()
    assert net.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "softmax_label"]
    assert net.list_outputs() == ["softmax_output"]
    args, outs, aux = net.infer_shape(data=(4, 5))
    assert args == [(4, 5), (8, 5), (8,), (3, 8), (3,), (4,)] and outs == [(4, 3)] and aux == []
    partial = net.infer_shape_partial()[0]
    assert partial[0] == ()  # MXNet 1.x: () for an unknown shape
    again = mx.sym.load_json(net.tojson())
    assert again.tojson() == net.tojson()
    with pytest.raises(mx.MXNetError, match=r"fc1.*FullyConnected"):
        net.infer_shape(data=(4, 5), fc1_weight=(8, 6))


def test_executor_matches_numpy_and_imperative_autograd():
    rs = np.random.RandomState(1)
    net = mlp()
    ex = net.simple_bind(mx.cpu(), data=(4, 5), grad_req={"data": "null", "softmax_label": "null",
                                                          "fc1_weight": "write", "fc1_bias": "write",
                                                          "fc2_weight": "write", "fc2_bias": "write"})
    vals = {k: rs.uniform(-1, 1, v.shape).astype(np.float32) for k, v in ex.arg_dict.items()}
    vals["softmax_label"] = np.array([0, 2, 1, 2], dtype=np.float32)
    for k, v in vals.items():
        ex.arg_dict[k][:] = v
    out = ex.forward(is_train=True)[0].asnumpy()
    h = np.tanh(vals["data"] @ vals["fc1_weight"].T + vals["fc1_bias"])
    z = h @ vals["fc2_weight"].T + vals["fc2_bias"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out, p, rtol=1e-5, atol=1e-6)
    ex.backward()
    # the same through mx.nd + autograd
    arrs = {k: mx.nd.array(v) for k, v in vals.items()}
    for k in ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"):
        arrs[k].attach_grad()
    with mx.autograd.record():
        y = mx.nd.FullyConnected(arrs["data"], arrs["fc1_weight"], arrs["fc1_bias"], num_hidden=8)
        y = mx.nd.Activation(y, act_type="tanh")
        y = mx.nd.FullyConnected(y, arrs["fc2_weight"], arrs["fc2_bias"], num_hidden=3)
        y = mx.nd.SoftmaxOutput(y, arrs["softmax_label"])
    y.backward()
    for k in ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"):
        np.testing.assert_allclose(ex.grad_dict[k].asnumpy(), arrs[k].grad.asnumpy(), rtol=1e-5, atol=1e-7)
    assert ex.grad_dict["data"] is None
    stats = ex.memory_stats()
    assert 0 < stats["planned_bytes"] <= stats["unplanned_bytes"]


def test_bind_with_explicit_arrays_and_reshape():
    x = mx.sym.Variable("x")
    y = mx.sym.square(x, name="sq")
    a = mx.nd.array([[1.0, 2.0], [3.0, 4.0]])
    g = mx.nd.zeros((2, 2))
    ex = y.bind(mx.cpu(), {"x": a}, args_grad={"x": g})
    ex.forward(is_train=True)
    ex.backward(mx.nd.ones((2, 2)))
    np.testing.assert_array_equal(ex.outputs[0].asnumpy(), a.asnumpy() ** 2)
    np.testing.assert_array_equal(g.asnumpy(), 2 * a.asnumpy())
    small = ex.reshape(x=(1, 2))
    small.forward()
    np.testing.assert_array_equal(small.outputs[0].asnumpy(), [[1.0, 4.0]])
    with pytest.raises(mx.MXNetError, match="allow_up_sizing"):
        ex.reshape(x=(3, 2))


def test_float16_graph_runs_in_float16():
    # A float16 graph: FullyConnected takes float16 itself (the CPU kernel widens to float32 inside,
    # the GPU's runs on tensor cores) and the result stays float16
    rs = np.random.RandomState(2)
    x = mx.sym.Variable("x")
    y = mx.sym.tanh(mx.sym.FullyConnected(x, num_hidden=3, name="fc"))
    ex = y.simple_bind(mx.cpu(), x=(2, 4), type_dict={"x": "float16", "fc_weight": "float16", "fc_bias": "float16"})
    for v in ex.arg_dict.values():
        v[:] = rs.uniform(-1, 1, v.shape)
    out = ex.forward(is_train=True)[0]
    ex.backward(mx.nd.ones((2, 3), dtype="float16"))
    a = {k: v.asnumpy().astype(np.float32) for k, v in ex.arg_dict.items()}
    pre = a["x"] @ a["fc_weight"].T + a["fc_bias"]
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.asnumpy().astype(np.float32), np.tanh(pre), atol=2e-3)
    want = (1 - np.tanh(pre) ** 2).T @ a["x"]
    np.testing.assert_allclose(ex.grad_dict["fc_weight"].asnumpy().astype(np.float32), want, atol=1e-2)
