"""A data-parallel epoch of the main job's network on 1, 2 and 4 worker processes (dist_sync over
tools/launch.py, the same global batch of 128), on a subset of Fashion-MNIST; prints samples/s per
process count and one JSON line. On one machine the processes share its cores: the figure says what
the communication and the smaller per-process batches cost, not a speed-up."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def epoch(workers, network, examples):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bindings", "python"))
    env.setdefault("MX_LIBRARY_PATH", os.path.join(ROOT, "build", "release", "lib"))
    cmd = [sys.executable, os.path.join(ROOT, "examples", "train_fashion_mnist.py"), "--network", network,
           "--num-epochs", "1", "--num-examples", str(examples), "--num-workers", str(workers),
           "--out-dir", "/tmp/mx_bench_dist_epoch"]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    m = re.search(r"Epoch\[0\] Time cost=([0-9.]+)", out)
    if not m:
        raise SystemExit("bench_dist_epoch: the run with %d workers failed:\n%s" % (workers, out[-3000:]))
    return float(m.group(1))


def main():
    network = sys.argv[1] if len(sys.argv) > 1 else "lenet"
    examples = int(sys.argv[2]) if len(sys.argv) > 2 else 15000
    result = {"bench": "dist_epoch", "network": network, "examples": examples}
    for workers in (1, 2, 4):
        seconds = epoch(workers, network, examples)
        result["samples_per_s_%dp" % workers] = round(examples / seconds, 1)
        print("%d process(es): epoch of %d samples in %.2f s, %.0f samples/s" % (workers, examples, seconds,
                                                                                examples / seconds), flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
