"""tools/launch.py: the mpirun command it builds (--dry-run), and real runs on this machine: every
rank runs with its role's variables, and a rank that fails makes the launch fail, named."""
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

LAUNCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "launch.py")


def launch(args, env=None, timeout=60):
    return subprocess.run([sys.executable, LAUNCH] + args, capture_output=True, text=True, timeout=timeout,
                          env=env if env is not None else dict(os.environ))


def dry_run(args, env):
    out = launch(["--dry-run"] + args, env=env)
    assert out.returncode == 0, out.stderr
    return shlex.split(out.stdout)


def exported(argv):
    return [argv[i + 1] for i, a in enumerate(argv) if a == "-x"]


def test_dry_run_builds_the_mpirun_command(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": "/root", "MX_ENGINE_TYPE": "naive", "OMP_NUM_THREADS": "2",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": "/somewhere", "UNRELATED": "x", "MX_NUM_WORKERS": "99"}
    argv = dry_run(["-n", "3", "-s", "1", "--timeout", "12.5", "--env", "MY_FLAG:a b",
                    "--mpirun-args", "--mca btl self,tcp --tag-output",
                    "train.py", "--kv-store", "dist_sync", "-n", "5"], env)
    assert argv[:3] == ["mpirun", "-np", "4"]
    assert "--oversubscribe" in argv  # one host
    assert ("--allow-run-as-root" in argv) == (os.geteuid() == 0)
    assert "--enable-recovery" in argv and argv[argv.index("--bind-to") + 1] == "none"
    assert "--hostfile" not in argv
    xs = exported(argv)
    # The launcher's own values (the caller's MX_NUM_WORKERS=99 is replaced), then the caller's.
    assert {"MX_NUM_WORKERS=3", "MX_NUM_SERVERS=1", "MX_KVSTORE_TIMEOUT=12.5"} <= set(xs)
    assert {"MX_ENGINE_TYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONPATH", "MY_FLAG"} <= set(xs)
    assert "UNRELATED" not in xs and "HOME" not in xs and "MX_NUM_WORKERS" not in xs
    # mpirun's extra arguments, then the wrapped command, its options untouched.
    i = argv.index("--mca")
    assert argv[i:i + 3] == ["--mca", "btl", "self,tcp"] and argv[i + 3] == "--tag-output"
    assert argv[-5:] == ["train.py", "--kv-store", "dist_sync", "-n", "5"]
    assert argv[i + 4:i + 6] == ["sh", "-c"] and argv[i + 7] == "mx-launch"

    # A hostfile (several hosts): oversubscribed only beyond the slots it declares.
    hosts = tmp_path / "hosts"
    hosts.write_text("# two nodes\nnode1 slots=2\nnode2 slots=2\n")
    argv = dry_run(["-n", "4", "-H", str(hosts), "hostname"], env)
    assert argv[argv.index("--hostfile") + 1] == str(hosts) and "--oversubscribe" not in argv
    argv = dry_run(["-n", "4", "-s", "1", "-H", str(hosts), "hostname"], env)
    assert "--oversubscribe" in argv
    # tools/mx-launch is the same program.
    mx_launch = os.path.join(os.path.dirname(LAUNCH), "mx-launch")
    out = subprocess.run([mx_launch, "--dry-run", "-n", "2", "true"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and shlex.split(out.stdout)[:3] == ["mpirun", "-np", "2"]


@pytest.mark.parametrize("args, message", [
    (["-n", "2"], "no command"),
    (["-n", "0", "true"], "at least 1"),
    (["-n", "2", "-s", "-1", "true"], "negative"),
    (["-n", "2", "--timeout", "0", "true"], "positive"),
    (["-n", "2", "--env", "NOVALUE", "true"], "NAME:VALUE"),
    (["-n", "2", "-H", "/no/such/hostfile", "true"], "does not exist"),
])
def test_bad_arguments_are_refused(args, message):
    out = launch(["--dry-run"] + args)
    assert out.returncode == 2 and message in out.stderr


needs_mpirun = pytest.mark.skipif(shutil.which("mpirun") is None, reason="Open MPI's mpirun is not installed")

PRINT_ENV = ("import os; e = os.environ; print('rank=%s workers=%s servers=%s timeout=%s flag=%s' % ("
             "e['OMPI_COMM_WORLD_RANK'], e.get('MX_NUM_WORKERS'), e.get('MX_NUM_SERVERS'), "
             "e.get('MX_KVSTORE_TIMEOUT'), e.get('MY_FLAG')))")


@needs_mpirun
def test_every_rank_runs_with_the_job_variables():
    out = launch(["-n", "4", "--env", "MY_FLAG:on", sys.executable, "-c", PRINT_ENV])
    assert out.returncode == 0, out.stderr
    # mpirun forwards each rank's output in chunks, not lines: under load two ranks' lines can
    # arrive glued together ("flag=onrank=2 ..."), so pick the records out of the whole stream.
    lines = sorted(re.findall(r"rank=\d+ workers=\S+ servers=\S+ timeout=\S+ flag=on", out.stdout))
    assert lines == ["rank=%d workers=4 servers=0 timeout=60 flag=on" % r for r in range(4)], out.stdout
    assert "mx-launch:" not in out.stderr and "failed" not in out.stderr


# Rank 3 fails once every rank has started (a file each in `d`), while the others still run: under
# load, a rank failing before the others were even started let mpirun drop one of them.
FAIL_ONE = ("import os, sys, time; r = int(os.environ['OMPI_COMM_WORLD_RANK']); d = %r\n"
            "open(os.path.join(d, str(r)), 'w').close()\n"
            "t = time.time()\n"
            "while r == 3 and len(os.listdir(d)) < 4 and time.time() - t < 30: time.sleep(0.01)\n"
            "time.sleep(0.5 * (r != 3)); print('rank', r, 'done', flush=True); sys.exit(3 if r == 3 else 0)")


@needs_mpirun
def test_a_failed_rank_fails_the_launch_and_is_named(tmp_path):
    # mpirun --enable-recovery itself exits 0 here: the launcher must notice on its own.
    out = launch(["-n", "3", "-s", "1", sys.executable, "-c", FAIL_ONE % str(tmp_path)])
    assert out.returncode == 3, (out.stdout, out.stderr)
    # The others were not killed for it.
    assert sorted(re.findall(r"rank \d+ done", out.stdout)) == ["rank %d done" % r for r in range(4)]
    assert "1 of 4 rank(s) failed: 3 (status 3 on " in out.stderr and "[server]" in out.stderr
