"""The spatial-sampling, ROI and detection ops (core/op/defs/spatial.cc, detection.cc) from Python:
values and gradients against torch 1.13 where torch has the op (grid_sample, affine_grid,
interpolate, adaptive_avg_pool2d), against small numpy loops elsewhere."""
import numpy as np
import pytest

import mx

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.RandomState(16)


def nd(x, dtype="float32"):
    return mx.nd.array(np.asarray(x), dtype=dtype)


def contrib(name):
    """mx.nd.contrib.X, or the registered _contrib_X while the namespace is not there."""
    ns = getattr(mx.nd, "contrib", None)
    return getattr(ns, name, None) or getattr(mx.nd, "_contrib_" + name)


def grad_of(f, *arrays):
    """Values of f(*arrays) (float64) and the gradients of sum(f * head) w.r.t. each array."""
    xs = [nd(a, "float64") for a in arrays]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = f(*xs)
    head = RNG.uniform(-1, 1, y.shape)
    y.backward(nd(head, "float64"))
    return y.asnumpy(), head, [x.grad.asnumpy() for x in xs]


def torch_grads(f, head, *arrays):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    y = f(*ts)
    (y * torch.tensor(head, dtype=torch.float64)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


def check_against_torch(mx_f, torch_f, *arrays):
    y, head, grads = grad_of(mx_f, *arrays)
    ty, tgrads = torch_grads(torch_f, head, *arrays)
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-12)
    for g, tg in zip(grads, tgrads):
        np.testing.assert_allclose(g, tg, rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------- sampling

def test_bilinear_sampler_is_grid_sample_with_corners_aligned():
    data = RNG.uniform(-1, 1, (2, 3, 5, 6))
    grid = RNG.uniform(-1.15, 1.15, (2, 2, 4, 3))  # (x, y) channels, partly outside: zeros there
    check_against_torch(
        lambda d, g: mx.nd.BilinearSampler(d, g),
        lambda d, g: F.grid_sample(d, g.permute(0, 2, 3, 1), mode="bilinear", padding_mode="zeros", align_corners=True),
        data, grid)


def test_grid_generator_affine_is_affine_grid():
    theta = RNG.uniform(-1, 1, (2, 6))
    check_against_torch(
        lambda t: mx.nd.GridGenerator(t, transform_type="affine", target_shape=(4, 5)),
        lambda t: F.affine_grid(t.reshape(2, 2, 3), [2, 1, 4, 5], align_corners=True).permute(0, 3, 1, 2),
        theta)


def test_grid_generator_warp_adds_the_flow_to_the_pixel_grid():
    flow = RNG.uniform(-1, 1, (1, 2, 3, 5))
    out = mx.nd.GridGenerator(nd(flow), transform_type="warp").asnumpy()
    ys, xs = np.mgrid[0:3, 0:5]
    np.testing.assert_allclose(out[0, 0], (flow[0, 0] + xs) / 2.0 - 1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out[0, 1], (flow[0, 1] + ys) / 1.0 - 1, rtol=1e-6, atol=1e-6)


def test_spatial_transformer_is_grid_sample_of_affine_grid():
    data = RNG.uniform(-1, 1, (2, 2, 5, 5))
    loc = np.array([[0.87, 0.11, 0.07, -0.13, 0.79, 0.09], [0.61, -0.29, 0.21, 0.23, 1.09, -0.17]])
    check_against_torch(
        lambda d, t: mx.nd.SpatialTransformer(d, t, target_shape=(3, 4), transform_type="affine", sampler_type="bilinear"),
        lambda d, t: F.grid_sample(d, F.affine_grid(t.reshape(2, 2, 3), [2, 2, 3, 4], align_corners=True),
                                   align_corners=True),
        data, loc)


@pytest.mark.parametrize("size,align", [((7, 9), True), ((3, 2), True), ((7, 9), False), ((2, 5), False)])
def test_bilinear_resize_is_interpolate(size, align):
    data = RNG.uniform(-1, 1, (2, 3, 4, 5))
    check_against_torch(
        lambda d: contrib("BilinearResize2D")(d, height=size[0], width=size[1], align_corners=align),
        lambda d: F.interpolate(d, size=size, mode="bilinear", align_corners=align),
        data)


def test_bilinear_resize_modes_choose_mxnet_sizes():
    x = nd(RNG.uniform(size=(1, 1, 5, 6)))
    resize = contrib("BilinearResize2D")
    assert resize(x, scale_height=2.0, scale_width=0.5).shape == (1, 1, 10, 3)
    assert resize(x, mode="odd_scale", scale_height=2.0, scale_width=2.0).shape == (1, 1, 9, 12)
    assert resize(x, mode="to_even_down").shape == (1, 1, 4, 6)
    assert resize(x, mode="to_odd_up").shape == (1, 1, 5, 7)
    like = nd(np.zeros((3, 2, 8, 2)))
    out = resize(x, like, mode="like")
    assert out.shape == (1, 1, 8, 2)
    want = F.interpolate(torch.tensor(x.asnumpy()), size=(8, 2), mode="bilinear", align_corners=True).numpy()
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("output_size,torch_size", [((3, 4), (3, 4)), (2, (2, 2)), ((5, 1), (5, 1))])
def test_adaptive_avg_pooling_is_torch(output_size, torch_size):
    data = RNG.uniform(-1, 1, (2, 2, 7, 6))
    check_against_torch(lambda d: contrib("AdaptiveAvgPooling2D")(d, output_size=output_size),
                        lambda d: F.adaptive_avg_pool2d(d, torch_size), data)


# ---------------------------------------------------------------- ROI pooling, correlation

ROIS = np.array([[0, 0.6, 1.2, 4.6, 3.7], [1, 2.2, 0.3, 5.2, 4.4], [1, 0.0, 0.0, 1.3, 1.4]])


def roi_align_numpy(x, rois, ph, pw, scale, ratio):
    """Detectron's ROIAlign (aligned=False) written out with numpy."""
    R, (N, C, H, W) = len(rois), x.shape
    out = np.zeros((R, C, ph, pw))
    for r, (b, x1, y1, x2, y2) in enumerate(rois):
        xs, ys = x1 * scale, y1 * scale
        rw, rh = max(x2 * scale - xs, 1.0), max(y2 * scale - ys, 1.0)
        gh = ratio if ratio > 0 else int(np.ceil(rh / ph))
        gw = ratio if ratio > 0 else int(np.ceil(rw / pw))
        for i in range(ph):
            for j in range(pw):
                acc = np.zeros(C)
                for a in range(gh):
                    for q in range(gw):
                        yy = ys + rh / ph * (i + (a + 0.5) / gh)
                        xx = xs + rw / pw * (j + (q + 0.5) / gw)
                        if yy < -1 or yy > H or xx < -1 or xx > W:
                            continue
                        yy, xx = min(max(yy, 0), H - 1), min(max(xx, 0), W - 1)
                        y0, x0 = int(yy), int(xx)
                        y1_, x1_ = min(y0 + 1, H - 1), min(x0 + 1, W - 1)
                        ly, lx = yy - y0, xx - x0
                        img = x[int(b)]
                        acc += ((1 - ly) * (1 - lx) * img[:, y0, x0] + (1 - ly) * lx * img[:, y0, x1_]
                                + ly * (1 - lx) * img[:, y1_, x0] + ly * lx * img[:, y1_, x1_])
                out[r, :, i, j] = acc / (gh * gw)
    return out


@pytest.mark.parametrize("ratio", [2, -1])
def test_roi_align_matches_numpy_and_its_gradient_is_linear(ratio):
    x = RNG.uniform(-1, 1, (2, 3, 6, 7))
    kw = dict(pooled_size=(2, 3), spatial_scale=0.9, sample_ratio=ratio)
    y, head, (gx, grois) = grad_of(lambda d, r: contrib("ROIAlign")(d, r, **kw), x, ROIS)
    np.testing.assert_allclose(y, roi_align_numpy(x, ROIS, 2, 3, 0.9, ratio), rtol=1e-12, atol=1e-12)
    # the op is linear in data: <gx, x> = <head, y>; the ROI boxes get no gradient (as MXNet)
    np.testing.assert_allclose((gx * x).sum(), (head * y).sum(), rtol=1e-10)
    assert not grois.any()


def test_roi_pooling_takes_window_maxima_and_routes_the_gradient_to_them():
    x = RNG.uniform(-1, 1, (2, 2, 6, 6))
    rois = np.array([[0, 1.2, 0.8, 4.1, 3.9], [1, 0.0, 0.0, 5.2, 5.3]])
    y, head, (gx, _) = grad_of(lambda d, r: mx.nd.ROIPooling(d, r, pooled_size=(2, 2), spatial_scale=1.0), x, rois)
    # roi 0: x 1..4, y 1..4 (4 x 4 pixels), bins of 2; roi 1: the whole 6 x 6 image, bins of 3
    want = np.stack([
        x[0, :, 1:5, 1:5].reshape(2, 2, 2, 2, 2).max(axis=(2, 4)),
        x[1, :, 0:6, 0:6].reshape(2, 2, 3, 2, 3).max(axis=(2, 4))])
    np.testing.assert_allclose(y, want, rtol=1e-12)
    expect = np.zeros_like(x)
    for r, (b, ys, xs, size) in enumerate([(0, 1, 1, 2), (1, 0, 0, 3)]):
        for c in range(2):
            for i in range(2):
                for j in range(2):
                    win = x[b, c, ys + i * size: ys + (i + 1) * size, xs + j * size: xs + (j + 1) * size]
                    a, q = np.unravel_index(np.argmax(win), win.shape)
                    expect[b, c, ys + i * size + a, xs + j * size + q] += head[r, c, i, j]
    np.testing.assert_allclose(gx, expect, rtol=1e-12)


def test_correlation_matches_a_numpy_loop_and_torch_autograd():
    a, b = RNG.uniform(-1, 1, (2, 1, 3, 5, 6))
    md, pad = 2, 1

    def corr(x1, x2, lib):
        p1 = lib.nn.functional.pad(x1, (pad, pad, pad, pad)) if lib is torch else np.pad(x1, ((0, 0), (0, 0), (pad,) * 2, (pad,) * 2))
        p2 = lib.nn.functional.pad(x2, (pad, pad, pad, pad)) if lib is torch else np.pad(x2, ((0, 0), (0, 0), (pad,) * 2, (pad,) * 2))
        H, W = p1.shape[2] - 2 * md, p1.shape[3] - 2 * md
        outs = []
        for dy in range(-md, md + 1):
            for dx in range(-md, md + 1):
                prod = p1[:, :, md:md + H, md:md + W] * p2[:, :, md + dy:md + dy + H, md + dx:md + dx + W]
                outs.append(prod.mean(axis=1) if lib is np else prod.mean(dim=1))
        return np.stack(outs, axis=1) if lib is np else torch.stack(outs, dim=1)

    y = mx.nd.Correlation(nd(a, "float64"), nd(b, "float64"), kernel_size=1, max_displacement=md, pad_size=pad).asnumpy()
    np.testing.assert_allclose(y, corr(a, b, np), rtol=1e-12, atol=1e-14)
    check_against_torch(lambda x1, x2: mx.nd.Correlation(x1, x2, max_displacement=md, pad_size=pad),
                        lambda x1, x2: corr(x1, x2, torch), a, b)


# ---------------------------------------------------------------- detection

def iou_numpy(a, b):
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda z: (z[:, 2] - z[:, 0]) * (z[:, 3] - z[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def random_boxes(n):
    xy = RNG.uniform(0, 0.6, (n, 2))
    return np.concatenate([xy, xy + RNG.uniform(0.1, 0.4, (n, 2))], axis=1)


def test_box_iou_corner_and_center():
    a, b = random_boxes(5), random_boxes(3)
    np.testing.assert_allclose(contrib("box_iou")(nd(a), nd(b)).asnumpy(), iou_numpy(a, b), rtol=1e-5, atol=1e-6)
    center = lambda z: np.concatenate([(z[:, :2] + z[:, 2:]) / 2, z[:, 2:] - z[:, :2]], axis=1)
    got = contrib("box_iou")(nd(center(a).reshape(1, 5, 4)), nd(center(b)), format="center").asnumpy()
    assert got.shape == (1, 5, 3)
    np.testing.assert_allclose(got[0], iou_numpy(a, b), rtol=1e-5, atol=1e-6)


def test_box_nms_sorts_suppresses_and_fills_with_minus_one():
    rows = np.array([[0, 0.5, 0.1, 0.1, 0.5, 0.5],
                     [0, 0.9, 0.12, 0.1, 0.52, 0.5],   # overlaps row 0 and scores higher
                     [1, 0.8, 0.1, 0.1, 0.5, 0.52],    # overlaps too, but another class
                     [1, 0.7, 0.6, 0.6, 0.9, 0.9],
                     [0, 0.05, 0.6, 0.6, 0.9, 0.9]])   # below valid_thresh
    out = contrib("box_nms")(nd(rows), overlap_thresh=0.5, valid_thresh=0.1).asnumpy()
    np.testing.assert_allclose(out[:2], rows[[1, 3]], rtol=1e-6)
    assert (out[2:] == -1).all()
    out = mx.nd._contrib_box_non_maximum_suppression(nd(rows), valid_thresh=0.1, id_index=0).asnumpy()
    np.testing.assert_allclose(out[:3], rows[[1, 2, 3]], rtol=1e-6)
    assert (out[3:] == -1).all()


def test_bipartite_matching_and_multibox_prior():
    scores = np.array([[0.5, 0.6], [0.1, 0.3], [0.9, 0.2]])
    rows, cols = contrib("bipartite_matching")(nd(scores), threshold=0.25)
    np.testing.assert_array_equal(rows.asnumpy(), [1, -1, 0])
    np.testing.assert_array_equal(cols.asnumpy(), [2, 0])
    anchors = contrib("MultiBoxPrior")(nd(np.zeros((1, 3, 2, 4))), sizes=(0.5,), ratios=(1, 4)).asnumpy()
    assert anchors.shape == (1, 2 * 4 * 2, 4)
    # cell (0, 0): centre (0.125, 0.25); size 0.5 box, then ratio 4 (twice as wide, half as high)
    w, h = 0.5 * 2 / 4 / 2, 0.5 / 2
    np.testing.assert_allclose(anchors[0, 0], [0.125 - w, 0.25 - h, 0.125 + w, 0.25 + h], rtol=1e-6)
    np.testing.assert_allclose(anchors[0, 1], [0.125 - 2 * w, 0.25 - h / 2, 0.125 + 2 * w, 0.25 + h / 2], rtol=1e-6)


def test_multibox_target_and_detection_round_trip():
    anchors = np.array([[[0.1, 0.1, 0.4, 0.4], [0.5, 0.5, 0.9, 0.9], [0.0, 0.6, 0.3, 0.95]]])
    label = np.array([[[2, 0.12, 0.08, 0.42, 0.38], [-1, -1, -1, -1, -1]]])
    cls_pred = np.zeros((1, 4, 3))
    loc_t, mask, cls_t = contrib("MultiBoxTarget")(nd(anchors), nd(label), nd(cls_pred))
    np.testing.assert_array_equal(cls_t.asnumpy(), [[3, 0, 0]])
    np.testing.assert_array_equal(mask.asnumpy(), [[1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]])
    # decoding the location target of the matched anchor gives the labelled box back
    prob = np.array([[[0.1, 0.8, 0.9], [0.0, 0.1, 0.05], [0.0, 0.05, 0.03], [0.9, 0.05, 0.02]]])
    det = contrib("MultiBoxDetection")(nd(prob), loc_t, nd(anchors), threshold=0.5).asnumpy()
    assert det.shape == (1, 3, 6)
    np.testing.assert_allclose(det[0, 0], [2, 0.9, 0.12, 0.08, 0.42, 0.38], rtol=1e-5, atol=1e-6)
    assert (det[0, 1:] == -1).all()


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("call,match", [
    (lambda: mx.nd.ROIPooling(nd(np.zeros((1, 2, 4, 4))), nd(np.zeros((2, 4))), pooled_size=(2, 2), spatial_scale=1.0),
     r"ROIPooling.*\(2,4\)"),
    (lambda: mx.nd.BilinearSampler(nd(np.zeros((1, 2, 4, 4))), nd(np.zeros((1, 3, 4, 4)))), r"BilinearSampler.*\(1,3,4,4\)"),
    (lambda: contrib("ROIAlign")(nd(np.zeros((1, 2, 4, 4))), nd(np.zeros((2, 6))), pooled_size=(2, 2), spatial_scale=1.0),
     r"ROIAlign.*\(2,6\)"),
])
def test_bad_shapes_are_errors_naming_op_and_shapes(call, match):
    with pytest.raises(mx.base.MXNetError, match=match):
        call().asnumpy()
