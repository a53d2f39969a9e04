"""Issue 19's benches keep running (a few batches / repeats, so that CI sees them rot) and say
what they claim: bench_epoch's models are the same on both sides, its GEMM floor counts the FLOPs
a hand count gives, and both benches print their table and a JSON line with every configuration."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FASHION = "/usr/share/datasets/fashion-mnist"
needs_data = pytest.mark.skipif(not os.path.isdir(FASHION), reason="Debian's dataset-fashion-mnist is not installed")


def load_bench(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "bench", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_bench(script, *args, **env_vars):
    env = dict(os.environ, MX_BENCH_ROUNDS="1", **env_vars)
    env["MX_LIBRARY_PATH"] = os.path.abspath(env.get("MX_LIBRARY_PATH", os.path.join(ROOT, "build", "release", "lib")))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", script), *args], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout, json.loads(out.stdout.strip().splitlines()[-1])


def has_torch():
    return importlib.util.find_spec("torch") is not None


def test_gemm_floor_counts_the_hand_flops():
    bench = load_bench("bench_epoch")
    # LeNet forward, 2 x batch x multiply-adds: conv1 128*20*24*24*(1*5*5) -> 73.728 M; conv2
    # 128*50*8*8*(20*5*5) -> 409.6 M; fc1 128*800*500 -> 102.4 M; fc2 128*500*10 -> 1.28 M.
    # A step: forward + weight gradients + data gradients of all but conv1.
    fwd = [73_728_000, 409_600_000, 102_400_000, 1_280_000]
    assert bench.flops_per_step("lenet") == 3 * sum(fwd) - fwd[0] == 1_687_296_000
    fwd = [2 * 128 * 784 * 256, 2 * 128 * 256 * 128, 2 * 128 * 128 * 10]
    assert bench.flops_per_step("mlp") == 3 * sum(fwd) - fwd[0]


@pytest.mark.skipif(not has_torch(), reason="torch is not installed")
@pytest.mark.parametrize("model", ["lenet", "mlp"])
def test_both_sides_train_the_same_architecture(model):
    import torch
    bench = load_bench("bench_epoch")
    sym = bench.mx_symbol(model)
    arg_shapes, _, _ = sym.infer_shape(data=(128, 1, 28, 28), softmax_label=(128,))
    mx_shapes = sorted(tuple(s) for name, s in zip(sym.list_arguments(), arg_shapes)
                       if name not in ("data", "softmax_label"))
    torch_params = list(bench.torch_model(torch, model).parameters())
    assert mx_shapes == sorted(tuple(p.shape) for p in torch_params)
    # The init rule: torch's xavier gain sqrt(2/3) gives mx Xavier(magnitude=2)'s uniform bound
    # sqrt(4 / (fan_in + fan_out)); the largest weight's samples come within 1 % of it.
    w = max((p.detach().numpy() for p in torch_params), key=lambda a: a.size)
    fan_in, fan_out = np.prod(w.shape[1:]), w.shape[0] * np.prod(w.shape[2:])
    bound = np.sqrt(4.0 / (fan_in + fan_out))
    assert 0.99 * bound <= np.abs(w).max() <= bound * 1.0001


@needs_data
def test_bench_epoch_prints_every_configuration():
    text, result = run_bench("bench_epoch.py", MX_BENCH_BATCHES="2", MX_BENCH_MODELS="mlp")
    assert "mlp, 2 batches of 128" in text and result["batches"] == 2
    sides = ["mx", "torch"] if has_torch() else ["mx"]
    for side in sides:
        for t in (1, os.cpu_count()):
            assert result["mlp_%s_%dt_s" % (side, t)] > 0 and 0 <= result["mlp_%s_%dt_acc" % (side, t)] <= 1
    if has_torch():
        assert "target >= 1.5x" in text and "target >= 1.2x" in text
        assert result["mlp_best_over_best"] > 0 and result["mlp_1t_over_1t"] > 0


@needs_data
def test_bench_epoch_profile_splits_a_lenet_step():
    text, result = run_bench("bench_epoch.py", "--profile", "--batches", "2")
    assert "MX_EXEC_BULK_SIZE=1" in text and "GEMM floor" in text
    # Every op ran on its own (bulk size 1), so the split names LeNet's ops, not a segment (the
    # update is one multi-tensor op for all 8 parameters).
    for op in ("Convolution", "_conv_backward_weight", "Pooling", "FullyConnected", "multi_sgd_mom_update"):
        assert result["ops_ms"][op] > 0
    assert result["gemm_floor_ms"] > 0 and result["sgemm_gflops"] > 0 and result["threads"] == "1"


def test_bench_layer_ops_prints_every_column():
    text, result = run_bench("bench_layer_ops.py", MX_BENCH_REPEATS="1", MX_BENCH_MODELS="mlp")
    assert "all/1t" in text
    cols = ["mx_1t", "mx_all"] + (["torch_1t", "torch_all"] if has_torch() else [])
    rows = result["ms"]
    for row in ("fc 784->256 fwd", "fc 784->256 bwd", "relu 128 bwd", "softmax CE 10 bwd",
                "sgd_mom_update MLP 6 params step"):
        assert sorted(rows[row]) == sorted(cols) and all(v > 0 for v in rows[row].values())
    assert "conv1 1->20 5x5 28x28 fwd" not in rows  # MX_BENCH_MODELS=mlp leaves LeNet's ops out
    assert set(result["mx_all_slower_than_1t"]) <= set(rows)
