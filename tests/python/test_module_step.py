"""The per-step Python paths of Module training that were trimmed for issue 19, against numpy:
a C iterator's batch index, Executor.backward with and without head gradients, and Module
forward / backward over one and two contexts (whole arrays vs. slices)."""
import numpy as np

import mx


def test_c_iterator_index_is_a_writable_uint64_copy(tmp_path):
    np.savetxt(tmp_path / "x.csv", np.arange(14).reshape(7, 2), delimiter=",", fmt="%.1f")
    it = mx.io.CSVIter(data_csv=str(tmp_path / "x.csv"), data_shape=(2,), batch_size=3)
    got = [(b.index, b.pad) for b in it]
    assert [(list(i), p) for i, p in got] == [([0, 1, 2], 0), ([3, 4, 5], 0), ([6, 0, 1], 2)]
    assert all(i.dtype == np.uint64 and i.flags.writeable for i, _ in got)
    got[0][0][0] = 9  # a copy: the next batch's index is not disturbed
    assert list(got[1][0]) == [3, 4, 5]


def _fc_executor(x, w):
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), weight=mx.sym.Variable("w"), num_hidden=w.shape[0],
                                no_bias=True, name="fc")
    return net.bind(mx.cpu(), {"data": mx.nd.array(x), "w": mx.nd.array(w)},
                    args_grad={"w": mx.nd.zeros(w.shape)}, grad_req={"data": "null", "w": "write"})


def test_executor_backward_with_ones_and_with_head_gradients():
    rng = np.random.RandomState(0)
    x, w, head = rng.rand(4, 3), rng.rand(2, 3), rng.rand(4, 2)
    ex = _fc_executor(x, w)
    for out_grads, g in ((None, np.ones((4, 2))), (mx.nd.array(head), head), ([mx.nd.array(head)], head), ([], None)):
        ex.forward(is_train=True)
        ex.backward(out_grads)
        g = np.ones((4, 2)) if g is None else g
        np.testing.assert_allclose(ex.grad_dict["w"].asnumpy(), g.T @ x, rtol=1e-5)
    np.testing.assert_allclose(ex.forward(is_train=False)[0].asnumpy(), x @ w.T, rtol=1e-5)


def test_module_forward_backward_one_and_two_contexts_agree_with_numpy():
    rng = np.random.RandomState(1)
    x, y = rng.rand(6, 3).astype(np.float32), rng.randint(0, 2, size=6).astype(np.float32)
    net = mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=1, no_bias=True,
                                                              name="fc"), name="lro")
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y.reshape(6, 1))])
    w = rng.rand(1, 3).astype(np.float32)
    expect = ((x @ w.T - y.reshape(6, 1)).T @ x)  # d/dw of sum((xw - y)^2) / 2
    for ctx in ([mx.cpu(0)], [mx.cpu(0), mx.cpu(1)]):
        mod = mx.mod.Module(net, label_names=["lro_label"], context=ctx)
        mod.bind([("data", (6, 3))], [("lro_label", (6, 1))])
        mod.init_params(arg_params={"fc_weight": mx.nd.array(w)})
        mod.forward_backward(batch)
        np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), x @ w.T, rtol=1e-5)
        grads = sum(ex.grad_dict["fc_weight"].asnumpy() for ex in mod._execs)
        np.testing.assert_allclose(grads, expect, rtol=1e-4)
        mod.forward(mx.io.DataBatch([x], [y.reshape(6, 1)]), is_train=False)  # numpy inputs are copied too
        np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), x @ w.T, rtol=1e-5)


def test_executor_forward_mode_reaches_the_graph():
    x = np.ones((50, 40), dtype=np.float32)
    ex = mx.sym.Dropout(mx.sym.Variable("data"), p=0.5).bind(mx.cpu(), {"data": mx.nd.array(x)})
    np.testing.assert_array_equal(ex.forward(is_train=False)[0].asnumpy(), x)
    assert (ex.forward(is_train=True)[0].asnumpy() == 0).any()
