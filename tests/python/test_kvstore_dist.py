"""Multi-process KVStore tests: 4 workers (and servers for dist_async) started with tools/launch.py
over mpirun --oversubscribe; each worker checks its results against numpy (dist/kv_worker.py)."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dist", "kv_worker.py")
LIB = os.environ.get("MX_LIBRARY_PATH", os.path.join(ROOT, "build", "release", "lib"))

pytestmark = pytest.mark.skipif(
    shutil.which("mpirun") is None or not os.path.exists(os.path.join(LIB, "libmx_kvstore_mpi.so")),
    reason="needs Open MPI (mpirun) and the MPI transport libmx_kvstore_mpi.so")


def launch(scenario, workers=4, servers=0, timeout=120, env=None, peer_timeout=None):
    e = dict(os.environ, MX_LIBRARY_PATH=os.path.abspath(LIB), MX_OMP_NUM_THREADS="1",
             PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    e.update(env or {})
    cmd = [sys.executable, os.path.join(ROOT, "tools", "launch.py"), "-n", str(workers), "-s", str(servers)]
    if peer_timeout is not None:
        cmd += ["--timeout", str(peer_timeout)]  # seconds before a silent process counts as lost
    cmd += [sys.executable, WORKER, scenario]
    start = time.time()
    # A session of its own: on a timeout the whole job (mpirun and every rank) is killed, never left
    # running behind the test.
    p = subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        pytest.fail("%s did not finish within %d s:\n%s" % (scenario, timeout, out.decode("utf-8", "replace")))
    return p.returncode, out.decode("utf-8", "replace"), time.time() - start


@pytest.mark.parametrize("scenario", ["sync_sums", "sync_2bit", "shape_mismatch"])
def test_dist_sync(scenario):
    rc, out, _ = launch(scenario)
    assert rc == 0, out
    assert all("%s ok rank %d" % (scenario, r) in out for r in range(4)), out


def test_dist_async_applies_each_push_once_and_converges():
    rc, out, _ = launch("async_counter", workers=3, servers=2)
    assert rc == 0, out
    assert all("async_counter ok rank %d" % r in out for r in range(3)), out


def test_dist_async_optimizer_states_save_and_load():
    rc, out, _ = launch("async_states", workers=2, servers=1)
    assert rc == 0, out
    assert all("async_states ok rank %d" % r in out for r in range(2)), out


def test_killed_worker_is_named_within_the_timeout():
    rc, out, elapsed = launch("killed_worker", peer_timeout=4, timeout=90)
    assert rc != 0, out
    survivors = [r for r in (0, 1, 3) if "rank %d failed after" % r in out]
    assert survivors == [0, 1, 3], out
    assert out.count("lost rank 2") >= 3, out
    assert elapsed < 60, elapsed


def test_killed_server_is_named_within_the_timeout():
    rc, out, elapsed = launch("killed_server", workers=3, servers=1, peer_timeout=4, timeout=90)
    assert rc != 0, out
    assert all("rank %d failed after" % r in out for r in range(3)), out
    assert out.count("lost rank 3") >= 3, out
    assert elapsed < 60, elapsed
