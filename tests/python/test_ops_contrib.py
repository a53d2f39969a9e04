"""The contrib ops (core/op/defs/contrib.cc), ctc_loss (ctc.cc) and issue 16's optimizer updates
(optimizer.cc) from Python: against numpy recipes and torch 1.13 (ctc_loss, autograd)."""
import numpy as np
import pytest

import mx

torch = pytest.importorskip("torch")

RNG = np.random.RandomState(11)


def nd(x, dtype="float32"):
    return mx.nd.array(np.asarray(x), dtype=dtype)


def contrib(name):
    """mx.nd.contrib.X, or the registered _contrib_X while the namespace is not there."""
    ns = getattr(mx.nd, "contrib", None)
    return getattr(ns, name, None) or getattr(mx.nd, "_contrib_" + name)


def grad_of(f, *arrays):
    """Values of f(*arrays) and the gradients of sum(f * head) w.r.t. each array (mx autograd)."""
    xs = [nd(a) for a in arrays]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = f(*xs)
    head = RNG.uniform(-1, 1, y.shape).astype(np.float32)
    y.backward(nd(head))
    return y.asnumpy(), head, [x.grad.asnumpy() for x in xs]


def torch_grads(f, head, *arrays):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    y = f(*ts)
    (y * torch.tensor(head, dtype=torch.float64)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


# ---------------------------------------------------------------- ctc_loss

def ctc_inputs(T, N, C, blank_first, max_label):
    data = RNG.uniform(-2, 2, (T, N, C)).astype(np.float32)
    lo, hi = (1, C) if blank_first else (0, C - 1)
    lengths = RNG.randint(1, max_label + 1, N)
    labels = np.full((N, max_label), 0 if blank_first else -1, np.float32)
    for n, l in enumerate(lengths):
        labels[n, :l] = RNG.randint(lo, hi, l)
    data_lengths = RNG.randint(2 * max_label + 1, T + 1, N)
    return data, labels, lengths, data_lengths


@pytest.mark.parametrize("blank_first", [True, False])
@pytest.mark.parametrize("use_lengths", [False, True])
def test_ctc_loss_and_gradient_match_torch(blank_first, use_lengths):
    T, N, C = 12, 4, 6
    data, labels, label_lengths, data_lengths = ctc_inputs(T, N, C, blank_first, 4)
    if not use_lengths:
        data_lengths = np.full(N, T)
    kwargs = {"blank_label": "first" if blank_first else "last"}
    if use_lengths:
        kwargs.update(use_data_lengths=True, use_label_lengths=True)

    def mx_loss(x):
        extra = [nd(data_lengths), nd(label_lengths)] if use_lengths else []
        return mx.nd.ctc_loss(x, nd(labels), *extra, **kwargs)

    loss, head, (gdata,) = grad_of(mx_loss, data)

    blank = 0 if blank_first else C - 1
    targets = torch.tensor(np.where(labels < 0, 0, labels).astype(np.int64))

    def torch_loss(x):
        return torch.nn.functional.ctc_loss(torch.log_softmax(x, dim=2), targets, torch.tensor(data_lengths),
                                            torch.tensor(label_lengths), blank=blank, reduction="none")

    want, (want_g,) = torch_grads(torch_loss, head, data)
    np.testing.assert_allclose(loss, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gdata, want_g, rtol=1e-4, atol=1e-5)
    # steps past a sample's length get no gradient
    for n in range(N):
        assert not gdata[data_lengths[n]:, n].any()


def test_ctc_loss_aliases_and_bad_labels():
    data, labels, _, _ = ctc_inputs(6, 2, 4, True, 2)
    a = mx.nd.CTCLoss(nd(data), nd(labels)).asnumpy()
    for name in ("ctc_loss", "_contrib_ctc_loss", "_contrib_CTCLoss"):
        np.testing.assert_array_equal(getattr(mx.nd, name)(nd(data), nd(labels)).asnumpy(), a)
    bad = labels.copy()
    bad[0, 0] = 7  # not a class
    with pytest.raises(Exception, match="CTCLoss"):
        mx.nd.ctc_loss(nd(data), nd(bad)).asnumpy()


# ---------------------------------------------------------------- interleaved attention products

L, Lk, B, H, D = 4, 5, 2, 3, 2


def heads_of(x, parts, part):
    """MXNet's recipe: reshape (0, 0, H, parts, -1), take `part`, transpose (1, 2, 0, 3), merge B*H."""
    t = x.reshape(x.shape[0], x.shape[1], H, parts, -1)[:, :, :, part, :]
    t = t.permute(1, 2, 0, 3) if hasattr(t, "permute") else t.transpose(1, 2, 0, 3)
    return t.reshape(-1, t.shape[2], t.shape[3])


def merge_heads(o):  # (B*H, Lq, D) -> (Lq, B, H*D)
    o = o.reshape(-1, H, o.shape[1], o.shape[2])
    o = o.permute(2, 0, 1, 3) if hasattr(o, "permute") else o.transpose(2, 0, 1, 3)
    return o.reshape(o.shape[0], o.shape[1], -1)


CASES = {
    "selfatt_qk": ([(L, B, H * 3 * D)], lambda qkv: heads_of(qkv, 3, 0) @ heads_of(qkv, 3, 1).transpose(1, 2) / np.sqrt(D)),
    "selfatt_valatt": ([(L, B, H * 3 * D), (B * H, L, L)], lambda qkv, att: merge_heads(att @ heads_of(qkv, 3, 2))),
    "encdec_qk": ([(L, B, H * D), (Lk, B, H * 2 * D)],
                  lambda q, kv: heads_of(q, 1, 0) @ heads_of(kv, 2, 0).transpose(1, 2) / np.sqrt(D)),
    "encdec_valatt": ([(Lk, B, H * 2 * D), (B * H, L, Lk)], lambda kv, att: merge_heads(att @ heads_of(kv, 2, 1))),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_interleaved_matmul_matches_the_reshape_recipe_and_torch_gradients(name):
    shapes, recipe = CASES[name]
    arrays = [RNG.uniform(-1, 1, s).astype(np.float32) for s in shapes]
    op = contrib("interleaved_matmul_" + name)
    got, head, grads = grad_of(lambda *xs: op(*xs, heads=H), *arrays)
    want, want_grads = torch_grads(recipe, head, *arrays)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for g, w in zip(grads, want_grads):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_interleaved_matmul_rejects_a_last_axis_not_divisible_by_heads():
    with pytest.raises(Exception, match="heads"):
        contrib("interleaved_matmul_selfatt_qk")(nd(np.zeros((2, 1, 10))), heads=3).asnumpy()


# ---------------------------------------------------------------- small contrib ops

def test_index_copy_quadratic_div_sqrt_dim():
    old = RNG.uniform(size=(5, 3)).astype(np.float32)
    new = RNG.uniform(size=(2, 3)).astype(np.float32)
    want = old.copy()
    want[[4, 1]] = new
    out, head, (g_old, g_new) = grad_of(lambda o, n: contrib("index_copy")(o, nd([4, 1], "int64"), n), old, new)
    np.testing.assert_array_equal(out, want)
    want_g_old = head.copy()
    want_g_old[[4, 1]] = 0
    np.testing.assert_array_equal(g_old, want_g_old)
    np.testing.assert_array_equal(g_new, head[[4, 1]])

    x = RNG.uniform(-2, 2, (3, 4)).astype(np.float32)
    y, head, (gx,) = grad_of(lambda v: contrib("quadratic")(v, a=2.0, b=-1.0, c=0.5), x)
    np.testing.assert_allclose(y, 2 * x * x - x + 0.5, rtol=1e-6)
    np.testing.assert_allclose(gx, head * (4 * x - 1), rtol=1e-6)
    np.testing.assert_allclose(contrib("div_sqrt_dim")(nd(x)).asnumpy(), x / 2, rtol=1e-6)
    idx = contrib("index_array")(nd(x), axes=(1,)).asnumpy()
    np.testing.assert_array_equal(idx[..., 0], np.broadcast_to(np.arange(4), (3, 4)))


# ---------------------------------------------------------------- optimizer updates

def test_lamb_two_phases_match_the_numpy_lamb_step():
    w = RNG.uniform(-1, 1, (4, 3)).astype(np.float32)
    g = RNG.uniform(-1, 1, (4, 3)).astype(np.float32)
    mean, var = np.zeros_like(w), np.zeros_like(w)
    weight, m, v = nd(w), nd(mean), nd(var)
    step = mx.nd.lamb_update_phase1(weight, nd(g), m, v, t=1, wd=0.01, beta1=0.9, beta2=0.999, epsilon=1e-6)
    r1, r2 = mx.nd.norm(weight), mx.nd.norm(step)
    mx.nd.lamb_update_phase2(weight, step, r1.reshape((1,)), r2.reshape((1,)), lr=0.01, out=weight)
    one_minus_b1, one_minus_b2 = 1 - np.float32(0.9), 1 - np.float32(0.999)  # as float32 kernels round them
    m_np = one_minus_b1 * g
    v_np = one_minus_b2 * g * g
    direction = (m_np / one_minus_b1) / (np.sqrt(v_np / one_minus_b2) + 1e-6) + 0.01 * w
    want = w - 0.01 * np.linalg.norm(w) / np.linalg.norm(direction) * direction
    np.testing.assert_allclose(m.asnumpy(), m_np, rtol=1e-6)
    np.testing.assert_allclose(v.asnumpy(), v_np, rtol=1e-6)
    np.testing.assert_allclose(weight.asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_mp_sgd_mom_update_keeps_a_float32_master_copy():
    w32 = RNG.uniform(-1, 1, 8).astype(np.float32)
    g = RNG.uniform(-1, 1, 8).astype(np.float16)
    weight, master, mom = nd(w32, "float16"), nd(w32), nd(np.zeros(8))
    for _ in range(3):
        mx.nd.mp_sgd_mom_update(weight, nd(g, "float16"), mom, master, lr=0.1, momentum=0.9, out=weight)
    m, w = np.zeros(8, np.float32), w32.copy()
    for _ in range(3):
        m = np.float32(0.9) * m - np.float32(0.1) * g.astype(np.float32)
        w = w + m
    np.testing.assert_allclose(master.asnumpy(), w, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(weight.asnumpy(), master.asnumpy().astype(np.float16))
