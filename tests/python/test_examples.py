"""The main job and the examples run end to end on a subset (a few seconds each) and leave what
they promise: a checkpoint MXNet's loader reads, a PNG of the curves, progress with samples/s."""
import os
import subprocess
import sys

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
