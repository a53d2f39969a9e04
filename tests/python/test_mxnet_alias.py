"""The optional `mxnet` alias package (bindings/mxnet-alias): `import mxnet as mx` is mx, submodule
imports resolve, and an MXNet 1.x Module program runs unchanged under it and under `import mx`."""
import os
import subprocess
import sys

import numpy as np
import pytest

import mx

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
ALIAS = os.path.join(ROOT, "bindings", "mxnet-alias")
PKG = os.path.join(ROOT, "bindings", "python")
FASHION = "/usr/share/datasets/fashion-mnist"
EXAMPLE = os.path.join(ROOT, "examples", "mxnet_module_classifier.py")


def run_python(code_or_file, *args, alias=True):
    env = dict(os.environ)
    env["MX_LIBRARY_PATH"] = os.path.abspath(env.get("MX_LIBRARY_PATH", os.path.join(ROOT, "build", "release", "lib")))
    env["PYTHONPATH"] = os.pathsep.join([PKG] + ([ALIAS] if alias else []))
    cmd = [sys.executable] + ([code_or_file] if code_or_file.endswith(".py") else ["-c", code_or_file])
    out = subprocess.run(cmd + list(args), env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


def test_alias_is_mx_with_its_submodules():
    text = run_python(
        "import mxnet as mx, mx as real\n"
        "from mxnet import nd, sym\n"
        "import mxnet.ndarray as nd2\n"
        "import mxnet.module, mxnet.io\n"
        "from mxnet.io import NDArrayIter\n"
        "assert mx is real and nd is real.nd and sym is real.sym and nd2 is real.ndarray\n"
        "assert mxnet.module is real.module and NDArrayIter is real.io.NDArrayIter\n"
        "print((nd.ones((2, 3)) * 2).sum().asscalar())\n")
    assert text.strip().endswith("12.0")


def test_alias_is_off_the_default_path():
    # Without bindings/mxnet-alias on the path there is no `mxnet` (so a real MXNet is never shadowed).
    run_python("import importlib.util, sys\n"
               "spec = importlib.util.find_spec('mxnet')\n"
               "assert spec is None or 'mxnet-alias' not in (spec.origin or ''), spec\n", alias=False)


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")
@pytest.mark.parametrize("how", ["import mxnet as mx", "import mx"])
def test_module_classifier_runs_unchanged(tmp_path, how):
    script = EXAMPLE
    if how == "import mx":  # the same program with mx imported under its own name
        with open(EXAMPLE) as f:
            source = f.read()
        assert source.count("import mxnet as mx\n") == 1
        script = str(tmp_path / "classifier_mx.py")
        with open(script, "w") as f:
            f.write(source.replace("import mxnet as mx\n", "import mx\n"))
    prefix = str(tmp_path / "model")
    text = run_python(script, "--num-epochs", "2", "--num-examples", "3000", "--model-prefix", prefix, "--log-every", "10",
                      alias=(how != "import mx"))
    assert "Speed: " in text and "samples/sec" in text  # the Speedometer
    assert 'Saved checkpoint to "%s-0002.params"' % prefix in text  # do_checkpoint
    final = float(text.split("final validation accuracy=")[1].split()[0])
    reloaded = float(text.split("reloaded validation accuracy=")[1].split()[0])
    assert final > 0.5 and reloaded == final  # chance is 0.1
    # FactorScheduler(step=epoch_size, factor=0.5) halved the rate once per epoch: the checkpoint
    # of epoch 2 exists and holds MXNet's parameter names.
    _, args, _ = mx.model.load_checkpoint(prefix, 2)
    assert sorted(args) == ["conv1_bias", "conv1_weight", "fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"]
    assert np.isfinite(args["fc2_weight"].asnumpy()).all()


@pytest.mark.parametrize("how", ["import mxnet as mx", "import mx"])
def test_bucketing_lm_runs_unchanged(tmp_path, how):
    script = os.path.join(ROOT, "examples", "mxnet_bucketing_lm.py")
    if how == "import mx":
        with open(script) as f:
            source = f.read()
        assert source.count("import mxnet as mx\n") == 1
        script = str(tmp_path / "bucketing_mx.py")
        with open(script, "w") as f:
            f.write(source.replace("import mxnet as mx\n", "import mx\n"))
    text = run_python(script, "--num-sentences", "800", "--num-epochs", "2", "--disp-batches", "5",
                      alias=(how != "import mx"))
    assert "Speed: " in text and "Epoch[1] Validation-perplexity=" in text
    first = float(text.split("Epoch[0] Train-perplexity=")[1].split()[0])
    final = float(text.split("final validation perplexity=")[1].split()[0])
    vocab = int(text.split("vocabulary of ")[1].split()[0])
    # Uniform guessing over the vocabulary has perplexity ~vocab; the grammar is far more predictable.
    assert final < first and final < vocab / 3, (first, final, vocab)
