"""The main job and the examples run end to end on a subset (a few seconds each) and leave what
they promise: a checkpoint MXNet's loader reads, a PNG of the curves, progress with samples/s."""
import os
import subprocess
import sys

import numpy as np
import pytest

import mx

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FASHION = "/usr/share/datasets/fashion-mnist"
needs_data = pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")


def run(script, *args):
    env = dict(os.environ)
    env.setdefault("MX_LIBRARY_PATH", os.path.join(ROOT, "build", "release", "lib"))
    env["MX_LIBRARY_PATH"] = os.path.abspath(env["MX_LIBRARY_PATH"])
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


@needs_data
def test_main_job_quick_run(tmp_path):
    text = run("train_fashion_mnist.py", "--num-epochs", "2", "--num-examples", "3000", "--out-dir", str(tmp_path))
    assert "samples/s" in text and "Epoch[1] Validation-accuracy=" in text and "test accuracy" in text
    sym, args, auxs = mx.model.load_checkpoint(str(tmp_path / "lenet"), 2)
    assert "fc2_weight" in args and args["conv1_weight"].shape == (20, 1, 5, 5)
    with open(tmp_path / "lenet-curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # The checkpoint predicts: its test accuracy on a few batches is far above chance (10 %).
    mod = mx.mod.Module.load(str(tmp_path / "lenet"), 2)
    test = mx.io.MNISTIter(image=FASHION + "/t10k-images-idx3-ubyte.gz", label=FASHION + "/t10k-labels-idx1-ubyte.gz",
                           batch_size=100, shuffle=False, silent=True)
    mod.bind(test.provide_data, test.provide_label, for_training=False)
    assert dict(mod.score(test, "acc", num_batch=10))["accuracy"] > 0.5


@needs_data
def test_mlp_with_naive_engine(tmp_path):
    text = run("train_fashion_mnist.py", "--network", "mlp", "--engine", "naive", "--num-epochs", "1",
               "--num-examples", "3000", "--out-dir", str(tmp_path))
    assert "naive engine" in text and os.path.exists(tmp_path / "mlp-0001.params")


@needs_data
def test_imperative_lenet_learns():
    text = run("imperative_lenet.py", "--num-epochs", "1", "--num-examples", "3000")
    accuracy = float(text.strip().split("test accuracy")[-1])
    assert accuracy > 0.5


def test_dlpack_example():
    text = run("dlpack_interop.py")
    line = [l for l in text.splitlines() if l.startswith("numpy buffer")][0]
    numpy_addr, mx_addr = line.split()[2].rstrip(","), line.split()[-1]
    assert numpy_addr == mx_addr


def _gluon_parts_missing():
    """The Gluon example needs gluon.nn, .loss, .data (with vision.transforms) and .utils."""
    import importlib
    for name in ("mx.gluon.nn", "mx.gluon.loss", "mx.gluon.data.vision.transforms", "mx.gluon.utils"):
        try:
            importlib.import_module(name)
        except ImportError as e:
            return "%s: %s" % (name, e)
    return None


@needs_data
def test_gluon_example_quick_run(tmp_path):
    """Gluon LeNet, hybridized, each batch split over two contexts: runs, and the training loss of
    the second epoch is below the first's (which starts near ln 10 = 2.30 for an untrained net)."""
    missing = _gluon_parts_missing()
    if missing:
        pytest.skip(missing)
    text = run("gluon_fashion_mnist.py", "--epochs", "2", "--num-examples", "480", "--batch-size", "48",
               "--num-test-examples", "1000", "--num-contexts", "2", "--out-dir", str(tmp_path))
    assert "samples/s" in text and "cpu(0), cpu(1)" in text and "hybridized" in text, text
    losses = [float(l.split("train loss")[1].split()[0]) for l in text.splitlines() if l.startswith("Epoch[")]
    assert len(losses) == 2 and losses[1] < losses[0] < 2.4, text
    assert os.path.exists(tmp_path / "lenet-gluon-0002.params")


def _lenet_numpy(args, x):
    """The exported LeNet's forward in float64 numpy (valid 5x5 convolutions by explicit windows,
    2x2 max pooling, dense layers as x W^T + b)."""
    def conv(x, w, b):
        k = w.shape[-1]
        h, wd = x.shape[2] - k + 1, x.shape[3] - k + 1
        win = np.stack([x[:, :, i:i + h, j:j + wd] for i in range(k) for j in range(k)], axis=2)  # N C k*k H W
        return np.einsum("ncphw,ocp->nohw", win, w.reshape(w.shape[0], w.shape[1], k * k)) + b[None, :, None, None]

    def pool(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))

    p = {k.split("_", 1)[1]: v.asnumpy().astype(np.float64) for k, v in args.items()}  # lenet_conv0_weight -> conv0_weight
    h = pool(np.maximum(conv(x, p["conv0_weight"], p["conv0_bias"]), 0))
    h = pool(np.maximum(conv(h, p["conv1_weight"], p["conv1_bias"]), 0)).reshape(x.shape[0], -1)
    h = np.maximum(h @ p["dense0_weight"].T + p["dense0_bias"], 0)
    return h @ p["dense1_weight"].T + p["dense1_bias"]


@needs_data
def test_main_job_api_gluon_leaves_a_module_checkpoint(tmp_path):
    """--api gluon trains through the Gluon example and exports an MXNet checkpoint: Module loads
    it, and its outputs on test images equal a numpy LeNet over the checkpoint's arrays."""
    missing = _gluon_parts_missing()
    if missing:
        pytest.skip(missing)
    text = run("train_fashion_mnist.py", "--api", "gluon", "--num-epochs", "1", "--num-examples", "256",
               "--batch-size", "64", "--out-dir", str(tmp_path))
    assert "test accuracy" in text and "Gluon lenet" in text and "samples/s" in text, text
    with open(tmp_path / "lenet-curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    sym, args, auxs = mx.model.load_checkpoint(str(tmp_path / "lenet"), 1)
    assert sorted(args) == ["lenet_conv%d_%s" % (i, k) for i in (0, 1) for k in ("bias", "weight")] + \
        ["lenet_dense%d_%s" % (i, k) for i in (0, 1) for k in ("bias", "weight")], sorted(args)
    x = np.random.RandomState(0).uniform(0, 1, (8, 1, 28, 28)).astype(np.float32)
    mod = mx.mod.Module(sym, data_names=["data"], label_names=None)
    mod.bind([("data", x.shape)], for_training=False)
    mod.set_params(args, auxs)
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), _lenet_numpy(args, x.astype(np.float64)),
                               rtol=1e-4, atol=1e-4)
