"""mx.gluon.loss (MXNet 1.9.1): every loss against its formula written here in numpy (float64),
against torch.nn.functional where torch has the same loss (CTC, BCE with pos_weight, KL, Huber,
Poisson NLL, cosine embedding), gradients against central finite differences in float64,
hybridized == imperative, and bad arguments."""
import numpy as np
import pytest
import torch
import torch.nn.functional as tF

import mx
from mx.base import MXNetError
from mx.gluon import loss as gloss

RNG = np.random.RandomState(0)
N, C = 4, 5


def nd(x, dtype=np.float32):
    return mx.nd.array(x, dtype=dtype)


def run(loss, *args, hybridize=False):
    if hybridize:
        loss.hybridize()
    out = loss(*[a if a is None else nd(a) for a in args])
    return out.asnumpy()


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def log_softmax(x, axis=-1):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def per_sample_mean(x):
    return x.reshape(x.shape[0], -1).mean(axis=1)


PRED = RNG.uniform(-2, 2, (N, C))
LABEL = RNG.uniform(-2, 2, (N, C))
SIGNS = np.sign(RNG.uniform(-1, 1, (N, C)))
BINARY = (RNG.uniform(0, 1, (N, C)) > 0.5).astype(np.float64)
SW = RNG.uniform(0.5, 1.5, (N, 1))


# ----------------------------------------------------------------- elementwise losses vs numpy
ELEMENTWISE = [
    ("L2", lambda: gloss.L2Loss(), LABEL, lambda p, l: 0.5 * (l - p) ** 2),
    ("L2w", lambda: gloss.L2Loss(weight=3.), LABEL, lambda p, l: 1.5 * (l - p) ** 2),
    ("L1", lambda: gloss.L1Loss(), LABEL, lambda p, l: np.abs(l - p)),
    ("BCE", lambda: gloss.SigmoidBCELoss(), BINARY,
     lambda p, l: -(l * np.log(sigmoid(p)) + (1 - l) * np.log(1 - sigmoid(p)))),
    ("BCE_from_sigmoid", lambda: gloss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=True), BINARY,
     lambda p, l: -(l * np.log(sigmoid(p) + 1e-12) + (1 - l) * np.log(1 - sigmoid(p) + 1e-12))),
    ("Huber", lambda: gloss.HuberLoss(rho=0.7), LABEL,
     lambda p, l: np.where(np.abs(l - p) > 0.7, np.abs(l - p) - 0.35, np.square(l - p) / 1.4)),
    ("Hinge", lambda: gloss.HingeLoss(margin=1.5), SIGNS, lambda p, l: np.maximum(0, 1.5 - p * l)),
    ("SquaredHinge", lambda: gloss.SquaredHingeLoss(), SIGNS, lambda p, l: np.maximum(0, 1 - p * l) ** 2),
    ("Logistic", lambda: gloss.LogisticLoss(), SIGNS, lambda p, l: np.log1p(np.exp(-p * l))),
    ("LogisticBinary", lambda: gloss.LogisticLoss(label_format="binary"), BINARY,
     lambda p, l: np.log1p(np.exp(-p * (2 * l - 1)))),
]


@pytest.mark.parametrize("name,make,label,formula", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
def test_elementwise_losses_match_numpy(name, make, label, formula):
    pred = sigmoid(PRED) if name == "BCE_from_sigmoid" else PRED
    want = per_sample_mean(formula(PRED, label))
    np.testing.assert_allclose(run(make(), pred, label), want, rtol=1e-5, atol=1e-6)
    # sample_weight (N, 1) broadcasts per sample; a flat label is reshaped like pred
    want_w = per_sample_mean(formula(PRED, label) * SW)
    np.testing.assert_allclose(run(make(), pred, label.reshape(-1), SW), want_w, rtol=1e-5, atol=1e-6)
    # hybridized gives the same
    np.testing.assert_allclose(run(make(), pred, label, SW, hybridize=True), want_w, rtol=1e-5, atol=1e-6)


def test_batch_axis_averages_the_other_axes():
    pred, label = RNG.uniform(-1, 1, (3, N, 2)), RNG.uniform(-1, 1, (3, N, 2))
    got = run(gloss.L1Loss(batch_axis=1), pred, label)
    np.testing.assert_allclose(got, np.abs(pred - label).mean(axis=(0, 2)), rtol=1e-5)


def test_bce_pos_weight_matches_torch():
    pos_weight = RNG.uniform(0.5, 3, (1, C))
    got = gloss.SigmoidBCELoss()(nd(PRED), nd(BINARY), None, nd(pos_weight)).asnumpy()
    want = tF.binary_cross_entropy_with_logits(torch.tensor(PRED), torch.tensor(BINARY), reduction="none",
                                               pos_weight=torch.tensor(pos_weight)).numpy().mean(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    probs = sigmoid(PRED)
    got = gloss.SigmoidBCELoss(from_sigmoid=True)(nd(probs), nd(BINARY), None, nd(pos_weight)).asnumpy()
    want = -(pos_weight * BINARY * np.log(probs + 1e-12) + (1 - BINARY) * np.log(1 - probs + 1e-12)).mean(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bce_is_stable_for_large_logits():
    pred = np.array([[-200., 200., 50., -50.]])
    got = run(gloss.SigmoidBCELoss(), pred, np.array([[1., 0., 1., 0.]]))
    np.testing.assert_allclose(got, [(200 + 200 + 0 + 0) / 4], rtol=1e-5)


def test_softmax_cross_entropy_sparse_dense_axis_and_from_logits():
    labels = RNG.randint(0, C, N)
    want = -log_softmax(PRED)[np.arange(N), labels]
    np.testing.assert_allclose(run(gloss.SoftmaxCrossEntropyLoss(), PRED, labels), want, rtol=1e-5)
    torch_ce = tF.cross_entropy(torch.tensor(PRED), torch.tensor(labels), reduction="none").numpy()
    np.testing.assert_allclose(run(gloss.SoftmaxCELoss(), PRED, labels, hybridize=True), torch_ce, rtol=1e-5)
    # dense labels (a distribution per sample), with sample weights
    dist = np.exp(log_softmax(LABEL))
    want = -(dist * log_softmax(PRED)).sum(axis=1) * SW[:, 0]
    np.testing.assert_allclose(run(gloss.SoftmaxCELoss(sparse_label=False), PRED, dist, SW), want, rtol=1e-5)
    # from_logits: pred already log-probabilities
    logp = log_softmax(PRED)
    np.testing.assert_allclose(run(gloss.SoftmaxCELoss(from_logits=True), logp, labels),
                               -logp[np.arange(N), labels], rtol=1e-5)
    # classes on axis 1 of (N, C, T): label (N, T), averaged over T
    pred3 = RNG.uniform(-1, 1, (N, C, 3))
    lab3 = RNG.randint(0, C, (N, 3))
    lp = log_softmax(pred3, axis=1)
    want = -np.take_along_axis(lp, lab3[:, None, :], axis=1)[:, 0, :].mean(axis=1)
    np.testing.assert_allclose(run(gloss.SoftmaxCELoss(axis=1), pred3, lab3), want, rtol=1e-5)


def test_kl_div_matches_formula_and_torch():
    target = np.exp(log_softmax(LABEL))
    logp = log_softmax(PRED)
    want = (target * (np.log(target + 1e-12) - logp)).mean(axis=1)
    np.testing.assert_allclose(run(gloss.KLDivLoss(), logp, target), want, rtol=1e-5, atol=1e-7)
    torch_kl = tF.kl_div(torch.tensor(logp), torch.tensor(target), reduction="none").numpy().mean(axis=1)
    np.testing.assert_allclose(run(gloss.KLDivLoss(), logp, target), torch_kl, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(run(gloss.KLDivLoss(from_logits=False), PRED, target, hybridize=True), want,
                               rtol=1e-5, atol=1e-7)


def test_huber_matches_torch_smooth_l1():
    rho = 0.7
    want = tF.smooth_l1_loss(torch.tensor(PRED), torch.tensor(LABEL), reduction="none", beta=rho).numpy()
    np.testing.assert_allclose(run(gloss.HuberLoss(rho=rho), PRED, LABEL), want.mean(axis=1), rtol=1e-5)


def test_triplet_loss_sums_per_sample():
    pos, neg = RNG.uniform(-1, 1, (N, C)), RNG.uniform(-1, 1, (N, C))
    want = np.maximum(((pos - PRED) ** 2).sum(1) - ((neg - PRED) ** 2).sum(1) + 0.5, 0)
    np.testing.assert_allclose(run(gloss.TripletLoss(margin=0.5), PRED, pos, neg), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run(gloss.TripletLoss(margin=0.5), PRED, pos, neg, hybridize=True), want,
                               rtol=1e-5, atol=1e-6)


def test_poisson_nll_matches_torch():
    target = RNG.poisson(2.0, (N, C)).astype(np.float64)
    for from_logits in (True, False):
        pred = PRED if from_logits else np.exp(PRED)
        for full in (False, True):
            got = run(gloss.PoissonNLLLoss(from_logits=from_logits, compute_full=full), pred, target)
            want = tF.poisson_nll_loss(torch.tensor(pred), torch.tensor(target), log_input=from_logits,
                                       full=full, eps=1e-8, reduction="mean").item()
            assert got.size == 1
            np.testing.assert_allclose(got.reshape(()), want, rtol=1e-5)


def test_cosine_embedding_matches_torch():
    a, b = RNG.uniform(-1, 1, (N, C)), RNG.uniform(-1, 1, (N, C))
    label = np.array([1, -1, 1, -1], np.float64)
    for margin in (0., 0.2):
        got = run(gloss.CosineEmbeddingLoss(margin=margin), a, b, label)
        want = tF.cosine_embedding_loss(torch.tensor(a), torch.tensor(b), torch.tensor(label), margin=margin,
                                        reduction="none").numpy()
        assert got.shape == (N, 1)
        np.testing.assert_allclose(got[:, 0], want, rtol=1e-5, atol=1e-6)
    got = run(gloss.CosineEmbeddingLoss(), a, b, label, hybridize=True)
    np.testing.assert_allclose(got[:, 0], want if margin == 0 else tF.cosine_embedding_loss(
        torch.tensor(a), torch.tensor(b), torch.tensor(label), reduction="none").numpy(), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------- CTC vs torch
@pytest.mark.parametrize("layout,label_layout", [("NTC", "NT"), ("TNC", "TN")])
def test_ctc_matches_torch(layout, label_layout):
    T, B, K = 6, 3, 5  # K classes including the blank, which is K-1 ('last')
    logits = RNG.uniform(-1, 1, (T, B, K))
    labels = np.array([[1, 0, -1], [2, 1, 1], [0, 3, 2]], np.float64)
    label_lengths = np.array([2, 3, 3])
    pred_lengths = np.array([6, 5, 6])
    ref_logp = torch.log_softmax(torch.tensor(logits), dim=2)
    targets = torch.tensor(np.where(labels < 0, 0, labels), dtype=torch.long)
    # torch's blank is 0: shift classes up by one and move our blank (K-1) to 0
    ref_logp = torch.cat([ref_logp[:, :, K - 1:], ref_logp[:, :, :K - 1]], dim=2)
    want = tF.ctc_loss(ref_logp, targets + 1, torch.tensor(pred_lengths), torch.tensor(label_lengths),
                       blank=0, reduction="none").numpy()
    pred = logits.transpose(1, 0, 2) if layout == "NTC" else logits
    lab = labels if label_layout == "NT" else labels.T
    loss = gloss.CTCLoss(layout=layout, label_layout=label_layout)
    got = loss(nd(pred), nd(lab), nd(pred_lengths), nd(label_lengths)).asnumpy()
    np.testing.assert_allclose(got, want, rtol=1e-4)
    # without lengths: full time, labels end at the first -1 padding
    full = tF.ctc_loss(ref_logp, targets + 1, torch.tensor([T] * B), torch.tensor(label_lengths), blank=0,
                       reduction="none").numpy()
    np.testing.assert_allclose(loss(nd(pred), nd(lab)).asnumpy(), full, rtol=1e-4)
    loss.hybridize()
    np.testing.assert_allclose(loss(nd(pred), nd(lab), nd(pred_lengths), nd(label_lengths)).asnumpy(), want,
                               rtol=1e-4)


# ----------------------------------------------------------------- gradients vs finite differences
def fd_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


GRAD_CASES = [
    ("SoftmaxCE", lambda: gloss.SoftmaxCELoss(), RNG.randint(0, C, N).astype(np.float64)),
    ("BCE", lambda: gloss.SigmoidBCELoss(), BINARY),
    ("Huber", lambda: gloss.HuberLoss(rho=0.5), LABEL),
    ("Logistic", lambda: gloss.LogisticLoss(), SIGNS),
    ("KLDiv", lambda: gloss.KLDivLoss(from_logits=False), np.exp(log_softmax(LABEL))),
]


@pytest.mark.parametrize("name,make,label", GRAD_CASES, ids=[g[0] for g in GRAD_CASES])
def test_gradients_match_finite_differences(name, make, label):
    loss = make()
    pred = PRED.copy()
    x = nd(pred, np.float64)
    x.attach_grad()
    with mx.autograd.record():
        out = loss(x, nd(label, np.float64))
    out.backward()
    f = lambda p: loss(nd(p, np.float64), nd(label, np.float64)).asnumpy().sum()  # noqa: E731
    np.testing.assert_allclose(x.grad.asnumpy(), fd_grad(f, pred), rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------- bad arguments
def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="CTCLoss.*layout"):
        gloss.CTCLoss(layout="NCT")
    with pytest.raises(ValueError, match="label_layout"):
        gloss.CTCLoss(label_layout="TT")
    with pytest.raises(ValueError, match="label_format"):
        gloss.LogisticLoss(label_format="zero-one")
    with pytest.raises(TypeError, match="L1Loss.*weight"):
        gloss.L1Loss(weight="heavy")
    with pytest.raises(ValueError, match=r"\(4, 5\)"):
        gloss.L2Loss()(nd(PRED), nd(np.zeros((3, 5))))
    with pytest.raises(ValueError, match="SoftmaxCrossEntropyLoss"):
        gloss.SoftmaxCELoss()(nd(PRED), nd(np.zeros(3)))
    with pytest.raises((MXNetError, ValueError)):
        gloss.SoftmaxCELoss(sparse_label=False)(nd(PRED), nd(np.zeros((4, 4)))).asnumpy()
    assert repr(gloss.L1Loss(weight=2.)) == "L1Loss(batch_axis=0, w=2.0)"
