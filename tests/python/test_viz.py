"""mx.viz (mx.visualization): print_summary's layer table and plot_network's graphviz graph of a
small LeNet, checked against parameter counts and shapes computed by hand in this file."""
import os
import re
import shutil

import pytest

import mx
from mx import visualization as viz


def lenet():
    data = mx.sym.Variable("data")
    x = mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name="conv1")
    x = mx.sym.Activation(x, act_type="tanh", name="tanh1")
    x = mx.sym.Pooling(x, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool1")
    x = mx.sym.Convolution(x, kernel=(5, 5), num_filter=50, name="conv2")
    x = mx.sym.BatchNorm(x, name="bn1")
    x = mx.sym.Flatten(x, name="flat")
    x = mx.sym.FullyConnected(x, num_hidden=500, name="fc1")
    x = mx.sym.LeakyReLU(x, act_type="leaky", name="leaky1")
    x = mx.sym.FullyConnected(x, num_hidden=10, no_bias=True, name="fc2")
    return mx.sym.SoftmaxOutput(x, name="softmax")


# Hand-computed for a 1x28x28 input: conv1 20*(1*5*5)+20; 28-5+1 = 24, pooled 12;
# conv2 50*(20*5*5)+50, 12-5+1 = 8; BatchNorm gamma+beta (moving stats are not trainable);
# fc1 (50*8*8)*500+500; fc2 500*10, no bias.
EXPECTED = {
    "conv1": ("Convolution", "20x24x24", 20 * 25 + 20, "data"),
    "tanh1": ("Activation", "20x24x24", 0, "conv1"),
    "pool1": ("Pooling", "20x12x12", 0, "tanh1"),
    "conv2": ("Convolution", "50x8x8", 50 * 20 * 25 + 50, "pool1"),
    "bn1": ("BatchNorm", "50x8x8", 2 * 50, "conv2"),
    "flat": ("Flatten", "3200", 0, "bn1"),
    "fc1": ("FullyConnected", "500", 3200 * 500 + 500, "flat"),
    "leaky1": ("LeakyReLU", "500", 0, "fc1"),
    "fc2": ("FullyConnected", "10", 500 * 10, "leaky1"),
    "softmax": ("SoftmaxOutput", "10", 0, "fc2"),
}
TOTAL = 520 + 25050 + 100 + 1600500 + 5000


def summary_rows(text):
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^(\w+)\((\w+)\)\s+(\S*)\s+(\d+)\s*(\S*)\s*$", line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3), int(m.group(4)), m.group(5))
    return rows


def test_print_summary_counts_and_shapes(capsys):
    viz.print_summary(lenet(), shape={"data": (1, 1, 28, 28)})
    out = capsys.readouterr().out
    rows = summary_rows(out)
    assert rows.pop("data") == ("null", "1x28x28", 0, "")
    assert rows == EXPECTED
    assert "Total params: %d" % TOTAL in out
    head = out.splitlines()[1]
    for col in ("Layer (type)", "Output Shape", "Param #", "Previous Layer"):
        assert col in head
    assert all(len(line) <= 120 for line in out.splitlines())


def test_print_summary_lists_every_previous_layer(capsys):
    a = mx.sym.Variable("a")
    b = mx.sym.Variable("b")
    fa = mx.sym.FullyConnected(a, num_hidden=4, name="fa")
    fb = mx.sym.FullyConnected(b, num_hidden=4, name="fb")
    viz.print_summary(mx.sym.elemwise_add(fa, fb, name="sum"), shape={"a": (2, 3), "b": (2, 5)},
                      line_length=80)
    lines = capsys.readouterr().out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("sum(elemwise_add)"))
    assert lines[i].split()[-1] == "fa" and lines[i + 1].split() == ["fb"]
    assert "Total params: %d" % ((3 + 1) * 4 + (5 + 1) * 4) in lines


def test_print_summary_without_shape_counts_biases_as_mxnet(capsys):
    viz.print_summary(lenet())  # MXNet 1.9.1: only what the attributes alone tell (biases)
    rows = summary_rows(capsys.readouterr().out)
    assert rows["conv1"][2] == 20 and rows["fc1"][2] == 500 and rows["fc2"][2] == 0


def test_print_summary_bad_input():
    with pytest.raises(TypeError, match="Symbol"):
        viz.print_summary("not a symbol")
    with pytest.raises(ValueError, match="nodata"):
        viz.print_summary(lenet(), shape={"nodata": (1, 1, 28, 28)})
    x = mx.sym.Variable("x")
    y = mx.sym.Variable("y")
    with pytest.raises(ValueError, match="incomplete.*y"):
        viz.print_summary(mx.sym.FullyConnected(x, num_hidden=3) + mx.sym.FullyConnected(y, num_hidden=3),
                          shape={"x": (2, 4)})


def test_plot_network_nodes_edges_and_shapes():
    dot = viz.plot_network(lenet(), shape={"data": (1, 1, 28, 28)})
    src = dot.source
    assert 'conv1 [label="Convolution\n5x5/1x1, 20"' in src
    assert 'conv2 [label="Convolution\n5x5/1x1, 50"' in src
    assert 'fc1 [label="FullyConnected\n500"' in src
    assert 'tanh1 [label="Activation\ntanh"' in src
    assert 'leaky1 [label="LeakyReLU\nleaky"' in src
    assert 'pool1 [label="Pooling\nmax, 2x2/2x2"' in src
    assert re.search(r'data \[label=data fillcolor="#8dd3c7".*shape=oval', src)
    assert re.search(r'conv1 \[[^\]]*fillcolor="#fb8072"', src)
    assert re.search(r'bn1 \[label=bn1 fillcolor="#bebada"', src)
    # parameters are hidden: no node and no edge names them
    for hidden in ("conv1_weight", "conv1_bias", "bn1_gamma", "bn1_moving_mean", "fc1_weight"):
        assert hidden not in src
    # edges point from the consumer back to its input, labelled with the input's shape
    for consumer, producer, label in [("conv1", "data", "1x28x28"), ("tanh1", "conv1", "20x24x24"),
                                      ("pool1", "tanh1", "20x24x24"), ("conv2", "pool1", "20x12x12"),
                                      ("flat", "bn1", "50x8x8"), ("fc1", "flat", "3200"),
                                      ("fc2", "leaky1", "500"), ("softmax", "fc2", "10")]:
        assert re.search(r'\b%s -> %s \[label="?%s"? arrowtail=open dir=back\]' % (consumer, producer, label),
                         src), (consumer, producer)
    assert dot.name == "plot" and dot.format == "pdf"


def test_plot_network_options():
    sym = lenet()
    dot = viz.plot_network(sym, title="lenet", save_format="png", hide_weights=False,
                           dtype={"data": "float32"}, node_attrs={"fixedsize": "false"})
    src = dot.source
    assert dot.name == "lenet" and dot.format == "png"
    assert "conv1 -> conv1_weight" in src and "bn1 -> bn1_moving_var" in src  # edges to weights kept
    assert "\tconv1_weight [" not in src  # but, as MXNet, no styled node for them
    assert re.search(r'conv1 -> data \[label="\(float32\)"', src)
    assert "fixedsize=false" in src and "fixedsize=true" not in src
    dot2 = viz.plot_network(sym, shape={"data": (1, 1, 28, 28)}, dtype={"data": "float32"})
    assert 'conv1 -> data [label="1x28x28(float32)"' in dot2.source


def test_plot_network_multi_output_edges():
    x = mx.sym.Variable("x")
    parts = mx.sym.split(x, num_outputs=2, axis=1, name="sp")
    y = mx.sym.Concat(parts[1], mx.sym.FullyConnected(parts[0], num_hidden=7, name="fc"), dim=1, name="cat")
    src = viz.plot_network(y, shape={"x": (2, 4)}).source
    assert re.search(r'fc -> sp \[label=2 ', src)
    assert re.search(r'cat -> sp \[label=2 ', src) and re.search(r'cat -> fc \[label=7 ', src)


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot binary is not installed")
def test_plot_network_renders(tmp_path):
    dot = viz.plot_network(lenet(), shape={"data": (1, 1, 28, 28)}, save_format="svg")
    path = dot.render(filename="lenet", directory=str(tmp_path), cleanup=True)
    assert os.path.exists(path) and path.endswith(".svg")
    text = open(path).read()
    assert "<svg" in text and "conv1" in text and "1x28x28" in text


def test_plot_network_bad_input():
    with pytest.raises(TypeError, match="Symbol"):
        viz.plot_network(42)
    with pytest.raises(ValueError, match="incomplete"):
        viz.plot_network(mx.sym.Variable("a") + mx.sym.Variable("b"), shape={"a": (0, 3)})


def test_plot_network_without_graphviz_names_the_package(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(ImportError, match="python3-graphviz"):
        viz.plot_network(lenet())
