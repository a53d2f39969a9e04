"""mx.mod.BucketingModule: buckets of sequence lengths 3 and 5 over one embedding + sum + softmax
model share one parameter set; their steps are checked against the model written in numpy."""
import logging

import numpy as np
import pytest

import mx

VOCAB, DIM, CLASSES, BATCH = 7, 4, 3, 4


def sym_gen(seq_len):
    data = mx.sym.Variable("data")  # (batch, seq_len) token ids
    net = mx.sym.Embedding(data, input_dim=VOCAB, output_dim=DIM, name="embed")
    net = mx.sym.sum(net, axis=1)
    net = mx.sym.FullyConnected(net, num_hidden=CLASSES, name="fc")
    return mx.sym.SoftmaxOutput(net, name="softmax"), ("data",), ("softmax_label",)


def numpy_forward(p, tokens):
    h = p["embed_weight"][tokens.astype(int)].sum(axis=1)
    z = h @ p["fc_weight"].T + p["fc_bias"]
    prob = np.exp(z - z.max(1, keepdims=True))
    return h, prob / prob.sum(1, keepdims=True)


def batch(seq_len, seed):
    rng = np.random.RandomState(seed)
    x = rng.randint(0, VOCAB, size=(BATCH, seq_len)).astype(np.float32)
    y = rng.randint(0, CLASSES, size=BATCH).astype(np.float32)
    b = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)],
                        provide_data=[mx.io.DataDesc("data", (BATCH, seq_len))],
                        provide_label=[mx.io.DataDesc("softmax_label", (BATCH,))])
    b.bucket_key = seq_len
    return b, x, y


def params_np(mod):
    args, _ = mod.get_params()
    return {k: v.asnumpy().astype(np.float64) for k, v in args.items()}


def make_module(lr=0.5):
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5, context=mx.cpu())
    mod.bind(data_shapes=[("data", (BATCH, 5))], label_shapes=[("softmax_label", (BATCH,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": lr})
    return mod


def test_steps_on_both_buckets_train_one_parameter_set():
    lr = 0.5
    mod = make_module(lr)
    for step, seq_len in enumerate([5, 3, 3, 5]):
        p = params_np(mod)
        b, x, y = batch(seq_len, seed=step)
        mod.forward_backward(b)
        h, prob = numpy_forward(p, x)
        np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), prob, rtol=1e-4, atol=1e-6)
        assert mod.data_shapes[0].shape == (BATCH, seq_len)
        mod.update()
        # SGD on the softmax layer: d(loss)/dz = prob - onehot, rescaled by 1/batch.
        dz = (prob - np.eye(CLASSES)[y.astype(int)]) / BATCH
        after = params_np(mod)
        np.testing.assert_allclose(after["fc_weight"], p["fc_weight"] - lr * dz.T @ h, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(after["fc_bias"], p["fc_bias"] - lr * dz.sum(0), rtol=1e-4, atol=1e-5)
    # Both buckets' executors hold the very same values.
    ex3, ex5 = mod._buckets[3]._exec, mod._buckets[5]._exec
    for name in ("embed_weight", "fc_weight", "fc_bias"):
        np.testing.assert_array_equal(ex3.arg_dict[name].asnumpy(), ex5.arg_dict[name].asnumpy())


def test_outputs_match_a_plain_module_with_the_same_parameters():
    mod = make_module()
    mod.forward_backward(batch(3, seed=1)[0])
    mod.update()
    args, auxs = mod.get_params()
    b, x, _ = batch(3, seed=9)
    mod.forward(b, is_train=False)
    plain = mx.mod.Module(sym_gen(3)[0], context=mx.cpu())
    plain.bind(data_shapes=[("data", (BATCH, 3))], label_shapes=[("softmax_label", (BATCH,))], for_training=False)
    plain.set_params(args, auxs)
    plain.forward(b, is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), plain.get_outputs()[0].asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(),
                               numpy_forward({k: v.asnumpy() for k, v in args.items()}, x)[1], rtol=1e-4, atol=1e-6)


def test_set_params_reaches_every_bucket():
    mod = make_module()
    mod.forward(batch(3, seed=0)[0])
    p = {"embed_weight": np.full((VOCAB, DIM), 0.1), "fc_weight": np.arange(CLASSES * DIM).reshape(CLASSES, DIM) / 10.,
         "fc_bias": np.array([0.5, -0.5, 0.0])}
    mod.set_params({k: mx.nd.array(v) for k, v in p.items()}, {})
    for seq_len in (3, 5):
        b, x, _ = batch(seq_len, seed=4)
        mod.forward(b, is_train=False)
        np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), numpy_forward(p, x)[1], rtol=1e-4, atol=1e-6)


class ListIter(mx.io.DataIter):
    """Yields the given batches; provide_data / label describe the default bucket."""

    def __init__(self, batches):
        super().__init__(BATCH)
        self.batches, self.i = batches, 0
        self.provide_data = [mx.io.DataDesc("data", (BATCH, 5))]
        self.provide_label = [mx.io.DataDesc("softmax_label", (BATCH,))]

    def reset(self):
        self.i = 0

    def __next__(self):
        if self.i == len(self.batches):
            raise StopIteration
        self.i += 1
        return self.batches[self.i - 1]

    next = __next__


def test_fit_score_and_checkpoint(tmp_path):
    # Class = whether token 1 occurs: learnable by embedding + sum.
    rng = np.random.RandomState(0)
    batches = []
    for k in range(24):
        seq_len = 3 if k % 2 else 5
        x = rng.randint(0, VOCAB, size=(BATCH, seq_len)).astype(np.float32)
        y = (x == 1).any(axis=1).astype(np.float32)
        b = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)], provide_data=[mx.io.DataDesc("data", x.shape)],
                            provide_label=[mx.io.DataDesc("softmax_label", (BATCH,))])
        b.bucket_key = seq_len
        batches.append(b)
    it = ListIter(batches)
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5, context=mx.cpu(), logger=logging)
    mod.fit(it, eval_metric="acc", optimizer="sgd", optimizer_params={"learning_rate": 0.5},
            initializer=mx.init.Xavier(), num_epoch=15)
    acc = dict(mod.score(it, "acc"))["accuracy"]
    assert acc > 0.9
    assert sorted(mod._buckets) == [3, 5]

    prefix = str(tmp_path / "bucket")
    mod.save_checkpoint(prefix, 3)
    loaded = mx.mod.BucketingModule.load(prefix, 3, sym_gen=sym_gen, default_bucket_key=5)
    loaded.bind(data_shapes=[("data", (BATCH, 5))], label_shapes=[("softmax_label", (BATCH,))], for_training=False)
    for name, value in mod.get_params()[0].items():
        np.testing.assert_array_equal(loaded.get_params()[0][name].asnumpy(), value.asnumpy())
    assert dict(loaded.score(it, "acc"))["accuracy"] == acc


def test_misuse_raises():
    with pytest.raises(ValueError, match="default_bucket_key"):
        mx.mod.BucketingModule(sym_gen)
    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=5)
    with pytest.raises(RuntimeError, match="bind"):
        mod.init_params()
    mod.bind(data_shapes=[("data", (BATCH, 5))], label_shapes=[("softmax_label", (BATCH,))])
    with pytest.raises(RuntimeError, match="init_params"):
        mod.forward(batch(3, seed=0)[0])


def test_smaller_batch_in_a_bucket_keeps_sharing_and_predict_merges_buckets():
    mod = make_module()
    rng = np.random.RandomState(3)
    x = rng.randint(0, VOCAB, size=(2, 3)).astype(np.float32)
    b = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array([0., 1.])], provide_data=[mx.io.DataDesc("data", (2, 3))],
                        provide_label=[mx.io.DataDesc("softmax_label", (2,))])
    b.bucket_key = 3
    p = params_np(mod)
    mod.forward_backward(b)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), numpy_forward(p, x)[1], rtol=1e-4, atol=1e-6)
    mod.update()
    after = params_np(mod)
    assert not np.allclose(after["fc_weight"], p["fc_weight"])
    b5, x5, _ = batch(5, seed=7)
    b3, x3, _ = batch(3, seed=8)
    out = mod.predict(ListIter([b5, b3])).asnumpy()
    expected = np.concatenate([numpy_forward(after, x5)[1], numpy_forward(after, x3)[1]])
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-6)
