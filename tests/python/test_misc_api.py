# Small MXNet 1.9.1 modules and names: mx.util, mx.runtime, mx.base, mx.context, mx.engine,
# mx.random.seed. Expectations are MXNet's documented behaviour, written by hand.
import ctypes
import threading
import warnings

import numpy as np
import pytest

import mx
import mx.base
import mx.context
import mx.engine
import mx.random
import mx.runtime
import mx.util


# ---------------------------------------------------------------- mx.util

def test_np_shape_default_off_and_scope_restores():
    assert mx.util.is_np_shape() is False  # MXNet's default
    with mx.util.np_shape(True):
        assert mx.util.is_np_shape() is True
        with mx.util.np_shape(False):
            assert mx.util.is_np_shape() is False
        assert mx.util.is_np_shape() is True
    assert mx.util.is_np_shape() is False


def test_set_np_shape_returns_previous_state():
    assert mx.util.set_np_shape(True) is False
    try:
        assert mx.util.set_np_shape(True) is True
    finally:
        assert mx.util.set_np_shape(False) is True
    assert mx.util.is_np_shape() is False
    with pytest.raises(TypeError, match="set_np_shape"):
        mx.util.set_np_shape("yes")


def test_np_shape_scope_restores_after_exception():
    with pytest.raises(KeyError):
        with mx.util.np_shape():
            raise KeyError("x")
    assert mx.util.is_np_shape() is False


def test_use_np_shape_decorates_functions_and_classes():
    @mx.util.use_np_shape
    def inside():
        """doc"""
        return mx.util.is_np_shape()

    assert inside() is True and inside.__doc__ == "doc" and mx.util.is_np_shape() is False

    @mx.util.use_np_shape
    class Block:
        def state(self):
            return mx.util.is_np_shape()

    assert Block().state() is True and mx.util.is_np_shape() is False

    @mx.util.np_shape(True)  # the scope is a decorator too
    def scoped():
        return mx.util.is_np_shape()

    assert scoped() is True and scoped() is True and mx.util.is_np_shape() is False
    with pytest.raises(TypeError):
        mx.util.use_np_shape(3)


def test_np_shape_is_thread_local():
    seen = []
    with mx.util.np_shape(True):
        t = threading.Thread(target=lambda: seen.append(mx.util.is_np_shape()))
        t.start()
        t.join()
    assert seen == [False]


# ---------------------------------------------------------------- mx.runtime

MXNET_FEATURES = ["CUDA", "CUDNN", "NCCL", "CUDA_RTC", "TENSORRT", "CPU_SSE", "CPU_SSE2", "CPU_SSE3",
                  "CPU_SSE4_1", "CPU_SSE4_2", "CPU_SSE4A", "CPU_AVX", "CPU_AVX2", "OPENMP", "SSE", "F16C",
                  "JEMALLOC", "BLAS_OPEN", "BLAS_ATLAS", "BLAS_MKL", "BLAS_APPLE", "LAPACK", "MKLDNN",
                  "OPENCV", "CAFFE", "PROFILER", "DIST_KVSTORE", "CXX14", "INT64_TENSOR_SIZE",
                  "SIGNAL_HANDLER", "DEBUG", "TVM_OP"]


def test_features_names_and_lookup():
    fs = mx.runtime.Features()
    assert list(fs.keys()) == MXNET_FEATURES
    assert mx.runtime.Features() is fs  # one shared instance, as MXNet
    assert [f.name for f in mx.runtime.feature_list()] == MXNET_FEATURES
    assert fs["CUDA"].enabled is fs.is_enabled("cuda")  # case-insensitive
    assert fs.is_enabled("MKLDNN") is False and fs.is_enabled("TENSORRT") is False
    with pytest.raises(RuntimeError, match="NOT_A_FEATURE"):
        fs.is_enabled("not_a_feature")


def test_features_follow_loaded_backends():
    fs = mx.runtime.Features()
    backends = {b["name"]: b for b in mx.backend.list_backends()}
    cpu = backends["cpu"]
    assert fs.is_enabled("BLAS_OPEN") == ("openblas" in cpu["version"].lower())
    cuda_ok = "cuda" in backends and backends["cuda"]["usable"] and backends["cuda"]["devices"] > 0
    assert fs.is_enabled("CUDA") == cuda_ok
    assert fs.is_enabled("CUDA") == (mx.context.num_gpus() > 0)


def test_feature_repr():
    assert repr(mx.runtime.Feature("CUDA", False)) == "✖ CUDA"
    assert repr(mx.runtime.Feature("BLAS_OPEN", True)) == "✔ BLAS_OPEN"
    assert repr(mx.runtime.Features()).startswith("[")


# ---------------------------------------------------------------- mx.base

def test_base_names():
    b = mx.base
    assert b.mx_real_t is np.float32
    assert b.NDArrayHandle is ctypes.c_void_p and b.SymbolHandle is ctypes.c_void_p
    assert b._LIB is b.LIB and isinstance(b._LIB, ctypes.CDLL)
    assert isinstance("a", b.string_types)
    assert all(isinstance(v, b.numeric_types) for v in (1, 1.5, np.float32(2), np.int64(3)))
    assert all(isinstance(v, b.integer_types) for v in (1, np.int32(2), np.int64(3)))
    assert not isinstance(1.5, b.integer_types)
    assert b.py_str(b"abc") == "abc"
    assert b.c_str("abc") == b"abc"
    assert issubclass(b.MXNetError, Exception)


# ---------------------------------------------------------------- mx.context

def test_cpu_pinned_and_shared_print_and_compare_as_mxnet():
    p, s = mx.context.cpu_pinned(), mx.context.cpu_shared(1)
    assert repr(p) == "cpu_pinned(0)" and str(s) == "cpu_shared(1)"
    assert p == mx.context.Context("cpu_pinned", 0) and p != mx.cpu(0) and s != mx.context.cpu_shared(0)
    assert mx.context.Context.devstr2type == {"cpu": 1, "gpu": 2, "cpu_pinned": 3, "cpu_shared": 5}
    assert mx.context.Context.devtype2str[3] == "cpu_pinned"
    a = mx.nd.ones((2, 3), ctx=p)  # plain CPU memory here
    np.testing.assert_array_equal(a.asnumpy(), np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="tpu"):
        mx.context.Context("tpu", 0)


def test_default_ctx_is_deprecated_alias_of_current_context():
    Context = mx.context.Context
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert Context.default_ctx == mx.cpu(0)
        with mx.context.cpu_pinned(0):
            assert Context.default_ctx == mx.context.cpu_pinned(0)
        assert Context.default_ctx == mx.cpu(0)
    assert caught and all(issubclass(w.category, DeprecationWarning) for w in caught)


def test_num_gpus_and_gpu_memory_info():
    n = mx.context.num_gpus()
    assert isinstance(n, int) and n >= 0
    with pytest.raises(mx.base.MXNetError, match="gpu_memory_info.*device_id 99"):
        mx.context.gpu_memory_info(99)
    if n == 0:
        with pytest.raises(mx.base.MXNetError, match="gpu_memory_info"):
            mx.context.gpu_memory_info(0)
    else:
        free, total = mx.context.gpu_memory_info(0)
        assert 0 < free <= total


# ---------------------------------------------------------------- mx.engine

def test_set_bulk_size_returns_previous_and_bulk_restores():
    first = mx.engine.set_bulk_size(15)
    assert first == 0  # MXNet's initial bulk size
    assert mx.engine.set_bulk_size(30) == 15
    with mx.engine.bulk(5):
        assert mx.engine.set_bulk_size(5) == 5
        x = mx.nd.ones((3,)) + 1  # ops still run
    assert mx.engine.set_bulk_size(first) == 30
    np.testing.assert_array_equal(x.asnumpy(), [2, 2, 2])
    with pytest.raises(ValueError, match="set_bulk_size"):
        mx.engine.set_bulk_size(-1)


# ---------------------------------------------------------------- mx.random.seed

def test_seed_one_cpu_context_makes_uniform_reproducible():
    mx.random.seed(128, ctx=mx.cpu(0))
    a = mx.nd.random.uniform(shape=(2, 3), ctx=mx.cpu(0)).asnumpy()
    b_next = mx.nd.random.uniform(shape=(2, 3), ctx=mx.cpu(0)).asnumpy()
    mx.random.seed(128, ctx=mx.cpu(0))
    c = mx.nd.random.uniform(shape=(2, 3), ctx=mx.cpu(0)).asnumpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b_next)
    assert ((a >= 0) & (a < 1)).all()
    mx.random.seed(129)  # ctx='all'
    assert not np.array_equal(mx.nd.random.uniform(shape=(2, 3)).asnumpy(), a)


def test_seed_rejects_bad_arguments():
    with pytest.raises(ValueError, match="seed_state"):
        mx.random.seed(1.5)
    with pytest.raises(ValueError, match="ctx"):
        mx.random.seed(1, ctx="cpu")
    with pytest.raises(mx.base.MXNetError, match="gpu"):
        mx.random.seed(1, ctx=mx.gpu(mx.context.num_gpus()))


def test_symbol_op_takes_params_by_position_like_ndarray():
    x = mx.sym.var("x")
    v = np.array([-1.0, 3.0, 7.0], np.float32)
    got = mx.sym.clip(x, 0, 6).eval(x=mx.nd.array(v))[0].asnumpy()
    np.testing.assert_array_equal(got, np.clip(v, 0, 6))
    with pytest.raises(TypeError, match="clip: 3 positional values"):
        mx.sym.clip(x, 0, 6, 7)


def test_symbol_outputs_iterate_and_index_like_a_sequence():
    parts = mx.sym.split(mx.sym.var("x"), num_outputs=3, axis=0)
    outs = [o for o in parts]  # a for loop stops at IndexError
    assert len(outs) == 3
    v = np.arange(6, dtype=np.float32).reshape(3, 2)
    got = parts[-1].eval(x=mx.nd.array(v))[0].asnumpy()
    np.testing.assert_array_equal(got, v[2:3])
    with pytest.raises(IndexError, match="3 outputs, index 3"):
        parts[3]
