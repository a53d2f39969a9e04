"""mx.gluon.rnn layers RNN, LSTM, GRU (MXNet 1.9.1): multi-layer, optionally bidirectional
recurrent networks over a whole sequence in one fused RNN op.

As in MXNet 1.9.1 the weights are kept per layer and direction (prefix + 'l0_i2h_weight',
'l0_h2h_weight', 'l0_i2h_bias', 'l0_h2h_bias', 'r0_...' for the reverse direction, ...; gates
stacked along the rows as in LSTMCell / GRUCell) and joined at call time into the op's packed
vector: every weight (layer by layer, direction by direction, i2h then h2h), then every bias."""
import re

from ... import ndarray, symbol
from ..block import HybridBlock

__all__ = ["RNN", "LSTM", "GRU"]

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


class _RNNLayer(HybridBlock):
    """Implementation of RNN, LSTM and GRU (see their docstrings)."""

    def __init__(self, hidden_size, num_layers, layout, dropout, bidirectional, input_size, i2h_weight_initializer,
                 h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer, mode, projection_size=None,
                 lstm_state_clip_min=None, lstm_state_clip_max=None, lstm_state_clip_nan=False, dtype="float32",
                 use_sequence_length=False, **kwargs):
        name = type(self).__name__
        if layout not in ("TNC", "NTC"):
            raise ValueError("%s: invalid layout %r; must be one of ['TNC' or 'NTC']" % (name, layout))
        for what, value, least in (("hidden_size", hidden_size, 1), ("num_layers", num_layers, 1),
                                   ("input_size", input_size, 0)):
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError("%s: %s must be an integer >= %d, got %r" % (name, what, least, value))
        if not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError("%s: dropout must be a number in [0, 1], got %r" % (name, dropout))
        if projection_size:
            raise ValueError("%s: projection_size (LSTMP) is not supported by mx's RNN op" % name)
        super().__init__(**kwargs)
        self._hidden_size = hidden_size
        self._num_layers = num_layers
        self._mode = mode
        self._layout = layout
        self._dropout = dropout
        self._dir = 2 if bidirectional else 1
        self._input_size = input_size
        self._lstm_state_clip_min = lstm_state_clip_min
        self._lstm_state_clip_max = lstm_state_clip_max
        self._lstm_state_clip_nan = lstm_state_clip_nan
        self._dtype = dtype
        self._use_sequence_length = use_sequence_length
        self._gates = _GATES[mode]
        rows, ni, nh = self._gates * hidden_size, input_size, hidden_size
        for i in range(num_layers):
            for j in ["l", "r"][:self._dir]:
                self._register_param("%s%d_i2h_weight" % (j, i), (rows, ni), i2h_weight_initializer, dtype)
                self._register_param("%s%d_h2h_weight" % (j, i), (rows, nh), h2h_weight_initializer, dtype)
                self._register_param("%s%d_i2h_bias" % (j, i), (rows,), i2h_bias_initializer, dtype)
                self._register_param("%s%d_h2h_bias" % (j, i), (rows,), h2h_bias_initializer, dtype)
            ni = nh * self._dir

    def _register_param(self, name, shape, init, dtype):
        p = self.params.get(name, shape=shape, init=init, allow_deferred_init=True, dtype=dtype)
        setattr(self, name, p)
        return p

    def _param_names(self, kind):
        """Names in the packed vector's order for kind 'weight' or 'bias'."""
        return ["%s%d_%s_%s" % (d, layer, g, kind) for layer in range(self._num_layers)
                for d in ["l", "r"][:self._dir] for g in ("i2h", "h2h")]

    def __repr__(self):
        shape = self.l0_i2h_weight.shape
        s = "%s(%s -> %s, %s" % (type(self).__name__, shape[1] if shape[1] else None, shape[0] // self._gates,
                                 self._layout)
        if self._num_layers != 1:
            s += ", num_layers=%d" % self._num_layers
        if self._dropout != 0:
            s += ", dropout=%s" % self._dropout
        if self._dir == 2:
            s += ", bidirectional"
        return s + ")"

    def _collect_params_with_prefix(self, prefix=""):
        """Parameter keys for save_parameters / load_parameters as MXNet 1.9.1 writes them for fused
        layers: '_unfused.<layer>.<i2h|h2h>_<kind>' ('_unfused.<layer>.<l|r>_cell.<...>' when
        bidirectional), so files interchange with MXNet's."""
        if prefix:
            prefix += "."
        pattern = re.compile(r"(l|r)(\d+)_(i2h|h2h)_(weight|bias)\Z")

        def convert_key(key):
            d, layer, g, t = pattern.match(key).groups()
            if self._dir == 2:
                return "_unfused.%s.%s_cell.%s_%s" % (layer, d, g, t)
            return "_unfused.%s.%s_%s" % (layer, g, t)

        ret = {prefix + convert_key(key): val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def state_info(self, batch_size=0):
        info = {"shape": (self._num_layers * self._dir, batch_size, self._hidden_size), "__layout__": "LNC",
                "dtype": self._dtype}
        return [dict(info) for _ in range(2 if self._mode == "lstm" else 1)]

    def cast(self, dtype):
        super().cast(dtype)
        self._dtype = dtype

    def begin_state(self, batch_size=0, func=ndarray.zeros, **kwargs):
        """Initial states [h0] ([h0, c0] for LSTM), each (num_layers * directions, batch_size,
        hidden_size), made by func(name=prefix + 'h0_<i>', shape=..., dtype=..., **kwargs)."""
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            info.pop("__layout__", None)
            info.update(kwargs)
            states.append(func(name="%sh0_%d" % (self.prefix, i), **info))
        return states

    def infer_shape(self, inputs, *args):
        """The first layer's input size from the inputs (deferred initialization)."""
        if len(inputs.shape) != 3:
            raise ValueError("%s: inputs must be 3-d in layout %s, got shape %s"
                             % (self.name, self._layout, inputs.shape))
        for j in ["l", "r"][:self._dir]:
            getattr(self, "%s0_i2h_weight" % j).shape = (self._gates * self._hidden_size, inputs.shape[2])

    def __call__(self, inputs, states=None, sequence_length=None, **kwargs):
        """output, or (output, states) when states are given. inputs in the layer's layout; states a
        list of (num_layers * directions, N, hidden_size) arrays (h, and c for LSTM); sequence_length
        (N,) only with use_sequence_length=True."""
        skip_states = states is None
        if skip_states:
            if isinstance(inputs, ndarray.NDArray):
                if inputs.ndim != 3:
                    raise ValueError("%s: inputs must be 3-d in layout %s, got shape %s"
                                     % (self.name, self._layout, inputs.shape))
                batch_size = inputs.shape[self._layout.find("N")]
                states = self.begin_state(batch_size, ctx=inputs.context, dtype=inputs.dtype)
            else:
                states = self.begin_state(0, func=symbol.zeros)
        if isinstance(states, (ndarray.NDArray, symbol.Symbol)):
            states = [states]
        if isinstance(inputs, ndarray.NDArray):
            self._check_states(inputs, states)
        if self._use_sequence_length:
            out = super().__call__(inputs, states, sequence_length, **kwargs)
        else:
            out = super().__call__(inputs, states, **kwargs)
        return out[0] if skip_states else out

    def _check_states(self, inputs, states):
        infos = self.state_info(inputs.shape[self._layout.find("N")] if inputs.ndim == 3 else 0)
        if len(states) != len(infos):
            raise ValueError("%s: expects %d recurrent states, got %d" % (self.name, len(infos), len(states)))
        for state, info in zip(states, infos):
            if tuple(state.shape) != info["shape"]:
                raise ValueError("%s: invalid recurrent state shape. Expecting %s, got %s."
                                 % (self.name, info["shape"], tuple(state.shape)))

    def hybrid_forward(self, F, inputs, states, sequence_length=None, **kwargs):
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, dim1=0, dim2=1)
        flat = [F.reshape(kwargs[name], shape=(-1,)) for kind in ("weight", "bias")
                for name in self._param_names(kind)]
        params = F.concat(*flat, dim=0)
        args = list(states) + ([sequence_length] if self._use_sequence_length else [])
        extra = {}
        if self._mode == "lstm" and (self._lstm_state_clip_min is not None or self._lstm_state_clip_max is not None):
            extra = dict(lstm_state_clip_min=self._lstm_state_clip_min, lstm_state_clip_max=self._lstm_state_clip_max,
                         lstm_state_clip_nan=self._lstm_state_clip_nan)
        if self._use_sequence_length:
            extra["use_sequence_length"] = True
        rnn = F.RNN(inputs, params, *args, state_size=self._hidden_size, num_layers=self._num_layers,
                    bidirectional=self._dir == 2, p=self._dropout, state_outputs=True, mode=self._mode, **extra)
        outputs, states = rnn[0], [rnn[i] for i in range(1, 3 if self._mode == "lstm" else 2)]
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, dim1=0, dim2=1)
        return outputs, states


_DOC_COMMON = """
    Parameters
    ----------
    hidden_size : int
        The number of features in the hidden state h.
    num_layers : int, default 1
        Number of recurrent layers.
    layout : str, default 'TNC'
        The format of input and output tensors: 'TNC' (sequence length, batch size, features) or 'NTC'.
    dropout : float, default 0
        Dropout on the outputs of each layer but the last (training only).
    bidirectional : bool, default False
        If True, becomes a bidirectional layer (outputs 2 * hidden_size features).
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer
        Initializers of the input-to-hidden and hidden-to-hidden weights.
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
        Initializers of the biases.
    input_size : int, default 0
        The number of expected input features; 0 infers it from the first NDArray input (a
        symbolic call, layer(mx.sym.var('data')), needs it given: mx has no backward shape
        inference through the parameter concatenation that MXNet's _rnn_param_concat provides).
    dtype : str, default 'float32'
    prefix, params : see Block.

    Inputs: data (in `layout`) and optionally states (a list). Outputs: out (T, N, D * hidden_size
    in 'TNC'), and the final states (each (num_layers * D, N, hidden_size)) when states were given."""


class RNN(_RNNLayer):
    """Multi-layer Elman RNN with tanh or relu: h_t = activation(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

    activation : {'relu', 'tanh'}, default 'relu'
    """ + _DOC_COMMON

    def __init__(self, hidden_size, num_layers=1, activation="relu", layout="TNC", dropout=0, bidirectional=False,
                 i2h_weight_initializer=None, h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", input_size=0, dtype="float32", **kwargs):
        if activation not in ("relu", "tanh"):
            raise ValueError("RNN: activation must be 'relu' or 'tanh', got %r" % (activation,))
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size, i2h_weight_initializer,
                         h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer, "rnn_" + activation,
                         dtype=dtype, **kwargs)

    def _alias(self):
        return "rnn"


class LSTM(_RNNLayer):
    """Multi-layer long short-term memory (gates input, forget, cell, output); states [h, c].

    state_clip_min, state_clip_max : float or None -- clip the cell state (MXNet's LSTM state clipping)
    state_clip_nan : bool, default False -- replace a NaN cell state by the clip bound
    projection_size : must be None (LSTMP is not supported)
    """ + _DOC_COMMON

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False, input_size=0,
                 i2h_weight_initializer=None, h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", projection_size=None, h2r_weight_initializer=None, state_clip_min=None,
                 state_clip_max=None, state_clip_nan=False, dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size, i2h_weight_initializer,
                         h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer, "lstm",
                         projection_size=projection_size, lstm_state_clip_min=state_clip_min,
                         lstm_state_clip_max=state_clip_max, lstm_state_clip_nan=state_clip_nan, dtype=dtype, **kwargs)

    def _alias(self):
        return "lstm"


class GRU(_RNNLayer):
    """Multi-layer gated recurrent unit (gates reset, update, new; cuDNN's / torch's formulation).
    """ + _DOC_COMMON

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False, input_size=0,
                 i2h_weight_initializer=None, h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", dtype="float32", **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size, i2h_weight_initializer,
                         h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer, "gru", dtype=dtype,
                         **kwargs)

    def _alias(self):
        return "gru"
