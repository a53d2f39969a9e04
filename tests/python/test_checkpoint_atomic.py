"""Checkpoints a job resumes from: every file (.params, -symbol.json, optimizer .states) is
replaced atomically, so a process killed while saving leaves the previous file or the new one,
complete, never a torn one; a full disk leaves the old file as it was; and a run resumed from a
checkpoint ends where the uninterrupted run ends."""
import glob
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mx

BINDINGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python")
TEMP_RE = re.compile(r"^\.(ck-\d{4}\.params|ck-\d{4}\.states|ck-symbol\.json)\.tmp\.\d+\.\d+$")


def child_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([BINDINGS] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


# Saves, over and over, the three files of one checkpoint; iteration i writes contents that say i
# everywhere (every array element, every momentum element, the symbol's marker attribute), in one
# of two layouts by parity, and prints i once all three are saved.
WRITER = r"""
import sys
import mx
prefix, first, iters = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=1024, no_bias=True, name="fc")
mod = mx.mod.Module(mx.sym.SoftmaxOutput(net, name="softmax"))
mod.bind([("data", (1, 1024))], [("softmax_label", (1,))])
mod.init_params()
mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
mod.forward_backward(mx.io.DataBatch([mx.nd.ones((1, 1024))], [mx.nd.ones((1,))]))
mod.update()  # creates the momentum: 4 MB of optimizer state
i = first
while iters < 0 or i < first + iters:
    if i % 2 == 0:
        params = {"a%d" % k: mx.nd.full((524288,), i) for k in range(4)}
    else:
        params = {"b0": mx.nd.full((1048576,), i), "b1": mx.nd.full((1048575,), i), "b2": mx.nd.full((7,), i)}
    mx.model.save_checkpoint(prefix, 1, None, params, {})
    mod._updater.states[0][:] = i
    mod.save_optimizer_states(prefix + "-0001.states")
    mx.sym.Variable("x", attr={"marker": ("%d," % i) * (150000 if i % 2 else 100000)}).save(prefix + "-symbol.json")
    print(i, flush=True)
    i += 1
"""


def check_params(path, allowed):
    saved = mx.nd.load(path)  # a torn file fails here: truncated, or a count the bytes do not hold
    vals = {k: v.asnumpy() for k, v in saved.items()}
    m = int(vals[sorted(vals)[0]][0])
    assert m in allowed, "params of iteration %d, expected one of %s" % (m, allowed)
    layout = ({"arg:a%d" % k: 524288 for k in range(4)} if m % 2 == 0 else
              {"arg:b0": 1048576, "arg:b1": 1048575, "arg:b2": 7})
    assert {k: v.size for k, v in vals.items()} == layout
    for k, v in vals.items():
        assert (v == m).all(), "%s mixes iterations: %s" % (k, np.unique(v))
    return m


def check_states(path, allowed):
    with open(path, "rb") as f:
        states = pickle.loads(f.read())
    mom = states[0].asnumpy()
    m = int(mom.flat[0])
    assert m in allowed and mom.shape == (1024, 1024) and (mom == m).all()
    return m


def check_symbol(path, allowed):
    marker = mx.sym.load(path).attr("marker")
    m = int(marker.partition(",")[0])
    assert m in allowed and marker == ("%d," % m) * (150000 if m % 2 else 100000)
    return m


def leftovers(directory):
    return sorted(n for n in os.listdir(directory) if n.startswith("."))


def kill_writers(dirs, first, rng):
    """Starts a writer in each directory, SIGKILLs each at a random moment after its first whole
    checkpoint; returns, per directory, the last iteration it reported complete."""
    children = [subprocess.Popen([sys.executable, "-c", WRITER, os.path.join(d, "ck"), str(first), "-1"],
                                 env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for d in dirs]
    lines, kill_at = [], []
    for child in children:
        line = child.stdout.readline()  # one whole checkpoint is on disk
        assert line.strip() == str(first), child.stderr.read()
        lines.append(line)
        kill_at.append(time.monotonic() + rng.uniform(0.0, 0.3))
    for t, child in sorted(zip(kill_at, children), key=lambda p: p[0]):
        time.sleep(max(0.0, t - time.monotonic()))
        child.send_signal(signal.SIGKILL)
    done = []
    for line, child in zip(lines, children):
        child.wait(timeout=30)
        done.append(int(([line] + child.stdout.read().split())[-1]))
        child.stdout.close()
        child.stderr.close()
    return done


def test_killed_writer_leaves_a_whole_checkpoint(tmp_path):
    names = ["ck-0001.params", "ck-0001.states", "ck-symbol.json"]
    dirs = [str(tmp_path / str(k)) for k in range(4)]
    for d in dirs:
        os.mkdir(d)
    for d, done in zip(dirs, kill_writers(dirs, 1000, random.Random(1234))):
        prefix = os.path.join(d, "ck")
        allowed = (done, done + 1)  # the last reported, or the next one if it got that far
        mp = check_params(prefix + "-0001.params", allowed)
        ms = check_states(prefix + "-0001.states", allowed)
        my = check_symbol(prefix + "-symbol.json", allowed)
        assert mp >= ms >= my  # saved in this order within an iteration
        # A temporary the kill left is hidden and no checkpoint glob picks it up.
        for n in leftovers(d):
            assert TEMP_RE.match(n), n
        assert glob.glob(prefix + "-*.params") == [prefix + "-0001.params"]
        assert glob.glob(prefix + "-*.states") == [prefix + "-0001.states"]
        assert sorted(n for n in os.listdir(d) if not n.startswith(".")) == sorted(names)

    # A writer that finishes, over what a killed one left, does not trip over it and adds nothing.
    stale = [leftovers(d) for d in dirs]
    prefix = os.path.join(dirs[0], "ck")
    out = subprocess.run([sys.executable, "-c", WRITER, prefix, "7", "1"], env=child_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert check_params(prefix + "-0001.params", (7,)) == check_states(prefix + "-0001.states", (7,)) == 7
    assert check_symbol(prefix + "-symbol.json", (7,)) == 7
    assert [leftovers(d) for d in dirs] == stale


# Writes after taking the temporaries' next names itself (junk in them): the savers must step
# around names already taken, and leave those files alone.
SQUATTER = r"""
import os, sys
import mx
d = sys.argv[1]
for base in ("s-0001.params", "s-symbol.json", "s-0001.states"):
    for k in range(20):
        with open(os.path.join(d, ".%s.tmp.%d.%d" % (base, os.getpid(), k)), "w") as f:
            f.write("junk")
mx.nd.save(os.path.join(d, "s-0001.params"), {"arg:w": mx.nd.full((3,), 5)})
mx.sym.Variable("w").save(os.path.join(d, "s-symbol.json"))
mx.model._atomic_write(os.path.join(d, "s-0001.states"), b"states")
"""


def test_stale_temporaries_are_stepped_around(tmp_path):
    out = subprocess.run([sys.executable, "-c", SQUATTER, str(tmp_path)], env=child_env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert mx.nd.load(str(tmp_path / "s-0001.params"))["arg:w"].asnumpy().tolist() == [5, 5, 5]
    assert mx.sym.load(str(tmp_path / "s-symbol.json")).list_arguments() == ["w"]
    assert (tmp_path / "s-0001.states").read_bytes() == b"states"
    junk = leftovers(str(tmp_path))
    assert len(junk) == 60 and all(open(str(tmp_path / n)).read() == "junk" for n in junk)


# Saves over good files with the file size limited to 1 MB (a full disk, as the writer sees it).
FULL_DISK = r"""
import resource, signal, sys
import mx
prefix = sys.argv[1]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, like ENOSPC
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
errors = []
for what, save in (
        ("params", lambda: mx.nd.save(prefix + "-0001.params", {"arg:w": mx.nd.full((1 << 20,), 9)})),
        ("symbol", lambda: mx.sym.Variable("x", attr={"marker": "9" * (2 << 20)}).save(prefix + "-symbol.json")),
        ("states", lambda: mx.model._atomic_write(prefix + "-0001.states", b"9" * (2 << 20)))):
    try:
        save()
        errors.append("%s: saved" % what)
    except Exception as e:
        errors.append("%s: %s: %s" % (what, type(e).__name__, e))
print("\n".join(errors))
"""


def test_full_disk_leaves_the_old_file(tmp_path):
    prefix = str(tmp_path / "ck")
    mx.nd.save(prefix + "-0001.params", {"arg:w": mx.nd.full((10,), 1)})
    mx.sym.Variable("old").save(prefix + "-symbol.json")
    (tmp_path / "ck-0001.states").write_bytes(b"old states")
    out = subprocess.run([sys.executable, "-c", FULL_DISK, prefix], env=child_env(), capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    report = out.stdout.splitlines()
    assert len(report) == 3, out.stdout
    assert report[0].startswith("params: MXNetError") and prefix + "-0001.params" in report[0]
    assert "File too large" in report[0] and "unchanged" in report[0]
    assert report[1].startswith("symbol: MXNetError") and prefix + "-symbol.json" in report[1]
    assert report[2].startswith("states: OSError") and prefix + "-0001.states" in report[2]
    assert "File too large" in report[2] and "unchanged" in report[2]
    assert mx.nd.load(prefix + "-0001.params")["arg:w"].asnumpy().tolist() == [1] * 10
    assert mx.sym.load(prefix + "-symbol.json").list_arguments() == ["old"]
    assert (tmp_path / "ck-0001.states").read_bytes() == b"old states"
    assert leftovers(str(tmp_path)) == []


def test_save_errors_name_the_file(tmp_path):
    with pytest.raises(mx.MXNetError, match=re.escape(str(tmp_path / "no" / "x.params"))) as e:
        mx.nd.save(str(tmp_path / "no" / "x.params"), [mx.nd.ones((1,))])
    assert e.value.code == 6  # MX_ERR_IO
    with pytest.raises(mx.MXNetError, match="is a directory") as e:
        mx.sym.Variable("x").save(str(tmp_path))
    assert e.value.code == 6 and str(tmp_path) in str(e.value)
    # A link keeps pointing at the file it named; the file is what is replaced.
    real = tmp_path / "real.params"
    mx.nd.save(str(real), [mx.nd.ones((1,))])
    os.chmod(str(real), 0o640)
    os.symlink("real.params", str(tmp_path / "link.params"))
    mx.nd.save(str(tmp_path / "link.params"), [mx.nd.full((2,), 3)])
    assert os.path.islink(str(tmp_path / "link.params"))
    assert mx.nd.load(str(real))[0].asnumpy().tolist() == [3, 3]
    assert os.stat(str(real)).st_mode & 0o777 == 0o640  # an existing file keeps its permissions
    mx.nd.save(os.devnull, [mx.nd.ones((1,))])  # written in place, never replaced by a file
    mx.model._atomic_write(os.devnull, b"x")
    assert not os.path.isfile(os.devnull)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "no" / "x.states"))):
        mx.model._atomic_write(str(tmp_path / "no" / "x.states"), b"x")
    mx.model._atomic_write(str(tmp_path / "link.params"), b"raw")
    assert os.path.islink(str(tmp_path / "link.params")) and real.read_bytes() == b"raw"
    assert os.stat(str(real)).st_mode & 0o777 == 0o640
    assert leftovers(str(tmp_path)) == []


# ---------------------------------------------------------------- resume

def blobs(n=96, classes=3, dim=5, seed=3):
    rng = np.random.RandomState(seed)
    centers = rng.randn(classes, dim) * 2
    y = rng.randint(0, classes, size=n)
    return (centers[y] + rng.randn(n, dim)).astype(np.float32), y.astype(np.float32)


def net():
    h = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=8, name="fc1"), act_type="tanh")
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"), name="softmax")


SGD = {"learning_rate": 0.05, "momentum": 0.9, "wd": 1e-3}


def fit(mod, it, **kw):
    mod.fit(it, optimizer="sgd", optimizer_params=SGD, eval_metric="acc", **kw)
    return {k: v.asnumpy() for k, v in mod.get_params()[0].items()}


@pytest.mark.parametrize("callbacks", ["do_checkpoint", "module_checkpoint"])
def test_resume_from_epoch_2_matches_the_uninterrupted_run(tmp_path, callbacks):
    x, y = blobs()
    prefix = str(tmp_path / "run")

    def data():  # the same batches in the same order, every epoch
        return mx.io.NDArrayIter(x, y, batch_size=16, shuffle=False)

    mx.random.seed(7)
    mod = mx.mod.Module(net())
    if callbacks == "do_checkpoint":
        cbs = [mx.callback.do_checkpoint(prefix),
               lambda epoch, *_: mod.save_optimizer_states("%s-%04d.states" % (prefix, epoch + 1))]
    else:
        cbs = mx.callback.module_checkpoint(mod, prefix, save_optimizer_states=True)
    full = fit(mod, data(), initializer=mx.init.Xavier(), num_epoch=4, epoch_end_callback=cbs)
    assert sorted(glob.glob(prefix + "-*")) == sorted(
        ["%s-%04d.%s" % (prefix, e, ext) for e in range(1, 5) for ext in ("params", "states")] +
        [prefix + "-symbol.json"])

    sym, args, auxs = mx.model.load_checkpoint(prefix, 2)
    assert sorted(args) == sorted(full) and auxs == {}
    resumed = fit(mx.mod.Module.load(prefix, 2, load_optimizer_states=True), data(),
                  begin_epoch=2, num_epoch=4)
    for k in full:
        np.testing.assert_allclose(resumed[k], full[k], rtol=0, atol=1e-6, err_msg=k)

    # The check can fail: the same resume without the momentum ends elsewhere.
    cold = fit(mx.mod.Module.load(prefix, 2), data(), begin_epoch=2, num_epoch=4)
    assert max(np.abs(cold[k] - full[k]).max() for k in full) > 1e-4
