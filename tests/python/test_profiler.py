"""mx.profiler against independent references: the ops, kvstore calls, iterator batches and user
events the test itself ran (counted by hand), the trace parsed with json.load, the values of the
profiled ops against numpy, and the wall time of a sleep for a user task's duration."""
import collections
import json
import os
import threading
import time

import numpy as np
import pytest

import mx
import mx.profiler as profiler
from mx.base import MXNetError


@pytest.fixture
def trace(tmp_path):
    """A stopped profiler with nothing recorded, writing to a fresh file; stopped again after."""
    path = str(tmp_path / "profile.json")

    def configure(**kwargs):
        kwargs.setdefault("filename", path)
        profiler.set_config(**kwargs)

    mx.nd.waitall()
    profiler.set_state("stop")
    configure(profile_all=True, aggregate_stats=True)
    profiler.dump()           # drop what earlier tests left
    profiler.dumps(reset=True)
    yield path, configure
    mx.nd.waitall()
    profiler.set_state("stop")
    profiler.dump()
    profiler.dumps(reset=True)


def load(path):
    profiler.dump()
    with open(path) as f:
        return json.load(f)


def spans(doc, cat="operator"):
    return [e for e in doc["traceEvents"] if e["ph"] == "X" and e.get("cat") == cat]


def counts(events):
    return collections.Counter(e["name"] for e in events)


def table_count(table, name):
    """The Total Count column of `name`'s row in dumps()'s table."""
    for line in table.splitlines():
        cols = line.split()
        if cols and cols[0] == name:
            return int(cols[1])
    raise AssertionError("no row %r in\n%s" % (name, table))


def test_each_op_run_is_one_event_and_counted_in_dumps(trace):
    path, _ = trace
    profiler.set_state("run")
    assert profiler.state() == "run"
    x = mx.nd.ones((3, 4))
    y = mx.nd.elemwise_add(x, x)
    z = mx.nd.relu(mx.nd.elemwise_add(y, x))
    w = mx.nd.exp(mx.nd.exp(mx.nd.exp(z * 0)))
    got = w.asnumpy()
    profiler.set_state("stop")
    assert profiler.state() == "stop"
    np.testing.assert_allclose(got, np.exp(np.exp(np.exp(np.zeros((3, 4))))), rtol=1e-6)

    doc = load(path)
    assert doc["displayTimeUnit"] == "ms"
    ops = spans(doc)
    c = counts(ops)
    assert c["_ones"] == 1 and c["elemwise_add"] == 2 and c["relu"] == 1 and c["exp"] == 3
    assert c["_mul_scalar"] == 1
    assert sum(c.values()) == 8
    for e in ops:
        assert e["dur"] >= 0 and e["ts"] >= 0 and e["pid"] == ops[0]["pid"]
    # exp reads the previous exp: the three run one after another.
    exps = [e for e in ops if e["name"] == "exp"]
    for a, b in zip(exps, exps[1:]):
        assert b["ts"] + 1e-3 >= a["ts"] + a["dur"]
    names = {(m["pid"], m["args"]["name"]) for m in doc["traceEvents"] if m["ph"] == "M" and m["name"] == "process_name"}
    assert (ops[0]["pid"], "cpu(0)") in names

    table = profiler.dumps()
    assert "Profile Statistics" in table and "operator" in table
    assert table_count(table, "exp") == 3
    assert table_count(table, "elemwise_add") == 2
    stats = json.loads(profiler.dumps(format="json", sort_by="count"))
    assert stats["Time"]["operator"]["exp"]["Count"] == 3
    assert list(stats["Time"]["operator"])[0] == "exp"  # most frequent first
    profiler.dumps(reset=True)
    assert "exp" not in profiler.dumps()


def test_memory_events_only_with_profile_memory(trace):
    path, configure = trace
    configure(profile_symbolic=False, profile_imperative=False, profile_api=False, profile_memory=True)
    profiler.set_state("run")
    a = mx.nd.zeros((64, 64))  # 16 KiB
    a.wait_to_read()
    profiler.set_state("stop")
    doc = load(path)
    mem = [e for e in doc["traceEvents"] if e.get("cat") == "memory"]
    assert mem and all(e["ph"] == "C" and e["name"] == "Memory: cpu(0)" for e in mem)
    assert max(e["args"]["bytes_in_use"] for e in mem) >= 64 * 64 * 4
    assert spans(doc) == []  # ops were off

    configure(profile_memory=False, profile_symbolic=False, profile_imperative=False)
    profiler.set_state("run")
    mx.nd.zeros((64, 64)).wait_to_read()
    profiler.set_state("stop")
    assert [e for e in load(path)["traceEvents"] if e.get("cat") == "memory"] == []


def test_pause_resume_and_stop(trace):
    path, _ = trace
    x = mx.nd.ones((2, 2))
    profiler.set_state("run")
    profiler.pause()
    mx.nd.relu(x).wait_to_read()
    profiler.resume()
    mx.nd.exp(x).wait_to_read()
    profiler.set_state("stop")
    mx.nd.sqrt(x).wait_to_read()
    assert counts(spans(load(path))) == {"exp": 1}
    assert spans(load(path)) == []  # the first dump consumed them


def test_kvstore_and_iterator_events(trace, tmp_path):
    path, _ = trace
    csv = tmp_path / "data.csv"
    csv.write_text("1,2,3\n4,5,6\n7,8,9\n10,11,12\n")
    kv = mx.kv.create("local")
    kv.init(3, mx.nd.zeros((2, 3)))
    it = mx.io.CSVIter(data_csv=str(csv), data_shape=(3,), batch_size=2)
    profiler.set_state("run")
    kv.push(3, mx.nd.ones((2, 3)))
    out = mx.nd.zeros((2, 3))
    kv.pull(3, out=out)
    out.wait_to_read()
    it.reset()  # the constructor read a batch ahead (before recording); start over
    batches = sum(1 for _ in it)
    profiler.set_state("stop")
    np.testing.assert_array_equal(out.asnumpy(), np.ones((2, 3)))
    doc = load(path)
    kv_calls = counts(spans(doc, "kvstore"))
    assert kv_calls["KVStore push"] == 1 and kv_calls["KVStore pull"] == 1
    io = counts(spans(doc, "io"))
    assert batches == 2 and io["CSVIter next"] == batches + 1  # the last call says the epoch ended
    assert io["CSVIter produce"] >= 2  # two batches and the end, made ahead on the prefetch thread


def test_user_domain_events(trace):
    path, _ = trace
    dom = profiler.Domain("training")
    task = dom.new_task("step")
    counter = dom.new_counter("samples", 10)
    profiler.set_state("run")
    task.start()
    t0 = time.perf_counter()
    time.sleep(0.02)
    slept_us = (time.perf_counter() - t0) * 1e6
    task.stop()
    counter += 5
    counter.decrement(3)
    dom.new_marker("epoch end").mark("global")
    with profiler.Event("load"):
        pass
    profiler.set_state("stop")
    doc = load(path)
    steps = spans(doc, "training")
    assert len(steps) == 1 and steps[0]["name"] == "step"
    assert slept_us - 1 <= steps[0]["dur"] < slept_us + 20000
    values = [e["args"]["samples"] for e in doc["traceEvents"] if e["ph"] == "C" and e.get("cat") == "training"]
    assert values == [15, 12]  # 10 was set before recording began
    marks = [e for e in doc["traceEvents"] if e["ph"] == "i"]
    assert [(m["name"], m["s"], m["cat"]) for m in marks] == [("epoch end", "g", "training")]
    assert counts(spans(doc, "event")) == {"load": 1}
    assert table_count(profiler.dumps(), "step") == 1
    with pytest.raises(MXNetError, match="step"):
        task.stop()  # not started again
    with pytest.raises(MXNetError, match="galaxy"):
        dom.new_marker("m").mark("galaxy")


def test_errors_name_the_value_or_file(trace, tmp_path):
    path, configure = trace
    with pytest.raises(MXNetError, match="running"):
        profiler.set_state("running")
    with pytest.raises(MXNetError, match="profile_everything"):
        profiler.set_config(profile_everything=True)
    with pytest.raises(MXNetError, match="perhaps"):
        profiler.set_config(profile_memory="perhaps")
    with pytest.raises(MXNetError, match="xml"):
        profiler.dumps(format="xml")
    with pytest.raises(MXNetError, match="server"):
        profiler.set_state("run", profile_process="server")
    bad = str(tmp_path / "no-such-dir" / "profile.json")
    configure(filename=bad)
    with pytest.raises(MXNetError, match="no-such-dir"):
        profiler.dump()
    assert not os.path.exists(bad)
    configure()  # back to the fixture's file


def test_dump_and_dumps_from_two_threads(trace):
    # dumps() trimming a buffer while dump() wrote its copy used to leave dump()'s consumed index
    # past the buffer's end: the next dump failed (vector::_M_range_insert) ever after.
    path, _ = trace
    profiler.set_state("run")
    a = mx.nd.ones((4,))
    for _ in range(500):
        a = a + 1.0
    a.wait_to_read()
    profiler.set_state("stop")
    profiler.dump()
    errors = []

    def loop(fn, n):
        try:
            for _ in range(n):
                fn()
        except MXNetError as e:
            errors.append(e)

    threads = [threading.Thread(target=loop, args=(profiler.dump, 50)),
               threading.Thread(target=loop, args=(profiler.dumps, 500))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    profiler.dump()
    with open(path) as f:
        json.load(f)
