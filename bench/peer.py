"""What the Python benches share about their peer and their child processes: whether PyTorch is
installed, the thread environment of a configuration, and the MX_BENCH_MODELS list."""
import os


def frameworks():
    """["mx", "torch"], or ["mx"] (saying so) when python3-torch is not installed."""
    try:
        import torch  # noqa: F401
        return ["mx", "torch"]
    except ImportError:
        print("torch: not installed (Debian: python3-torch)")
        return ["mx"]


def thread_env(threads):
    """The environment of a child process at `threads` threads: mx reads MX_OMP_NUM_THREADS at
    start (its backend keeps OpenBLAS at 1 thread); torch gets set_num_threads from the child plus
    the OpenMP / OpenBLAS variables here, so that "1 thread" is one thread."""
    n = str(threads)
    return dict(os.environ, MX_OMP_NUM_THREADS=n, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n)


def models_from_env(allowed, default="lenet,mlp"):
    """MX_BENCH_MODELS as a list, each one of `allowed`; exits naming the variable otherwise."""
    models = [m for m in os.environ.get("MX_BENCH_MODELS", default).split(",") if m]
    if not models or set(models) - set(allowed):
        raise SystemExit("MX_BENCH_MODELS: %s, got %r" % (" and/or ".join(sorted(allowed)), ",".join(models)))
    return models
