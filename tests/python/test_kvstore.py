"""mx.kv with the local and device stores (one process, cpu(0) ... cpu(3) as the devices), each result
checked against numpy: sums, a model of MXNet's 2bit compression with its residuals, SGD and Adam
written out from MXNet's formulas. The dist_* types are tested in tests/dist."""
import os
import subprocess
import sys

import numpy as np
import pytest

import mx

MXNetError = mx.base.MXNetError
TYPES = ["local", "device"]
DTYPES = [np.float32, np.float64, np.int32]


def rand(shape, dtype, rng):
    if np.dtype(dtype).kind == "i":
        return rng.integers(-50, 50, size=shape).astype(dtype)
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def assert_sum(got, want, dtype):
    if np.dtype(dtype).kind == "i":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=2e-6 if dtype == np.float32 else 1e-13, atol=1e-6)


# ---------------------------------------------------------------- create and attributes

@pytest.mark.parametrize("kv_type", TYPES)
def test_create_and_attributes(kv_type):
    kv = mx.kv.create(kv_type)
    assert kv.type == kv_type
    assert kv.rank == 0
    assert kv.num_workers == 1
    kv.barrier()
    assert mx.kvstore.create().type == "local"


def test_unknown_type_and_dist_device_sync_are_errors():
    with pytest.raises(MXNetError, match="'locale'"):
        mx.kv.create("locale")
    with pytest.raises(MXNetError, match="NCCL"):
        mx.kv.create("dist_device_sync")  # NCCL across processes: not built yet
    with pytest.raises(TypeError):
        mx.kv.create(3)


def test_dist_without_the_transport_names_it():
    # In a child process: the transport is looked up (and MPI initialised) once per process.
    missing = "/nonexistent/test_kvstore/libmx_kvstore_mpi.so"
    code = ("import mx\n"
            "for t in ('dist_sync', 'dist_async'):\n"
            "    try:\n"
            "        mx.kv.create(t)\n"
            "    except mx.base.MXNetError as e:\n"
            "        print('ERR', t, repr(str(e)))\n"
            "    else:\n"
            "        print('NOERR', t)\n")
    env = dict(os.environ, MX_KVSTORE_TRANSPORT=missing)
    env["PYTHONPATH"] = os.pathsep.join([os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                      "bindings", "python"), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 2, out.stdout
    for line in lines:
        assert line.startswith("ERR"), line
        assert missing in line and "no such file" in line, line


# ---------------------------------------------------------------- merging

@pytest.mark.parametrize("kv_type", TYPES)
@pytest.mark.parametrize("nctx", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", DTYPES)
def test_push_sums_and_pull_fills_every_output(kv_type, nctx, dtype):
    rng = np.random.default_rng(nctx * 10 + DTYPES.index(dtype))
    shape = (3, 4)
    key = 3 if dtype != np.float64 else "w"
    kv = mx.kv.create(kv_type)
    init = rand(shape, dtype, rng)
    kv.init(key, mx.nd.array(init, ctx=mx.cpu(nctx - 1), dtype=dtype))
    outs = [mx.nd.zeros(shape, ctx=mx.cpu(i), dtype=dtype) for i in range(nctx)]
    kv.pull(key, out=outs)
    for o in outs:
        np.testing.assert_array_equal(o.asnumpy(), init)
    for _ in range(2):  # no updater: the stored value is each push's merge, not a running sum
        vals = [rand(shape, dtype, rng) for _ in range(nctx)]
        kv.push(key, [mx.nd.array(v, ctx=mx.cpu(i), dtype=dtype) for i, v in enumerate(vals)])
        kv.pull(key, out=outs)
        for i, o in enumerate(outs):
            assert o.context == mx.cpu(i)
            assert o.dtype == dtype
            assert_sum(o.asnumpy(), np.sum(vals, axis=0, dtype=np.float64).astype(dtype), dtype)


@pytest.mark.parametrize("kv_type", TYPES)
@pytest.mark.parametrize("int_keys", [True, False])
def test_lists_of_keys_with_lists_of_values_and_repeated_keys(kv_type, int_keys):
    rng = np.random.default_rng(5)
    keys = [0, 12, 345] if int_keys else ["fc1_weight", "fc1_bias", "b"]
    shapes = [(4, 3), (7,), (1,)]
    kv = mx.kv.create(kv_type)
    kv.init(keys, [mx.nd.zeros(s, ctx=mx.cpu(i)) for i, s in enumerate(shapes)])
    vals = [[rand(s, np.float32, rng) for _ in range(k + 2)] for k, s in enumerate(shapes)]
    kv.push(keys, [[mx.nd.array(v, ctx=mx.cpu(c)) for c, v in enumerate(per)] for per in vals])
    outs = [[mx.nd.zeros(s, ctx=mx.cpu(c)) for c in range(3)] for s in shapes]
    kv.pull(keys, out=outs)
    for k in range(3):
        for o in outs[k]:
            np.testing.assert_allclose(o.asnumpy(), np.sum(vals[k], axis=0), rtol=1e-6, atol=1e-6)
    # The same key several times in one call: its values are summed; a pull may repeat a key.
    order = [1, 0, 1, 2, 0, 1]
    vals = [rand(shapes[k], np.float32, rng) for k in order]
    kv.push([keys[k] for k in order], [mx.nd.array(v, ctx=mx.cpu(j % 4)) for j, v in enumerate(vals)])
    pull_order = [2, 1, 2, 0]
    outs = [mx.nd.zeros(shapes[k], ctx=mx.cpu(j)) for j, k in enumerate(pull_order)]
    kv.pull([keys[k] for k in pull_order], out=outs)
    for j, k in enumerate(pull_order):
        want = np.sum([v for v, kk in zip(vals, order) if kk == k], axis=0)
        np.testing.assert_allclose(outs[j].asnumpy(), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kv_type", TYPES)
def test_one_element_and_large_arrays(kv_type):
    kv = mx.kv.create(kv_type)
    kv.init(1, mx.nd.zeros((1,)))
    kv.push(1, [mx.nd.array([0.5 * (i + 1)], ctx=mx.cpu(i)) for i in range(4)])
    o = mx.nd.zeros((1,), ctx=mx.cpu(3))
    kv.pull(1, out=o)
    assert o.asnumpy().tolist() == [5.0]
    n = 1 << 22
    j = np.arange(n, dtype=np.int64)
    vals = [(((j * (c + 3) + c) % 1000) * 0.25 - 100).astype(np.float32) for c in range(4)]  # exact float sums
    kv.init(2, mx.nd.zeros((n,)))
    kv.push(2, [mx.nd.array(v, ctx=mx.cpu(c)) for c, v in enumerate(vals)])
    out = mx.nd.zeros((n,), ctx=mx.cpu(1))
    kv.pull(2, out=out)
    np.testing.assert_array_equal(out.asnumpy(), vals[0] + vals[1] + vals[2] + vals[3])


@pytest.mark.parametrize("kv_type", TYPES)
def test_pushpull_and_broadcast(kv_type):
    rng = np.random.default_rng(11)
    kv = mx.kv.create(kv_type)
    kv.init("w", mx.nd.zeros((2, 3), ctx=mx.cpu(1)))
    vals = [rand((2, 3), np.float32, rng) for _ in range(3)]
    arrs = [mx.nd.array(v, ctx=mx.cpu(i)) for i, v in enumerate(vals)]
    outs = [mx.nd.zeros((2, 3), ctx=mx.cpu(3 - i)) for i in range(3)]
    kv.pushpull("w", arrs, out=outs, priority=2)
    for o in outs:
        np.testing.assert_allclose(o.asnumpy(), np.sum(vals, axis=0), rtol=1e-6, atol=1e-6)
    # Without out, the values are updated in place (MXNet's allreduce idiom).
    kv.pushpull("w", arrs)
    for a in arrs:
        np.testing.assert_allclose(a.asnumpy(), np.sum(vals, axis=0), rtol=1e-6, atol=1e-6)
    # broadcast: init, then pull into every output.
    b = rand((4,), np.float32, rng)
    bouts = [mx.nd.zeros((4,), ctx=mx.cpu(i)) for i in range(4)]
    kv.broadcast("b", mx.nd.array(b, ctx=mx.cpu(2)), out=bouts)
    for o in bouts:
        np.testing.assert_array_equal(o.asnumpy(), b)
    # A refused broadcast initialises nothing: the retry works.
    with pytest.raises(MXNetError, match=r"'e'.*\(4\) float32.*\(3\) float32"):
        kv.broadcast("e", mx.nd.array(b), out=[mx.nd.zeros((4,)), mx.nd.zeros((3,))])
    kv.broadcast("e", mx.nd.array(b), out=bouts[1])
    with pytest.raises(MXNetError, match="'b' is already initialised"):
        kv.broadcast("b", mx.nd.array(b), out=bouts[0])
    # Lists of keys.
    kv.broadcast(["c", "d"], [mx.nd.ones((2,)), mx.nd.zeros((3,))],
                 out=[[mx.nd.zeros((2,), ctx=mx.cpu(i)) for i in range(2)], mx.nd.ones((3,))])
    o = mx.nd.zeros((2,))
    kv.pull("c", out=o)
    assert o.asnumpy().tolist() == [1, 1]


# ---------------------------------------------------------------- updater

@pytest.mark.parametrize("kv_type", TYPES)
def test_updater_runs_once_per_key_per_push_with_the_merged_value(kv_type):
    rng = np.random.default_rng(3)
    kv = mx.kv.create(kv_type)
    calls = []

    def update(key, recv, stored):
        calls.append((key, recv.context, stored.context))
        stored[:] = stored + 2 * recv

    kv._set_updater(update)
    w = {5: rand((6,), np.float32, rng), 9: rand((6,), np.float32, rng)}
    kv.init([5, 9], [mx.nd.array(w[5]), mx.nd.array(w[9], ctx=mx.cpu(2))])
    assert calls == []
    for step in range(3):
        order = [9, 5, 9, 5, 5, 9]
        vals = [rand((6,), np.float32, rng) for _ in order]
        calls.clear()
        kv.push(order, [mx.nd.array(v, ctx=mx.cpu(j % 4)) for j, v in enumerate(vals)], priority=-step)
        assert [c[0] for c in calls] == [9, 5]  # int keys come back as ints, first appearance first
        for _, recv_ctx, stored_ctx in calls:
            assert recv_ctx == stored_ctx
        for k in (5, 9):
            w[k] = w[k] + 2 * np.sum([v for v, kk in zip(vals, order) if kk == k], axis=0)
        outs = [mx.nd.zeros((6,), ctx=mx.cpu(1)), mx.nd.zeros((6,), ctx=mx.cpu(3))]
        kv.pull([5, 9], out=outs)
        np.testing.assert_allclose(outs[0].asnumpy(), w[5], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(outs[1].asnumpy(), w[9], rtol=1e-5, atol=1e-5)
    # One value on another device than the stored one: the updater still gets both on one device.
    calls.clear()
    kv.push(9, mx.nd.ones((6,), ctx=mx.cpu(3)))
    assert len(calls) == 1 and calls[0][1] == calls[0][2]
    o = mx.nd.zeros((6,))
    kv.pull(9, out=o)
    np.testing.assert_allclose(o.asnumpy(), w[9] + 2, rtol=1e-5, atol=1e-5)


def test_updater_keys_are_strings_in_a_store_of_string_keys():
    kv = mx.kv.create("device")
    seen = []
    kv._set_updater(lambda k, r, s: seen.append(k))
    kv.init("fc_weight", mx.nd.zeros((2,)))
    kv.push("fc_weight", mx.nd.ones((2,)))
    assert seen == ["fc_weight"]


def test_a_raising_updater_fails_the_push_and_the_store_goes_on():
    kv = mx.kv.create("device")

    class Boom(RuntimeError):
        pass

    fail = [True]

    def update(key, recv, stored):
        if fail[0]:
            raise Boom("updater refused key %r" % (key,))
        stored[:] = stored + recv

    kv.set_updater(update)
    kv.init(4, mx.nd.array([1.0, 2.0]))
    grads = [mx.nd.array([1.0, 1.0]), mx.nd.array([2.0, 2.0], ctx=mx.cpu(1))]
    with pytest.raises(Boom, match="updater refused key 4"):
        kv.push(4, grads)
    with pytest.raises(Boom):
        kv.pushpull(4, grads, out=mx.nd.zeros((2,)))
    fail[0] = False
    kv.push(4, grads)
    o = mx.nd.zeros((2,))
    kv.pull(4, out=o)
    np.testing.assert_array_equal(o.asnumpy(), [4.0, 5.0])
    mx.nd.waitall()


# ---------------------------------------------------------------- optimizers

def np_sgd(w, g, mom, lr, momentum=0.0, wd=0.0, rescale=1.0, clip=None):
    g = rescale * g
    if clip is not None:
        g = np.clip(g, -clip, clip)
    if momentum == 0:
        return w - lr * (g + wd * w), mom
    mom = momentum * mom - lr * (g + wd * w)
    return w + mom, mom


def np_adam(w, g, mean, var, t, lr, beta1=0.9, beta2=0.999, eps=1e-8, wd=0.0, rescale=1.0, clip=None):
    # Bias correction folded into the step's learning rate, as MXNet's Adam does.
    lr_t = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
    g = rescale * g
    if clip is not None:
        g = np.clip(g, -clip, clip)
    g = g + wd * w
    mean = beta1 * mean + (1 - beta1) * g
    var = beta2 * var + (1 - beta2) * g * g
    return w - lr_t * mean / (np.sqrt(var) + eps), mean, var


@pytest.mark.parametrize("kv_type", TYPES)
@pytest.mark.parametrize("name", ["sgd", "sgd_mom", "adam"])
def test_set_optimizer_matches_numpy_over_several_steps(kv_type, name):
    rng = np.random.default_rng(21)
    if name == "adam":
        opt = mx.optimizer.Adam(learning_rate=0.01, beta1=0.8, beta2=0.95, epsilon=1e-6, wd=0.001,
                                rescale_grad=1.0 / 3, clip_gradient=0.4)
    else:
        opt = mx.optimizer.SGD(learning_rate=0.1, momentum=0.9 if name == "sgd_mom" else 0.0, wd=0.01,
                               rescale_grad=0.5, clip_gradient=0.3)
    kv = mx.kv.create(kv_type)
    kv.set_optimizer(opt)
    w = rand((50,), np.float32, rng).astype(np.float64)
    s1, s2 = np.zeros_like(w), np.zeros_like(w)
    kv.init(0, mx.nd.array(w, ctx=mx.cpu(1)))
    for t in range(1, 6):
        grads = [rand((50,), np.float32, rng) for _ in range(3)]
        kv.push(0, [mx.nd.array(g, ctx=mx.cpu(c)) for c, g in enumerate(grads)])
        g = np.sum(grads, axis=0, dtype=np.float64)
        if name == "adam":
            w, s1, s2 = np_adam(w, g, s1, s2, t, 0.01, 0.8, 0.95, 1e-6, 0.001, 1.0 / 3, 0.4)
        else:
            w, s1 = np_sgd(w, g, s1, 0.1, 0.9 if name == "sgd_mom" else 0.0, 0.01, 0.5, 0.3)
        o = mx.nd.zeros((50,), ctx=mx.cpu(2))
        kv.pull(0, out=o)
        np.testing.assert_allclose(o.asnumpy(), w, rtol=2e-5, atol=2e-6, err_msg="step %d" % t)


@pytest.mark.parametrize("kv_type", TYPES)
@pytest.mark.parametrize("name", ["sgd_mom", "adam"])
def test_saved_optimizer_states_let_another_store_continue_exactly(kv_type, name, tmp_path):
    rng = np.random.default_rng(8)

    def make_opt():
        if name == "adam":
            return mx.optimizer.Adam(learning_rate=0.05, beta1=0.7, wd=0.01)
        return mx.optimizer.SGD(learning_rate=0.1, momentum=0.8, rescale_grad=0.5)

    grads = [[rand((16,), np.float32, rng) for _ in range(4)] for _ in range(6)]
    keys = ["w", "w", "b", "b"]

    def push(kv, step):
        kv.push(keys, [mx.nd.array(g, ctx=mx.cpu(i % 2)) for i, g in enumerate(grads[step])])

    a = mx.kv.create(kv_type)
    a.set_optimizer(make_opt())
    a.init(["w", "b"], [mx.nd.array(rand((16,), np.float32, rng)), mx.nd.array(rand((16,), np.float32, rng))])
    for s in range(3):
        push(a, s)
    fname = str(tmp_path / "kv.states")
    a.save_optimizer_states(fname, dump_optimizer=name == "adam")  # Adam's update counts live in the optimizer
    now = [mx.nd.zeros((16,)), mx.nd.zeros((16,))]
    a.pull(["w", "b"], out=now)
    b = mx.kv.create(kv_type)
    b.set_optimizer(make_opt())
    b.init(["w", "b"], now)
    b.load_optimizer_states(fname)
    fresh = mx.kv.create(kv_type)
    fresh.set_optimizer(make_opt())
    fresh.init(["w", "b"], now)
    for s in range(3, 6):
        for kv in (a, b, fresh):
            push(kv, s)
    for k in ["w", "b"]:
        oa, ob, of = mx.nd.zeros((16,)), mx.nd.zeros((16,)), mx.nd.zeros((16,))
        a.pull(k, out=oa)
        b.pull(k, out=ob)
        fresh.pull(k, out=of)
        np.testing.assert_array_equal(ob.asnumpy(), oa.asnumpy())
        assert not np.array_equal(of.asnumpy(), oa.asnumpy()), "fresh states give other weights"


def test_optimizer_states_without_an_optimizer_are_an_error(tmp_path):
    kv = mx.kv.create("local")
    with pytest.raises(MXNetError, match="no optimizer"):
        kv.save_optimizer_states(str(tmp_path / "x"))


# ---------------------------------------------------------------- 2bit compression

def model_2bit(grads, residuals, t):
    """MXNet's 2bit scheme per context: r += g; send +t if r >= t, -t if r <= -t, else 0; r -= sent."""
    merged = np.zeros_like(grads[0])
    for c, g in enumerate(grads):
        r = (residuals[c] + g).astype(np.float32)
        sent = np.where(r >= t, np.float32(t), np.where(r <= -t, np.float32(-t), np.float32(0)))
        residuals[c] = (r - sent).astype(np.float32)
        merged = merged + sent
    return merged


@pytest.mark.parametrize("nctx", [2, 3, 4])
def test_2bit_compression_matches_the_numpy_model_with_residuals(nctx):
    rng = np.random.default_rng(nctx)
    t = 0.5
    kv = mx.kv.create("device")
    kv.set_gradient_compression({"type": "2bit", "threshold": t})
    sizes = {3: 37, 4: 1000}
    kv.init([3, 4], [mx.nd.zeros((n,)) for n in sizes.values()])
    residuals = {k: [np.zeros(n, np.float32) for _ in range(nctx)] for k, n in sizes.items()}
    for step in range(6):
        grads = {k: [rng.uniform(-0.7, 0.7, n).astype(np.float32) for _ in range(nctx)] for k, n in sizes.items()}
        kv.push([3, 4], [[mx.nd.array(g, ctx=mx.cpu(c)) for c, g in enumerate(grads[k])] for k in sizes])
        for k in sizes:
            want = model_2bit(grads[k], residuals[k], t)
            o = mx.nd.zeros((sizes[k],), ctx=mx.cpu(nctx - 1))
            kv.pull(k, out=o)
            np.testing.assert_array_equal(o.asnumpy(), want, err_msg="key %d step %d" % (k, step))


def test_2bit_compression_is_refused_where_mxnet_refuses_it():
    with pytest.raises(MXNetError, match="local"):
        mx.kv.create("local").set_gradient_compression({"type": "2bit", "threshold": 0.5})
    kv = mx.kv.create("device")
    with pytest.raises(MXNetError, match="'1bit'"):
        kv.set_gradient_compression({"type": "1bit", "threshold": 0.5})
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(MXNetError, match="threshold"):
            kv.set_gradient_compression({"type": "2bit", "threshold": bad})
    with pytest.raises(MXNetError, match="type"):
        kv.set_gradient_compression({"threshold": 0.5})
    with pytest.raises(MXNetError, match="unknown parameters"):
        kv.set_gradient_compression({"type": "2bit", "threshold": 0.5, "bits": 2})
    kv.init(0, mx.nd.zeros((2,)))
    with pytest.raises(MXNetError, match="before the first init"):
        kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
    kv.push(0, [mx.nd.array([1.0, 0.1]), mx.nd.array([0.1, 0.2], ctx=mx.cpu(1))])  # uncompressed
    o = mx.nd.zeros((2,))
    kv.pull(0, out=o)
    np.testing.assert_allclose(o.asnumpy(), [1.1, 0.3], rtol=1e-6)


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("kv_type", TYPES)
def test_errors_name_the_key_and_the_shapes(kv_type):
    kv = mx.kv.create(kv_type)
    with pytest.raises(MXNetError, match="'17'.*not initialised"):
        kv.push(17, mx.nd.ones((2, 3)))
    with pytest.raises(MXNetError, match="'18'"):
        kv.pull(18, out=mx.nd.ones((2, 3)))
    kv.init(5, mx.nd.ones((2, 3)))
    with pytest.raises(MXNetError, match=r"'5'.*\(2,3\) float32.*\(3,2\) float32"):
        kv.push(5, [mx.nd.ones((2, 3)), mx.nd.ones((3, 2), ctx=mx.cpu(1))])
    with pytest.raises(MXNetError, match=r"'5'.*\(2,3\) float32.*\(2,3\) float64"):
        kv.pull(5, out=mx.nd.ones((2, 3), dtype="float64"))
    with pytest.raises(MXNetError, match="'5' is already initialised"):
        kv.init(5, mx.nd.ones((2, 3)))
    with pytest.raises(MXNetError, match="'weight'.*integers"):
        kv.init("weight", mx.nd.ones((2, 3)))
    o = mx.nd.zeros((2, 3))
    kv.pull(5, out=o)
    np.testing.assert_array_equal(o.asnumpy(), np.ones((2, 3)))  # the refused calls changed nothing
    with pytest.raises(MXNetError, match="out= is required"):
        kv.pull(5)
    with pytest.raises(TypeError):
        kv.push(5, np.ones((2, 3)))
    with pytest.raises(MXNetError):
        kv.push([5, 6], mx.nd.ones((2, 3)))
    s = mx.kv.create(kv_type)
    s.init("bias", mx.nd.ones((1,)))
    with pytest.raises(MXNetError, match="'2'.*strings"):
        s.init(2, mx.nd.ones((1,)))


# ---------------------------------------------------------------- engine ordering

@pytest.mark.parametrize("kv_type", TYPES)
def test_push_reads_values_after_their_producers_and_pull_is_ready_after_wait(kv_type):
    kv = mx.kv.create(kv_type)
    n = 1 << 18
    kv.init(0, mx.nd.zeros((n,)))
    # Each value is the end of a chain of ops still running when push is called.
    vals = []
    for c in range(3):
        x = mx.nd.zeros((n,), ctx=mx.cpu(c + 1))
        for _ in range(20):
            x += 1
        vals.append(x)
    kv.push(0, vals, priority=5)
    out = mx.nd.zeros((n,), ctx=mx.cpu(0))
    kv.pull(0, out=out, priority=-5)
    out.wait_to_read()
    np.testing.assert_array_equal(out.asnumpy(), np.full(n, 60, np.float32))
    # Push, pull, push again, pull: each pull sees its own push.
    outs = []
    for r in range(4):
        a = mx.nd.full((n,), r, ctx=mx.cpu(r % 4))
        a = a * 1 + 0
        kv.push(0, [a, a], priority=r)
        outs.append(mx.nd.zeros((n,), ctx=mx.cpu(3 - r % 4)))
        kv.pull(0, out=outs[-1], priority=-r)
    for r, o in enumerate(outs):
        np.testing.assert_array_equal(o.asnumpy(), np.full(n, 2 * r, np.float32))
