"""mx.test_utils against numpy and hand-written expectations (MXNet 1.9.1's helpers)."""
import gzip
import os

import numpy as np
import pytest

import mx
from mx import test_utils as tu


def test_tolerances_default_by_dtype():
    # MXNet: float32 rtol 1e-4 / atol 1e-3, float64 rtol 1e-5 / atol 1e-20, integers exact.
    assert tu.get_tols(np.ones(2, np.float32), np.ones(2, np.float32), None, None) == (1e-4, 1e-3)
    assert tu.get_tols(np.ones(2), np.ones(2, np.float16), None, None) == (1e-2, 1e-1)
    assert tu.get_tols(np.ones(2, np.int32), np.ones(2, np.int32), None, None) == (0, 0)
    assert tu.default_dtype() is np.float32
    assert tu.default_numeric_eps()[np.dtype(np.float32)] == 1.0 / 2 ** 9


def test_almost_equal_and_same():
    x32 = np.ones(4, np.float32)
    assert tu.almost_equal(x32, x32 + 5e-4)              # within float32's atol 1e-3
    assert not tu.almost_equal(np.ones(4), np.ones(4) + 5e-4)  # float64 is strict
    assert tu.almost_equal(mx.nd.array(x32), x32 + 5e-4)
    assert tu.almost_equal(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), equal_nan=True)
    assert not tu.almost_equal(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert tu.same(mx.nd.array([1, 2]), np.array([1.0, 2.0]))
    assert not tu.same(np.array([1, 2]), np.array([1, 3]))


def test_assert_almost_equal_names_the_worst_index():
    a = np.zeros((2, 3))
    b = a.copy()
    b[1, 2] = 0.5
    b[0, 1] = 0.1
    with pytest.raises(AssertionError) as err:
        tu.assert_almost_equal(a, b, names=("got", "want"))
    message = str(err.value)
    assert "(1, 2)" in message and "got" in message and "want" in message
    tu.assert_almost_equal(a, b, atol=0.6)
    tu.assert_almost_equal(np.ones((2, 3)), np.ones(3))  # broadcast by default
    with pytest.raises(AssertionError, match="shape"):
        tu.assert_almost_equal(np.ones((2, 3)), np.ones(3), use_broadcast=False)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.array([np.nan]), np.array([np.nan]))
    tu.assert_almost_equal(np.array([np.nan]), np.array([np.nan]), equal_nan=True)


def test_assert_allclose_and_assert_exception():
    tu.assert_allclose(mx.nd.array([1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(AssertionError):
        tu.assert_allclose(np.array([1.0]), np.array([1.0 + 1e-6]))
    tu.assert_exception(int, ValueError, "not a number")
    with pytest.raises(AssertionError, match="did not raise"):
        tu.assert_exception(int, ValueError, "12")


def test_default_context_can_be_set():
    saved = tu.default_context()
    assert saved == mx.cpu()
    try:
        tu.set_default_context(mx.cpu(1))
        assert tu.default_context() == mx.cpu(1)
    finally:
        tu.set_default_context(saved)


def test_random_helpers():
    arr = tu.rand_ndarray((3, 4))
    assert isinstance(arr, mx.nd.NDArray) and arr.shape == (3, 4) and arr.dtype == np.float32
    assert tu.rand_ndarray((2,), dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="csr"):
        tu.rand_ndarray((3, 4), stype="csr")
    for _ in range(20):
        d0, d1 = tu.rand_shape_2d(3, 4)
        assert 1 <= d0 <= 3 and 1 <= d1 <= 4
        shape3 = tu.rand_shape_3d(2, 2, 2)
        assert len(shape3) == 3 and all(1 <= d <= 2 for d in shape3)
        shape = tu.rand_shape_nd(4, 5)
        assert len(shape) == 4 and all(1 <= d <= 5 for d in shape)
        assert min(tu.rand_shape_nd(3, 1, allow_zero_size=True)) >= 0
    one = tu.random_arrays((2, 3))
    many = tu.random_arrays((2,), (), (1, 1))
    assert one.shape == (2, 3) and one.dtype == np.float32
    assert [m.shape for m in many] == [(2,), (), (1, 1)]
    picked = tu.random_sample(list(range(10)), 4)
    assert len(picked) == 4 and len(set(picked)) == 4 and set(picked) <= set(range(10))
    with pytest.raises(ValueError):
        tu.random_sample([1, 2], 3)


def test_np_reduce_matches_numpy():
    data = np.random.rand(2, 3, 4)
    np.testing.assert_allclose(tu.np_reduce(data, (0, 2), False, np.sum), data.sum(axis=(0, 2)))
    np.testing.assert_allclose(tu.np_reduce(data, 1, True, np.max), data.max(axis=1, keepdims=True))
    np.testing.assert_allclose(tu.np_reduce(data, None, True, np.sum), data.sum(keepdims=True))


def test_simple_forward_matches_numpy():
    x, w = mx.sym.Variable("x"), mx.sym.Variable("w")
    data, weight = np.random.rand(2, 3), np.random.rand(3, 3)
    out = tu.simple_forward(mx.sym.dot(x, w) + 1, x=data, w=weight)
    np.testing.assert_allclose(out, data.dot(weight) + 1, rtol=1e-6)


def test_check_consistency_float32_against_float64():
    x = mx.sym.Variable("x")
    sym = mx.sym.tanh(x) * 2
    ctx_list = [{"ctx": mx.cpu(0), "x": (3, 4), "type_dict": {"x": np.float32}},
                {"ctx": mx.cpu(0), "x": (3, 4), "type_dict": {"x": np.float64}}]
    data = np.random.normal(size=(3, 4))
    truth = tu.check_consistency(sym, ctx_list, arg_params={"x": data})
    # Training pass: backward from the outputs, so grad = out * 2 * (1 - tanh^2).
    out = np.tanh(data) * 2
    np.testing.assert_allclose(truth[sym.list_outputs()[0]], out, rtol=1e-10)
    np.testing.assert_allclose(truth["x"], out * 2 * (1 - np.tanh(data) ** 2), rtol=1e-10)
    wrong = {sym.list_outputs()[0]: out + 0.5}
    with pytest.raises(AssertionError):
        tu.check_consistency(sym, ctx_list, arg_params={"x": data}, ground_truth=wrong)


def test_check_speed_times_a_pass():
    x = mx.sym.Variable("x")
    sym = mx.sym.tanh(x)
    assert tu.check_speed(sym, N=3, x=(4, 5)) > 0
    assert tu.check_speed(sym, location={"x": np.ones((2, 2))}, N=3, typ="forward") > 0
    with pytest.raises(ValueError, match="typ"):
        tu.check_speed(sym, typ="backward", x=(4, 5))


def test_compare_optimizer():
    tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1, momentum=0.9),
                         mx.optimizer.SGD(learning_rate=0.1, momentum=0.9), (3, 4), np.float32)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(mx.optimizer.SGD(learning_rate=0.1), mx.optimizer.SGD(learning_rate=0.5),
                             (3, 4), np.float32)
    with pytest.raises(ValueError, match="row_sparse"):
        tu.compare_optimizer(mx.optimizer.SGD(), mx.optimizer.SGD(), (3, 4), np.float32, w_stype="row_sparse")


def test_sampler_statistics():
    np.random.seed(7)
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda q: q * 2.0, 4)  # uniform(0, 2)'s quantiles
    assert buckets == [(0.0, 0.5), (0.5, 1.0), (1.0, 1.5), (1.5, 2.0)] and probs == [0.25] * 4
    uniform = lambda n: np.random.uniform(0, 2, size=n)
    p, obs, expected = tu.chi_square_check(uniform, buckets, probs, nsamples=20000)
    assert p > 1e-3 and obs.sum() == 20000 and list(expected) == [5000] * 4
    skewed = lambda n: np.random.uniform(0, 2, size=n) ** 2 / 2
    assert tu.chi_square_check(skewed, buckets, probs, nsamples=20000)[0] < 1e-6
    dice = lambda n: np.random.randint(1, 7, size=n)
    assert tu.chi_square_check(dice, [1, 2, 3, 4, 5, 6], [1 / 6.0] * 6, nsamples=12000)[0] > 1e-3
    assert len(tu.verify_generator(uniform, buckets, probs, nsamples=5000, nrepeat=3)) == 3
    with pytest.raises(AssertionError, match="Generator test fails"):
        tu.verify_generator(skewed, buckets, probs, nsamples=5000, nrepeat=3)
    normal = lambda n: np.random.normal(1.0, 2.0, size=n)
    assert tu.mean_check(normal, 1.0, 2.0, nsamples=50000)
    assert not tu.mean_check(normal, 1.2, 2.0, nsamples=50000)
    assert tu.var_check(normal, 2.0, nsamples=50000)
    assert not tu.var_check(normal, 2.3, nsamples=50000)


def test_environment_sets_and_restores():
    os.environ.pop("MX_TU_A", None)
    os.environ["MX_TU_B"] = "old"
    try:
        with tu.environment({"MX_TU_A": "1", "MX_TU_B": None}):
            assert os.environ["MX_TU_A"] == "1" and "MX_TU_B" not in os.environ
        assert "MX_TU_A" not in os.environ and os.environ["MX_TU_B"] == "old"
        with tu.environment("CD_JOB", "1"):
            assert tu.is_cd_run()
        assert tu.is_cd_run() == (os.environ.get("CD_JOB") == "1")
    finally:
        os.environ.pop("MX_TU_B", None)


def test_discard_stderr(capfd):
    with tu.discard_stderr():
        os.write(2, b"hidden")
    os.write(2, b"shown")
    assert capfd.readouterr().err == "shown"


def test_retry_reruns_failing_tests():
    calls = []

    def flaky():
        calls.append(1)
        assert len(calls) >= 3

    tu.retry(3)(flaky)()
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(AssertionError):
        tu.retry(2)(flaky)()


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Fashion-MNIST is not installed")
def test_get_mnist_reads_the_idx_files():
    data = tu.get_mnist(FASHION)
    assert data["train_data"].shape == (60000, 1, 28, 28) and data["train_data"].dtype == np.float32
    assert data["test_data"].shape == (10000, 1, 28, 28)
    assert data["train_label"].shape == (60000,) and data["test_label"].shape == (10000,)
    assert 0.0 <= data["train_data"].min() and data["train_data"].max() <= 1.0
    # Independent read of the first label and first image straight from the idx bytes.
    with gzip.open(os.path.join(FASHION, "t10k-labels-idx1-ubyte.gz")) as f:
        assert data["test_label"][0] == f.read()[8]
    with gzip.open(os.path.join(FASHION, "train-images-idx3-ubyte.gz")) as f:
        first = np.frombuffer(f.read()[16:16 + 784], np.uint8).reshape(28, 28)
    np.testing.assert_allclose(data["train_data"][0, 0], first / 255.0, rtol=1e-6)


def test_get_mnist_and_cifar10_missing_data(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        tu.get_mnist(str(tmp_path))
    assert str(tmp_path) in str(err.value) and "train-images-idx3-ubyte.gz" in str(err.value)
    with pytest.raises(FileNotFoundError, match="train.rec"):
        tu.get_cifar10(str(tmp_path))


def _write_tiny_mnist(directory, images, labels):
    """Writes the four idx .gz files by hand: big-endian magic and sizes, then the raw bytes."""
    count, rows, cols = images.shape
    for prefix in ("train", "t10k"):
        with gzip.open(os.path.join(directory, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
            f.write((2051).to_bytes(4, "big") + count.to_bytes(4, "big") + rows.to_bytes(4, "big")
                    + cols.to_bytes(4, "big") + images.astype(np.uint8).tobytes())
        with gzip.open(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
            f.write((2049).to_bytes(4, "big") + count.to_bytes(4, "big") + labels.astype(np.uint8).tobytes())


def test_get_mnist_default_dirs(tmp_path, monkeypatch):
    mine, empty = tmp_path / "mine", tmp_path / "empty"
    mine.mkdir()
    empty.mkdir()
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    _write_tiny_mnist(str(mine), images, np.array([7, 3]))
    monkeypatch.setattr("mx.test_utils_data.FASHION_MNIST_DIR", str(empty))
    monkeypatch.setenv("MX_DATA_DIR", str(mine))
    data = tu.get_mnist()
    assert data["train_data"].shape == (2, 1, 28, 28) and list(data["test_label"]) == [7, 3]
    np.testing.assert_allclose(data["test_data"][1, 0], images[1] / 255.0, rtol=1e-6)
    monkeypatch.setenv("MX_DATA_DIR", str(empty / "nowhere"))
    with pytest.raises(FileNotFoundError) as err:
        tu.get_mnist()
    assert str(empty / "nowhere") in str(err.value) and str(empty) in str(err.value)
