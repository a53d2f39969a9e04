"""gluon.utils (MXNet 1.9.1): split_data / split_and_load / clip_global_norm against numpy,
check_sha1 against hashlib, download from a file:// URL and its error without network."""
import hashlib
import warnings

import numpy as np
import pytest

import mx
from mx.gluon.utils import check_sha1, clip_global_norm, download, split_and_load, split_data


def test_split_data_even_and_uneven():
    x = np.arange(24, dtype=np.float32).reshape(6, 4)
    parts = split_data(mx.nd.array(x), 3)
    for got, ref in zip(parts, np.split(x, 3)):
        np.testing.assert_array_equal(got.asnumpy(), ref)
    parts = split_data(mx.nd.array(x), 4, batch_axis=1)
    for got, ref in zip(parts, np.split(x, 4, axis=1)):
        np.testing.assert_array_equal(got.asnumpy(), ref)
    # uneven: MXNet 1.9.1 gives size // n to each slice and the remainder to the last
    parts = split_data(mx.nd.array(x), 4, even_split=False)
    assert [p.shape[0] for p in parts] == [1, 1, 1, 3]
    np.testing.assert_array_equal(np.concatenate([p.asnumpy() for p in parts]), x)
    parts = split_data(mx.nd.array(x[:2]), 3, even_split=False)  # fewer rows than slices
    assert [p.shape[0] for p in parts] == [1, 1]
    with pytest.raises(ValueError, match=r"\(6, 4\) cannot be evenly split into 4 slices along axis 0"):
        split_data(mx.nd.array(x), 4)
    with pytest.raises(ValueError, match="batch_axis 2"):
        split_data(mx.nd.array(x), 2, batch_axis=2)


def test_split_and_load_to_contexts():
    x = np.random.RandomState(0).randn(4, 3).astype(np.float32)
    ctxs = [mx.cpu(0), mx.cpu(1)]
    parts = split_and_load(x, ctxs)  # numpy input is accepted
    assert [p.context for p in parts] == ctxs
    np.testing.assert_array_equal(parts[0].asnumpy(), x[:2])
    np.testing.assert_array_equal(parts[1].asnumpy(), x[2:])
    one = split_and_load(mx.nd.array(x), [mx.cpu(3)])
    assert len(one) == 1 and one[0].context == mx.cpu(3)
    np.testing.assert_array_equal(one[0].asnumpy(), x)


def test_clip_global_norm_scales_in_place():
    rs = np.random.RandomState(1)
    a, b = rs.randn(3, 4).astype(np.float32), rs.randn(5).astype(np.float32)
    norm = np.sqrt((a.astype(np.float64) ** 2).sum() + (b.astype(np.float64) ** 2).sum())
    arrays = [mx.nd.array(a), mx.nd.array(b, ctx=mx.cpu(1))]
    got = clip_global_norm(arrays, 1.0)
    assert isinstance(got, (float, np.floating))  # a scalar, as asscalar() gives
    np.testing.assert_allclose(got, norm, rtol=1e-5)
    np.testing.assert_allclose(arrays[0].asnumpy(), a / (norm + 1e-8), rtol=1e-5)
    np.testing.assert_allclose(arrays[1].asnumpy(), b / (norm + 1e-8), rtol=1e-5)
    assert arrays[1].context == mx.cpu(1)
    untouched = [mx.nd.array(a)]
    total = clip_global_norm(untouched, 1000.0, check_isfinite=False)
    assert isinstance(total, mx.nd.NDArray)
    np.testing.assert_allclose(total.asscalar(), np.linalg.norm(a), rtol=1e-5)
    np.testing.assert_array_equal(untouched[0].asnumpy(), a)  # under max_norm: scale 1
    with pytest.warns(UserWarning, match="nan or inf"):
        clip_global_norm([mx.nd.array([np.inf, 1.0])], 1.0)
    with pytest.raises(ValueError, match="empty"):
        clip_global_norm([], 1.0)


def test_check_sha1_and_download(tmp_path):
    src = tmp_path / "weights.bin"
    payload = b"mx gluon utils" * 100
    src.write_bytes(payload)
    sha1 = hashlib.sha1(payload).hexdigest()
    assert check_sha1(str(src), sha1) and not check_sha1(str(src), "0" * 40)
    dest = tmp_path / "out"
    dest.mkdir()
    got = download(src.as_uri(), path=str(dest), sha1_hash=sha1)
    assert got == str(dest / "weights.bin")
    assert open(got, "rb").read() == payload
    src.write_bytes(b"changed")
    assert download(src.as_uri(), path=str(dest), sha1_hash=sha1) == got  # already there: not fetched
    with pytest.raises(mx.base.MXNetError, match="hash does not match"):
        download(src.as_uri(), path=str(dest / "x.bin"), sha1_hash=sha1)
    url = "http://127.0.0.1:9/model.params"  # nothing listens there: as without network
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(mx.base.MXNetError, match="failed to fetch http://127.0.0.1:9/model.params"):
            download(url, path=str(tmp_path / "model.params"), retries=0, timeout=5)
    assert not (tmp_path / "model.params").exists()


def test_repo_url_from_environment(monkeypatch):
    from mx.gluon.utils import _get_repo_file_url
    monkeypatch.setenv("MXNET_GLUON_REPO", "file:///srv/gluon")
    assert _get_repo_file_url("gluon/models", "resnet18_v1-a0666292.zip") == \
        "file:///srv/gluon/gluon/models/resnet18_v1-a0666292.zip"
    monkeypatch.delenv("MXNET_GLUON_REPO")
    assert _get_repo_file_url("gluon/dataset", "x.zip") == \
        "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/gluon/dataset/x.zip"
