# With several engine workers (MX_CPU_WORKER_NTHREADS > 1) two ops may reach the CPU pool at once.
# A loop must then be cut as it would be with the pool free, else GEMM-based results (dot, the
# convolution weight gradient's per-chunk partial sums) vary bitwise with the timing. Reference:
# the same op run alone (waited for) in the same process, compared bitwise.
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import numpy as np, mx
    rs = np.random.RandomState(0)
    a = mx.nd.array(rs.randn(128, 800), dtype="float32"); b = mx.nd.array(rs.randn(800, 500), dtype="float32")
    x = mx.nd.array(rs.randn(64, 20, 12, 12), dtype="float32"); w = mx.nd.array(rs.randn(50, 20, 5, 5), dtype="float32")
    og = mx.nd.array(rs.randn(64, 50, 8, 8), dtype="float32")
    def dw():
        wa = w.copy(); wa.attach_grad()
        with mx.autograd.record():
            y = mx.nd.Convolution(x, wa, kernel=(5, 5), num_filter=50, no_bias=True)
        y.backward(og)
        return wa.grad
    ref_dot, ref_dw = mx.nd.dot(a, b).asnumpy(), dw().asnumpy()
    bad = 0
    for _ in range(15):
        outs = [(mx.nd.dot(a, b), dw()) for _ in range(4)]  # independent: run on several workers at once
        bad += sum(not np.array_equal(d.asnumpy(), ref_dot) or not np.array_equal(g.asnumpy(), ref_dw) for d, g in outs)
    print("BAD", bad)
""")


def test_results_do_not_depend_on_concurrent_workers():
    binding = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python")
    env = dict(os.environ, MX_CPU_WORKER_NTHREADS="4", MX_OMP_NUM_THREADS="2",
               PYTHONPATH=os.pathsep.join(p for p in (binding, os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "BAD 0" in out.stdout, out.stdout
