# The norm, loss-output, sequence and resampling layers from Python (InstanceNorm GroupNorm
# L2Normalization LRN BatchNorm_v1, SoftmaxActivation and the *Output loss layers, MakeLoss,
# SequenceLast/Mask/Reverse, UpSampling, Pad): values and gradients against torch 1.13 and numpy.
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mx


def rand(*shape, lo=-2.0, hi=2.0, seed=0):
    return np.random.RandomState(seed + sum(shape)).uniform(lo, hi, shape)


def mx_grads(op, arrays, head, **attrs):
    """Output of op(*arrays, **attrs) in float64 and the gradients of sum(head * output)."""
    xs = [mx.nd.array(a, dtype="float64") for a in arrays]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = op(*xs, **attrs)
    y.backward(mx.nd.array(head, dtype="float64"))
    return y.asnumpy(), [x.grad.asnumpy() for x in xs]


def torch_grads(f, arrays, head):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    y = f(*ts)
    y.backward(torch.tensor(head, dtype=torch.float64))
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


def check_against_torch(op, torch_f, arrays, out_shape=None, **attrs):
    head = rand(*(out_shape or arrays[0].shape), seed=3)
    y, g = mx_grads(op, arrays, head, **attrs)
    ty, tg = torch_grads(torch_f, arrays, head)
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-10)
    for a, b in zip(g, tg):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_instance_norm_matches_torch():
    x, gamma, beta = rand(2, 3, 4, 5), rand(3, lo=0.5), rand(3)
    check_against_torch(mx.nd.InstanceNorm, lambda x, g, b: F.instance_norm(x, weight=g, bias=b, eps=1e-3),
                        [x, gamma, beta])


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_group_norm_matches_torch(groups):
    x, gamma, beta = rand(3, 4, 2, 3), rand(4, lo=0.5), rand(4)
    check_against_torch(mx.nd.GroupNorm, lambda x, g, b: F.group_norm(x, groups, weight=g, bias=b, eps=1e-5),
                        [x, gamma, beta], num_groups=groups)


def test_group_norm_takes_mxnet_1x_per_group_gamma_and_beta():
    x, gamma, beta = rand(3, 4, 2, 3), rand(2, lo=0.5), rand(2)
    check_against_torch(mx.nd.GroupNorm,
                        lambda x, g, b: F.group_norm(x, 2, weight=g.repeat_interleave(2), bias=b.repeat_interleave(2)),
                        [x, gamma, beta], num_groups=2)
    data = mx.sym.Variable("data")
    gn = mx.sym.GroupNorm(data, num_groups=2, name="gn")
    args, _, _ = gn.infer_shape(data=(3, 4, 2, 3))
    assert dict(zip(gn.list_arguments(), args))["gn_gamma"] == (2,)


@pytest.mark.parametrize("nsize", [1, 3, 4, 5])
def test_lrn_matches_torch(nsize):
    x = rand(2, 6, 3, 3)
    check_against_torch(mx.nd.LRN, lambda x: F.local_response_norm(x, nsize, alpha=0.5, beta=0.75, k=2.0), [x],
                        nsize=nsize, alpha=0.5)


@pytest.mark.parametrize("mode,axes", [("instance", (1, 2, 3)), ("channel", (1,)), ("spatial", (2, 3))])
def test_l2_normalization_matches_numpy_and_torch(mode, axes):
    x = rand(2, 3, 2, 4)
    y = mx.nd.L2Normalization(mx.nd.array(x), mode=mode).asnumpy()
    np.testing.assert_allclose(y, x / np.sqrt((x * x).sum(axis=axes, keepdims=True) + 1e-10), rtol=1e-5)
    check_against_torch(mx.nd.L2Normalization, lambda t: t / torch.sqrt((t * t).sum(dim=axes, keepdim=True) + 1e-10),
                        [x], mode=mode)


def test_batch_norm_v1_trains_like_torch_and_updates_moving_stats():
    x, gamma, beta = rand(4, 3, 2, 2), rand(3, lo=0.5), rand(3)
    mm, mv = mx.nd.zeros((3,), dtype="float64"), mx.nd.ones((3,), dtype="float64")
    xs = [mx.nd.array(a, dtype="float64") for a in (x, gamma, beta)]
    for a in xs:
        a.attach_grad()
    head = rand(4, 3, 2, 2, seed=5)
    with mx.autograd.record():
        y = mx.nd.BatchNorm_v1(*xs, mm, mv, fix_gamma=False, eps=1e-3, momentum=0.9)
    y.backward(mx.nd.array(head, dtype="float64"))
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    ty, tg = torch_grads(lambda a, g, b: F.batch_norm(a, rm, rv, g, b, training=True, momentum=0.1, eps=1e-3),
                         [x, gamma, beta], head)
    np.testing.assert_allclose(y.asnumpy(), ty, rtol=1e-10, atol=1e-10)
    for a, b in zip(xs, tg):
        np.testing.assert_allclose(a.grad.asnumpy(), b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mm.asnumpy(), 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-10)
    np.testing.assert_allclose(mv.asnumpy(), 0.9 + 0.1 * x.var(axis=(0, 2, 3)), rtol=1e-10)  # biased, as MXNet


@pytest.mark.parametrize("mode,dim", [("instance", None), ("channel", 1)])
def test_softmax_activation_matches_torch(mode, dim):
    x = rand(2, 3, 4)
    f = (lambda t: F.softmax(t.reshape(2, -1), dim=1).reshape(2, 3, 4)) if dim is None else (lambda t: F.softmax(t, dim=1))
    check_against_torch(mx.nd.SoftmaxActivation, f, [x], mode=mode)


def test_loss_outputs_backpropagate_their_loss_gradient():
    x, label = rand(4, 3), rand(4, 3, seed=1)
    for op, out, grad in [
        (mx.nd.LinearRegressionOutput, x, (x - label) / 3),
        (mx.nd.LogisticRegressionOutput, 1 / (1 + np.exp(-x)), (1 / (1 + np.exp(-x)) - label) / 3),
        (mx.nd.MAERegressionOutput, x, np.sign(x - label) / 3),
    ]:
        y, g = mx_grads(op, [x, label], np.full((4, 3), 5.0))  # the head gradient is ignored
        np.testing.assert_allclose(y, out, rtol=1e-12)
        np.testing.assert_allclose(g[0], grad, rtol=1e-12)
    y, g = mx_grads(mx.nd.MakeLoss, [x], np.full((4, 3), 5.0), grad_scale=2.0, normalization="batch")
    np.testing.assert_allclose(g[0], np.full((4, 3), 0.5))
    y, g = mx_grads(mx.nd.make_loss, [x], np.full((4, 3), 5.0))
    np.testing.assert_allclose(g[0], np.ones((4, 3)))


def test_svm_output_gradient_is_the_squared_hinge_gradient():
    x, label = rand(3, 4), np.array([0.0, 3.0, 1.0])
    y, g = mx_grads(mx.nd.SVMOutput, [x, label], np.ones((3, 4)), margin=1.0)
    onehot = np.eye(4)[label.astype(int)]
    # L2-SVM on +-1 targets: d/dx of max(0, 1 - t x)^2 = -2 t max(0, 1 - t x)
    t = 2 * onehot - 1
    np.testing.assert_allclose(y, x)
    np.testing.assert_allclose(g[0], -2 * t * np.maximum(0, 1 - t * x), rtol=1e-12)


def sequence_reference(x, lengths, kind, value=0.0):
    t, b = x.shape[:2]
    out = x.copy()
    for s in range(b):
        n = int(lengths[s])
        if kind == "mask":
            out[n:, s] = value
        elif kind == "reverse":
            out[:n, s] = x[:n, s][::-1]
    if kind == "last":
        return np.stack([x[int(lengths[s]) - 1, s] for s in range(b)])
    return out


@pytest.mark.parametrize("kind,op", [("last", "SequenceLast"), ("mask", "SequenceMask"), ("reverse", "SequenceReverse")])
def test_sequence_ops_match_numpy_and_backpropagate(kind, op):
    x, lengths = rand(5, 3, 2), np.array([2.0, 5.0, 1.0])
    f = getattr(mx.nd, op)
    attrs = {"use_sequence_length": True}
    if kind == "mask":
        attrs["value"] = -3.0
    want = sequence_reference(x, lengths, kind, -3.0)
    head = rand(*want.shape, seed=9)
    y, g = mx_grads(f, [x, lengths], head, **attrs)
    np.testing.assert_allclose(y, want)
    # the gradient of a linear selection: the same selection transposed, via torch
    ty, tg = torch_grads(lambda t: torch.tensor(0.0, dtype=torch.float64) + _torch_sequence(t, lengths, kind), [x], head)
    np.testing.assert_allclose(g[0], tg[0])
    # batch-major data (axis=1) for SequenceLast / SequenceMask
    if kind != "reverse":
        xt = np.ascontiguousarray(x.transpose(1, 0, 2))
        yt = f(mx.nd.array(xt), mx.nd.array(lengths), axis=1, **attrs).asnumpy()
        np.testing.assert_allclose(yt, want if kind == "last" else want.transpose(1, 0, 2), rtol=1e-6)


def _torch_sequence(t, lengths, kind):
    rows = []
    for s in range(t.shape[1]):
        n = int(lengths[s])
        col = t[:, s]
        if kind == "last":
            rows.append(col[n - 1])
        elif kind == "mask":
            rows.append(torch.cat([col[:n], torch.zeros_like(col[n:]) - 3.0]))
        else:
            rows.append(torch.cat([col[:n].flip(0), col[n:]]))
    return torch.stack(rows, dim=0 if kind == "last" else 1)


@pytest.mark.parametrize("scale", [1, 2, 3])
def test_upsampling_nearest_matches_torch_interpolate(scale):
    x = rand(2, 3, 2, 4)
    check_against_torch(mx.nd.UpSampling, lambda t: F.interpolate(t, scale_factor=scale, mode="nearest"), [x],
                        out_shape=(2, 3, 2 * scale, 4 * scale), scale=scale, sample_type="nearest")


def test_upsampling_nearest_joins_inputs_by_concat_or_sum():
    a, b = rand(1, 2, 2, 2), rand(1, 1, 4, 4)
    y = mx.nd.UpSampling(mx.nd.array(a), mx.nd.array(b), scale=2, sample_type="nearest").asnumpy()
    np.testing.assert_allclose(y, np.concatenate([a.repeat(2, 2).repeat(2, 3), b], axis=1), rtol=1e-6)
    c = rand(1, 2, 1, 1)
    y = mx.nd.UpSampling(mx.nd.array(a), mx.nd.array(c), scale=2, sample_type="nearest", multi_input_mode="sum")
    np.testing.assert_allclose(y.asnumpy(), a.repeat(2, 2).repeat(2, 3) + c.repeat(4, 2).repeat(4, 3),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upsampling_bilinear_is_a_depthwise_deconvolution(scale):
    k, pad = 2 * scale - scale % 2, int(np.ceil((scale - 1) / 2))
    x, w = rand(2, 3, 3, 2), rand(3, 1, k, k, seed=4)
    check_against_torch(mx.nd.UpSampling,
                        lambda t, v: F.conv_transpose2d(t, v, stride=scale, padding=pad, groups=3), [x, w],
                        out_shape=(2, 3, 3 * scale, 2 * scale), scale=scale, sample_type="bilinear", num_filter=3)


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")])
@pytest.mark.parametrize("shape,width", [((2, 3, 4, 5), (0, 0, 0, 0, 1, 2, 3, 1)),
                                         ((1, 2, 3, 4, 3), (0, 0, 0, 0, 2, 1, 0, 3, 1, 2))])
def test_pad_matches_numpy_and_torch(mode, torch_mode, shape, width):
    x = rand(*shape)
    value = 0.5 if mode == "constant" else 0.0
    np_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect"}[mode]
    pairs = [(width[2 * i], width[2 * i + 1]) for i in range(len(shape))]
    kw = {"constant_values": value} if mode == "constant" else {}
    want = np.pad(x, pairs, mode=np_mode, **kw)
    got = mx.nd.Pad(mx.nd.array(x), mode=mode, pad_width=width, constant_value=value).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert mx.nd.pad is not None
    torch_pad = []
    for before, after in reversed(pairs[2:]):
        torch_pad += [before, after]
    check_against_torch(mx.nd.Pad, lambda t: F.pad(t, torch_pad, mode=torch_mode, **({"value": value} if mode == "constant" else {})),
                        [x], out_shape=want.shape, mode=mode, pad_width=width, constant_value=value)


@pytest.mark.parametrize("call,words", [
    (lambda: mx.nd.GroupNorm(mx.nd.ones((2, 4, 3)), mx.nd.ones((4,)), mx.nd.ones((4,)), num_groups=3),
     ["GroupNorm", "(2,4,3)"]),
    (lambda: mx.nd.Pad(mx.nd.ones((1, 2, 3, 3)), pad_width=(0, 0, 0, 0, 1, 1)), ["Pad", "pad_width", "(1,2,3,3)"]),
    (lambda: mx.nd.Pad(mx.nd.ones((1, 2, 3, 3)), mode="reflect", pad_width=(0, 0, 0, 0, 3, 3, 0, 0)),
     ["Pad", "reflect", "(1,2,3,3)"]),
])
def test_bad_params_are_errors_naming_op_and_shapes(call, words):
    with pytest.raises(mx.MXNetError) as e:
        call().wait_to_read()
    for w in words:
        assert w in str(e.value)


def test_symbols_infer_the_bilinear_weight_and_sequence_length():
    data = mx.sym.Variable("data")
    up = mx.sym.UpSampling(data, scale=2, sample_type="bilinear", num_filter=3, name="up")
    args, outs, _ = up.infer_shape(data=(1, 3, 5, 5))
    assert dict(zip(up.list_arguments(), args))["up_weight"] == (3, 1, 4, 4)
    assert outs == [(1, 3, 10, 10)]
