#!/usr/bin/env python3
"""Starts a distributed mx job over Open MPI, in the manner of MXNet's tools/launch.py:

    tools/launch.py -n WORKERS [-s SERVERS] [-H HOSTFILE] [--timeout SECONDS]
                    [--env NAME:VALUE ...] [--mpirun-args "..."] [--dry-run] command args...

The command runs on every rank of one `mpirun -np WORKERS+SERVERS`: world ranks [0, WORKERS) are
workers, the rest servers (the core tells them apart by MX_NUM_SERVERS and the MPI rank). Each rank
gets MX_NUM_WORKERS, MX_NUM_SERVERS, MX_KVSTORE_TIMEOUT and the caller's MX_*, PYTHONPATH, OMP_* and
OPENBLAS_* variables (-x, so remote hosts get them too).

mpirun runs with --enable-recovery: one rank dying does not kill the others, which then report the
lost rank themselves (the KVStore transport's liveness checks) instead of vanishing. mpirun then
exits 0 whatever its ranks did, so every rank runs under a small sh wrapper that reports a non-zero
exit on stderr; launch.py reads those reports (and mpirun's own), names the failed ranks and exits
non-zero. Exit status: mpirun's if it failed, else the first failed rank's, else 0.

Standard library only; `tools/mx-launch` is the same program."""
import argparse
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading

PROG = "launch.py"

# Variables of the caller every rank gets: mx's own, the Python path, the thread pools' sizes.
FORWARD_PREFIXES = ("MX_", "OMP_", "OPENBLAS_")
FORWARD_NAMES = ("PYTHONPATH",)
# Set by the launcher itself (the caller's values, if any, are replaced).
LAUNCHER_SET = ("MX_NUM_WORKERS", "MX_NUM_SERVERS", "MX_KVSTORE_TIMEOUT")

# Runs the command and, if it fails, says so on stderr in a line launch.py recognises (mpirun
# --enable-recovery exits 0 whatever its ranks did).
RANK_WRAPPER = ('"$@"; rc=$?; [ "$rc" -eq 0 ] || echo "mx-launch: rank ${OMPI_COMM_WORLD_RANK:-?} on '
                '$(hostname) exited with status $rc" >&2; exit "$rc"')
REPORT_RE = re.compile(rb"mx-launch: rank (\d+) on (\S+) exited with status (\d+)")
# What mpirun itself says about a failed rank, when it gets to say it.
MPIRUN_RE = (re.compile(rb"Process name: \[\[\d+,\d+\],(\d+)\]"),
             re.compile(rb"process rank (\d+) with PID"))


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG, description="Launch a distributed mx job over Open MPI (mpirun).",
        epilog="Ranks [0, WORKERS) are workers, [WORKERS, WORKERS+SERVERS) servers.")
    p.add_argument("-n", "--num-workers", type=int, required=True, help="number of worker processes")
    p.add_argument("-s", "--num-servers", type=int, default=0,
                   help="number of server processes (default 0: the workers reduce among themselves)")
    p.add_argument("-H", "--hostfile", help="Open MPI hostfile (one host per line, optional slots=N)")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds a silent peer may take before it counts as lost (MX_KVSTORE_TIMEOUT, 60)")
    p.add_argument("--env", action="append", default=[], metavar="NAME:VALUE",
                   help="set an environment variable on every rank (repeatable)")
    p.add_argument("--mpirun", default=None, help="the mpirun to run (default: mpirun on PATH)")
    p.add_argument("--mpirun-args", default="", help="more arguments for mpirun, one shell-quoted string")
    p.add_argument("--launcher", default="mpi", choices=["mpi"], help="only mpi (MXNet's ssh/yarn/sge are not here)")
    p.add_argument("--dry-run", action="store_true", help="print the mpirun command instead of running it")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command every rank runs")
    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        p.error("no command to run")
    if args.num_workers < 1:
        p.error("-n must be at least 1, not %d" % args.num_workers)
    if args.num_servers < 0:
        p.error("-s must not be negative, not %d" % args.num_servers)
    if not args.timeout > 0:
        p.error("--timeout must be positive, not %s" % args.timeout)
    for e in args.env:
        name = e.partition(":")[0]
        if ":" not in e or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            p.error("--env takes NAME:VALUE, not %r" % e)
        if name in LAUNCHER_SET:
            p.error("--env %s: set by -n, -s and --timeout" % name)
    if args.hostfile and not os.path.isfile(args.hostfile):
        p.error("hostfile %s does not exist" % args.hostfile)
    return args


def hostfile_slots(path):
    """(hosts, slots): the hosts a hostfile names and their declared slots in all (None if a host
    declares none: then Open MPI counts its cores, which only that host knows)."""
    hosts, slots = 0, 0
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            hosts += 1
            m = [w for w in line[1:] if w.startswith("slots=")]
            if not m or slots is None:
                slots = None
                continue
            slots += int(m[0].split("=", 1)[1])
    return hosts, slots


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def build_command(args, environ):
    """(argv of mpirun, the environment to run it in)."""
    nproc = args.num_workers + args.num_servers
    env = dict(environ)
    env["MX_NUM_WORKERS"] = str(args.num_workers)
    env["MX_NUM_SERVERS"] = str(args.num_servers)
    env["MX_KVSTORE_TIMEOUT"] = ("%g" % args.timeout)
    cmd = [args.mpirun or "mpirun", "-np", str(nproc)]
    if args.hostfile:
        cmd += ["--hostfile", args.hostfile]
        _, slots = hostfile_slots(args.hostfile)
        if slots is not None and nproc > slots:
            cmd.append("--oversubscribe")
    else:
        # One host: always allowed to hold more processes than cores (a test on a laptop).
        cmd.append("--oversubscribe")
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    # Survivors of a lost rank report it themselves; pinning each process to one core would put
    # several ranks and their engine threads on the same core of a small machine.
    cmd += ["--enable-recovery", "--bind-to", "none"]
    for name in LAUNCHER_SET:
        cmd += ["-x", "%s=%s" % (name, env[name])]
    for e in args.env:
        name, _, value = e.partition(":")
        env[name] = value
        cmd += ["-x", name]
    given = {e.partition(":")[0] for e in args.env}
    for name in sorted(environ):
        if name in LAUNCHER_SET or name in given:
            continue
        if name.startswith(FORWARD_PREFIXES) or name in FORWARD_NAMES:
            cmd += ["-x", name]
    cmd += shlex.split(args.mpirun_args)
    cmd += ["sh", "-c", RANK_WRAPPER, "mx-launch"] + list(args.command)
    return cmd, env


class StderrWatch:
    """Copies mpirun's stderr through as it comes and notes the ranks reported failed."""

    def __init__(self, stream):
        self.stream = stream
        self.failed = {}  # rank -> "status N on HOST", or "" when only mpirun named it
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        out = sys.stderr.buffer
        for line in iter(self.stream.readline, b""):
            out.write(line)
            out.flush()
            m = REPORT_RE.search(line)
            if m:
                self.failed[int(m.group(1))] = "status %s on %s" % (m.group(3).decode(), m.group(2).decode())
                continue
            for r in MPIRUN_RE:
                m = r.search(line)
                if m:
                    self.failed.setdefault(int(m.group(1)), "")

    def join(self):
        self.thread.join()
        return self.failed


def first_status(failed):
    for rank in sorted(failed):
        m = re.match(r"status (\d+)", failed[rank])
        if m and 0 < int(m.group(1)) < 256:
            return int(m.group(1))
    return 1


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cmd, env = build_command(args, os.environ)
    if args.dry_run:
        print(" ".join(shlex.quote(c) for c in cmd))
        return 0
    if shutil.which(cmd[0], path=env.get("PATH")) is None:
        print("%s: %s not found (install Open MPI or pass --mpirun PATH)" % (PROG, cmd[0]), file=sys.stderr)
        return 127
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)

    def forward(signum, _frame):  # a scheduler stopping launch.py stops the job
        try:
            proc.send_signal(signum)
        except OSError:
            pass
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, forward)
    watch = StderrWatch(proc.stderr)
    rc = proc.wait()
    failed = watch.join()
    if failed:
        ranks = ", ".join("%d%s" % (r, " (%s)" % failed[r] if failed[r] else "") for r in sorted(failed))
        roles = ["worker" if r < args.num_workers else "server" for r in sorted(failed)]
        print("%s: %d of %d rank(s) failed: %s [%s]" % (PROG, len(failed), args.num_workers + args.num_servers,
                                                      ranks, ", ".join(roles)), file=sys.stderr)
    elif rc != 0:
        print("%s: mpirun exited with status %d" % (PROG, rc), file=sys.stderr)
    if rc < 0:  # mpirun killed by a signal: the shell's convention
        return 128 - rc
    if rc != 0:
        return rc
    return first_status(failed) if failed else 0


if __name__ == "__main__":
    sys.exit(main())
