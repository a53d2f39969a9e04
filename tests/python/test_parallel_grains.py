"""The CPU kernels' parallel paths (bench/bench_small_ops.py sets their grains, backends/cpu/grain.h):
elementwise, unary, Activation, broadcast and softmax ops and the split GEMMs of FullyConnected / dot,
at sizes just below, at and above their grains, at LeNet shapes and at odd sizes that do not divide
into equal chunks, in float32 / float64 / float16, against numpy (float64 products for the GEMMs).
The checks run in a child process with MX_OMP_NUM_THREADS=3, so the pool has helpers whatever the
machine and whichever test ran an op first (the thread count is read once per process)."""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CHEAP, COSTLY = 1 << 17, 1 << 15  # backends/cpu/grain.h


def sizes(grain):
    return [grain - 1, grain, grain + 1, 3 * grain + 7]


def check_elementwise(mx):
    rng = np.random.default_rng(0)
    for dtype, tol in [("float32", 1e-6), ("float64", 1e-12), ("float16", 1e-3)]:
        for n in sizes(CHEAP) + [128 * 20 * 24 * 24]:
            a = rng.uniform(-2, 2, n).astype(dtype)
            b = rng.uniform(0.5, 2, n).astype(dtype)
            x, y = mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype)
            np.testing.assert_array_equal(mx.nd.relu(x).asnumpy(), np.maximum(a, 0))
            np.testing.assert_array_equal(mx.nd.Activation(x, act_type="relu").asnumpy(), np.maximum(a, 0))
            np.testing.assert_array_equal(mx.nd.elemwise_mul(x, y).asnumpy(), a * b)
            np.testing.assert_array_equal((x > 0).asnumpy(), (a > 0).astype(dtype))
            np.testing.assert_array_equal((x + 1.5).asnumpy(), a + np.asarray(1.5, dtype))
        for n in sizes(COSTLY):
            a = rng.uniform(-2, 2, n).astype(dtype)
            b = rng.uniform(0.5, 2, n).astype(dtype)
            x = mx.nd.array(a, dtype=dtype)
            ref = np.exp(a.astype(np.float64))
            np.testing.assert_allclose(mx.nd.exp(x).asnumpy(), ref.astype(dtype), rtol=tol * 4)
            np.testing.assert_allclose(mx.nd.Activation(x, act_type="tanh").asnumpy(),
                                       np.tanh(a.astype(np.float64)).astype(dtype), rtol=tol * 4, atol=tol)
            p = mx.nd.array(b, dtype=dtype) ** 1.5
            np.testing.assert_allclose(p.asnumpy(), (b.astype(np.float64) ** 1.5).astype(dtype), rtol=tol * 4)


def check_broadcast_softmax(mx):
    rng = np.random.default_rng(1)
    for rows, cols in [(128, 500), (CHEAP // 100 + 3, 100), (1031, 257), (128 * 50, 64)]:
        a = rng.uniform(-1, 1, (rows, cols)).astype("float32")
        b = rng.uniform(-1, 1, (1, cols)).astype("float32")
        np.testing.assert_array_equal(mx.nd.broadcast_add(mx.nd.array(a), mx.nd.array(b)).asnumpy(), a + b)
        e = np.exp(a.astype(np.float64) - a.max(axis=1, keepdims=True))
        np.testing.assert_allclose(mx.nd.softmax(mx.nd.array(a)).asnumpy(), e / e.sum(axis=1, keepdims=True),
                                   rtol=1e-5, atol=1e-7)


def check_gemm(mx):
    rng = np.random.default_rng(2)
    # FullyConnected / dot shapes of LeNet and the MLP (forward and both backward products), odd
    # ones around gemm.cc's split threshold (m * n * k = 2^18), and rows / columns that split unevenly.
    for batch, din, dout in [(128, 800, 500), (128, 784, 256), (128, 256, 128), (128, 500, 10), (64, 64, 64),
                             (63, 65, 65), (7, 1001, 37), (129, 33, 61)]:
        for dtype, tol in [("float32", 2e-5), ("float64", 1e-12)]:
            x = rng.uniform(-1, 1, (batch, din)).astype(dtype)
            w = rng.uniform(-1, 1, (dout, din)).astype(dtype)
            bias = rng.uniform(-1, 1, dout).astype(dtype)
            dy = rng.uniform(-1, 1, (batch, dout)).astype(dtype)
            X, W, B, DY = (mx.nd.array(v, dtype=dtype) for v in (x, w, bias, dy))
            x64, w64, dy64 = x.astype(np.float64), w.astype(np.float64), dy.astype(np.float64)
            scale = np.sqrt(din)
            np.testing.assert_allclose(mx.nd.FullyConnected(X, W, B, num_hidden=dout).asnumpy(),
                                       x64 @ w64.T + bias, rtol=tol, atol=tol * scale)
            np.testing.assert_allclose(mx.nd.dot(DY, W).asnumpy(), dy64 @ w64, rtol=tol, atol=tol * scale)
            np.testing.assert_allclose(mx.nd.dot(DY, X, transpose_a=True).asnumpy(), dy64.T @ x64, rtol=tol,
                                       atol=tol * np.sqrt(batch))
            np.testing.assert_allclose(mx.nd.dot(X, W, transpose_b=True).asnumpy(), x64 @ w64.T, rtol=tol,
                                       atol=tol * scale)


def run_child():
    sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
    import mx

    check_elementwise(mx)
    check_broadcast_softmax(mx)
    check_gemm(mx)
    print("child ok")


def test_parallel_paths_match_numpy_at_3_threads():
    env = dict(os.environ, MX_OMP_NUM_THREADS="3")
    r = subprocess.run([sys.executable, os.path.abspath(__file__)], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "child ok" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]


if __name__ == "__main__":
    run_child()
