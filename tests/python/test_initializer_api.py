"""mx.init as MXNet 1.9.1's mxnet.initializer: dumps / create round trip, InitDesc and `__init__`
attribute dispatch, name-suffix rules (InitDesc and legacy str paths), Bilinear, LSTMBias, FusedRNN,
Load, Orthogonal, Mixed, aliases and register. Expected values come from numpy formulas here."""
import json
import math
import warnings

import numpy as np
import pytest

import mx


def desc(name, **attrs):
    return mx.init.InitDesc(name, attrs)


def test_dumps_is_mxnets_json_and_create_rebuilds_the_initializer():
    assert mx.init.Uniform(0.07).dumps() == '["uniform", {"scale": 0.07}]'
    assert mx.init.Normal(0.5).dumps() == '["normal", {"sigma": 0.5}]'
    x = mx.init.Xavier(factor_type="in", magnitude=2.34)
    assert json.loads(x.dumps()) == ["xavier", {"rnd_type": "uniform", "factor_type": "in", "magnitude": 2.34}]
    assert json.loads(mx.init.MSRAPrelu(slope=0.1).dumps()) == ["msraprelu", {"factor_type": "avg", "slope": 0.1}]
    for init in (mx.init.Uniform(0.3), x, mx.init.Orthogonal(2.0, "normal"), mx.init.LSTMBias(2.5),
                 mx.init.Constant(4.0), mx.init.Zero(), mx.init.Bilinear()):
        back = mx.init.create(init.dumps())
        assert type(back) is type(init) and back.dumps() == init.dumps()
    assert isinstance(mx.init.create("normal", sigma=2.0), mx.init.Normal)
    assert mx.init.create('{"initializer": "uniform", "scale": 0.5}').scale == 0.5
    inst = mx.init.One()
    assert mx.init.create(inst) is inst
    with pytest.raises(ValueError, match="nosuchinit"):
        mx.init.create("nosuchinit")


def test_name_suffix_rules_on_the_initdesc_path():
    init = mx.init.Constant(7.0)
    expect = {"fc_weight": 7.0, "fc_bias": 0.0, "bn_gamma": 1.0, "bn_beta": 0.0, "q_min": 0.0, "q_max": 1.0,
              "bn_moving_mean": 0.0, "bn_moving_var": 1.0}
    for name, value in expect.items():
        arr = mx.nd.ones((2, 3)) * 5
        init(desc(name), arr)
        np.testing.assert_array_equal(arr.asnumpy(), np.full((2, 3), value), err_msg=name)
    with pytest.raises(ValueError, match="odd_param"):
        init(desc("odd_param"), mx.nd.zeros((2,)))


def test_init_attribute_overrides_the_name_rule_and_global_init_is_set():
    arr = mx.nd.zeros((3, 2))
    d = desc("fc_bias", __init__=mx.init.Constant(3.5).dumps())  # a bias that a variable asks to be 3.5
    mx.init.Zero()(d, arr)
    np.testing.assert_array_equal(arr.asnumpy(), np.full((3, 2), 3.5))
    zero = mx.init.Zero()
    d2 = desc("x_weight")
    zero(d2, arr)
    assert d2.global_init is zero
    # the __init__ path also works through a symbol's attributes
    v = mx.sym.Variable("v", attr={"__init__": '["one", {}]'})
    arr2 = mx.nd.zeros((2,))
    mx.init.Uniform()(mx.init.InitDesc("v", v.attr_dict()["v"]), arr2)
    np.testing.assert_array_equal(arr2.asnumpy(), [1.0, 1.0])


def test_legacy_str_path_warns_and_follows_mxnets_legacy_rules():
    init = mx.init.Constant(2.0)
    cases = {"a_weight": np.full((6,), 2.0), "a_bias": np.zeros(6), "a_moving_inv_var": np.zeros(6),
             "a_moving_avg": np.zeros(6), "a_max": np.ones(6), "stn_loc_weight": np.zeros(6),
             "stn_loc_bias": np.array([1.0, 0, 0, 0, 1.0, 0])}
    for name, want in cases.items():
        arr = mx.nd.ones((6,)) * 9
        with pytest.warns(DeprecationWarning):
            init(name, arr)
        np.testing.assert_array_equal(arr.asnumpy(), want, err_msg=name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match="arr"):
            init("a_weight", np.zeros(3))


def numpy_bilinear(shape):
    """MXNet's loop, element by element over the flattened weight."""
    f = math.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    w = np.zeros(int(np.prod(shape)))
    for i in range(w.size):
        x, y = i % shape[3], (i // shape[3]) % shape[2]
        w[i] = (1 - abs(x / f - c)) * (1 - abs(y / f - c))
    return w.reshape(shape)


def test_bilinear_gives_the_upsampling_kernel():
    arr = mx.nd.zeros((2, 1, 4, 4))
    mx.init.Bilinear()(desc("up_weight"), arr)
    # 4x4: f = ceil(4 / 2) = 2, c = (2f - 1 - f % 2) / 2f = 0.75: per axis 1 - |x / 2 - 0.75|
    k = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(arr.asnumpy()[1, 0], np.outer(k, k), rtol=1e-6)
    np.testing.assert_allclose(arr.asnumpy(), numpy_bilinear((2, 1, 4, 4)), rtol=1e-6)
    odd = mx.nd.zeros((1, 1, 5, 5))  # f = 3: odd, so f % 2 counts
    with pytest.warns(DeprecationWarning):
        mx.init.Uniform()("upsampling0_weight", odd)  # legacy path: upsampling* is bilinear
    np.testing.assert_allclose(odd.asnumpy(), numpy_bilinear((1, 1, 5, 5)), rtol=1e-6)


def test_lstm_bias_sets_only_the_forget_gate_quarter():
    arr = mx.nd.ones((12,)) * 9
    mx.init.LSTMBias(forget_bias=2.5)(desc("lstm_i2h_bias", __init__=mx.init.LSTMBias(2.5).dumps()), arr)
    np.testing.assert_array_equal(arr.asnumpy(), [0, 0, 0, 2.5, 2.5, 2.5, 0, 0, 0, 0, 0, 0])


def test_fused_rnn_unpacks_into_the_rnn_ops_packed_layout():
    H, I, L = 3, 5, 2
    # bidirectional LSTM: weights W_i2h (4H, in), W_h2h (4H, H) per layer / direction, then biases
    weight_size = 2 * (4 * H * (I + H)) + 2 * (4 * H * (2 * H + H))
    bias_size = L * 2 * 2 * 4 * H
    arr = mx.nd.zeros((weight_size + bias_size,))
    init = mx.init.FusedRNN(mx.init.Constant(0.5), H, L, "lstm", bidirectional=True, forget_bias=3.0)
    mx.init.Uniform()(desc("rnn_parameters", __init__=init.dumps()), arr)  # as Variable(init=FusedRNN(...))
    got = arr.asnumpy()
    np.testing.assert_array_equal(got[:weight_size], 0.5)
    gate_bias = np.concatenate([np.zeros(H), np.full(H, 3.0), np.zeros(H), np.zeros(H)])
    np.testing.assert_array_equal(got[weight_size:], np.tile(gate_bias, L * 2 * 2))
    # round trip through JSON; None init falls back to the global initializer
    back = mx.init.create(init.dumps())
    assert isinstance(back, mx.init.FusedRNN) and back.dumps() == init.dumps()
    gru = mx.nd.ones((3 * 2 * (4 + 2 + 2),)) * 7
    mx.init.Zero()(desc("g_parameters", __init__=mx.init.FusedRNN(None, 2, 1, "gru").dumps()), gru)
    np.testing.assert_array_equal(gru.asnumpy(), 0.0)
    with pytest.raises(ValueError, match="FusedRNN"):
        init._init_weight(desc("rnn_parameters"), mx.nd.zeros((7,)))


def test_load_from_a_saved_params_file_strips_prefixes_and_falls_back(tmp_path):
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    fname = str(tmp_path / "net.params")
    mx.nd.save(fname, {"arg:fc_weight": mx.nd.array(w), "aux:bn_moving_mean": mx.nd.array([4.0, 5.0])})
    load = mx.init.Load(fname, default_init=mx.init.Constant(9.0))
    arr = mx.nd.zeros((2, 3))
    load(desc("fc_weight"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), w)
    mm = mx.nd.zeros((2,))
    load(desc("bn_moving_mean"), mm)
    np.testing.assert_array_equal(mm.asnumpy(), [4.0, 5.0])
    other = mx.nd.zeros((2,))
    load(desc("other_weight"), other)
    np.testing.assert_array_equal(other.asnumpy(), [9.0, 9.0])
    with pytest.raises(ValueError, match="fc_weight"):
        load(desc("fc_weight"), mx.nd.zeros((3, 2)))
    with pytest.raises(ValueError, match="missing_weight"):
        mx.init.Load({"a": mx.nd.zeros((1,))})(desc("missing_weight"), mx.nd.zeros((1,)))


@pytest.mark.parametrize("shape,rand_type", [((3, 8), "uniform"), ((4, 2, 3), "normal"), ((6, 2), "uniform")])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_scale(shape, rand_type):
    mx.random.seed(3)
    arr = mx.nd.zeros(shape)
    mx.init.Orthogonal(scale=2.0, rand_type=rand_type)(desc("w_weight"), arr)
    m = arr.asnumpy().reshape(shape[0], -1) / 2.0
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="rand_type"):
        mx.init.Orthogonal(rand_type="cauchy")


def test_mixed_aliases_and_register():
    mixed = mx.init.Mixed(["conv", ".*"], [mx.init.Constant(3.0), mx.init.Constant(2.0)])  # re.match: a prefix
    c, w = mx.nd.ones((2,)), mx.nd.zeros((2,))
    mixed(desc("conv0_weight"), c)
    mixed(desc("fc_conv_weight"), w)
    np.testing.assert_array_equal(c.asnumpy(), [3, 3])
    np.testing.assert_array_equal(w.asnumpy(), [2, 2])
    with pytest.raises(ValueError, match="fc_weight"):
        mx.init.Mixed(["conv"], [mx.init.One()])(desc("fc_weight"), w)
    assert isinstance(mx.init.create("zeros"), mx.init.Zero) and isinstance(mx.init.create("ones"), mx.init.One)

    @mx.init.register
    @mx.init.alias("myinit_h")
    class CustomInitH(mx.init.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 0.1

        def _init_bias(self, _, arr):
            arr[:] = 1.0

    custom = mx.init.create("myinit_h")
    assert isinstance(custom, CustomInitH) and isinstance(mx.init.create("custominith"), CustomInitH)
    arr = mx.nd.zeros((2,))
    custom(desc("fc_bias"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), [1.0, 1.0])
    with pytest.raises(TypeError, match="register"):
        mx.init.register(int)


def test_constant_with_an_array_and_xavier_scale():
    arr = mx.nd.zeros((2, 2))
    mx.init.Constant(np.eye(2))(desc("fc_weight"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), np.eye(2))
    mx.random.seed(0)
    big = mx.nd.zeros((50, 40, 3, 3))
    mx.init.Xavier(factor_type="in", magnitude=3)(desc("c_weight"), big)
    bound = math.sqrt(3.0 / (40 * 9))
    values = big.asnumpy()
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound


class _CodeByName(mx.init.Initializer):
    """Fills each unpacked piece with a number naming it, so the packed order shows."""
    codes = {}

    def _init_weight(self, name, arr):
        arr[:] = self.codes[str(name)]

    _init_bias = _init_weight


def test_fused_rnn_piece_order_matches_the_rnn_ops_parameter_vector():
    I, H, L = 4, 3, 2
    net = mx.sym.RNN(data=mx.sym.Variable("data"), state_size=H, num_layers=L, bidirectional=True, mode="gru",
                     name="g")
    arg_shapes, _, _ = net.infer_shape(data=(5, 2, I))
    (size,) = dict(zip(net.list_arguments(), arg_shapes))["g_parameters"]
    # MXNet's packed layout written out: all weights (layer, direction, i2h gates r z o, h2h gates), then biases
    expected, codes = [], {}
    for kind in ("weight", "bias"):
        for layer in range(L):
            for d in "lr":
                for conn in ("i2h", "h2h"):
                    for gate in ("_r", "_z", "_o"):
                        name = "%s%d_%s%s_%s" % (d, layer, conn, gate, kind)
                        codes[name] = len(codes) + 1
                        cols = (I if layer == 0 else 2 * H) if conn == "i2h" else H
                        expected.append(np.full(H * cols if kind == "weight" else H, codes[name]))
    _CodeByName.codes = codes
    arr = mx.nd.zeros((size,))
    mx.init.FusedRNN(_CodeByName(), H, L, "gru", bidirectional=True)._init_weight(desc("g_parameters"), arr)
    np.testing.assert_array_equal(arr.asnumpy(), np.concatenate(expected))
