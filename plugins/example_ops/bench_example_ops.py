"""Times gelu and rms_norm of libmx_example_ops.so beside what one would write without them: the
built-in LeakyReLU(act_type='gelu') and rms_norm composed of built-in ops, and PyTorch's CPU ops
when torch is installed. Forward, and forward + backward. Prints a table and one JSON line.

  MX_LIBRARY_PATH=<prefix>/lib PYTHONPATH=<src>/bindings/python \\
    /usr/bin/python3 plugins/example_ops/bench_example_ops.py <path>/libmx_example_ops.so [rows cols]
"""
import json
import sys
import time

import numpy as np

import mx


def best_ms(fn, repeat=7):
    fn()  # warm-up: kernel states, pools
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * min(times)


def mx_case(forward, arrays, backward):
    def run():
        if backward:
            for a in arrays:
                a.attach_grad()
            with mx.autograd.record():
                y = forward(*arrays)
            y.backward()
            mx.nd.waitall()
        else:
            forward(*arrays).wait_to_read()
    return run


def rms_norm_builtin(x, gamma):
    ms = mx.nd.mean(mx.nd.square(x), axis=-1, keepdims=True)
    return mx.nd.broadcast_mul(mx.nd.broadcast_mul(x, mx.nd.rsqrt(ms + 1e-6)), gamma.reshape((1, -1)))


def main():
    mx.library.load(sys.argv[1])
    rows, cols = (int(sys.argv[2]), int(sys.argv[3])) if len(sys.argv) > 3 else (4096, 1024)
    rng = np.random.default_rng(0)
    x_np = rng.normal(size=(rows, cols)).astype(np.float32)
    g_np = rng.normal(size=cols).astype(np.float32)
    x, g = mx.nd.array(x_np), mx.nd.array(g_np)

    cases = {
        "gelu (example_ops)": (lambda a: mx.nd.gelu(a), [x]),
        "gelu tanh (example_ops)": (lambda a: mx.nd.gelu(a, approximate=True), [x]),
        "LeakyReLU gelu (built-in)": (lambda a: mx.nd.LeakyReLU(a, act_type="gelu"), [x]),
        "rms_norm (example_ops)": (lambda a, b: mx.nd.rms_norm(a, b), [x, g]),
        "rms_norm of built-in ops": (rms_norm_builtin, [x, g]),
    }
    results = {}
    for name, (f, arrays) in cases.items():
        results[name] = [best_ms(mx_case(f, arrays, bw)) for bw in (False, True)]
    try:
        import torch
        tx, tg = torch.from_numpy(x_np), torch.from_numpy(g_np)
        t_rms = lambda a, b: a * torch.rsqrt(a.pow(2).mean(-1, keepdim=True) + 1e-6) * b
        for name, f, args in [("torch gelu", torch.nn.functional.gelu, [tx]),
                              ("torch gelu tanh", lambda a: torch.nn.functional.gelu(a, approximate="tanh"), [tx]),
                              ("torch rms_norm (composed)", t_rms, [tx, tg])]:
            def fwd():
                f(*args)

            def fwd_bwd():
                leaves = [a.detach().requires_grad_() for a in args]
                f(*leaves).sum().backward()
            results["%s (%d threads)" % (name, torch.get_num_threads())] = [best_ms(fwd), best_ms(fwd_bwd)]
    except ImportError:
        pass

    print("%-36s %12s %16s" % ("float32 %dx%d" % (rows, cols), "forward ms", "fwd+bwd ms"))
    for name, (f, fb) in results.items():
        print("%-36s %12.2f %16.2f" % (name, f, fb))
    print(json.dumps({"bench": "example_ops", "shape": [rows, cols], "ms": results}))


if __name__ == "__main__":
    main()
