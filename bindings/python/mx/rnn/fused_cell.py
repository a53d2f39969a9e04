"""mx.rnn.FusedRNNCell: MXNet 1.9.1's cell over the fused RNN op (mx.sym.RNN), which runs every layer
and direction over the whole sequence in one node.

Its one parameter, prefix + 'parameters', is the op's packed vector (every weight, then every bias;
see mx.init.FusedRNN). unpack_weights splits it into MXNet's per-gate names
(prefix + 'l0_i2h_i_weight', ..., 'r1_h2h_o_bias'), pack_weights joins them again, and unfuse()
builds the equivalent stack of LSTMCell / GRUCell / RNNCell whose per-gate names are the same, so
  unfused.pack_weights(fused.unpack_weights(args))
gives the unfused stack the fused cell's weights."""
import numbers

from .. import initializer, ndarray, symbol
from ..initializer_extra import _GATE_NAMES, fused_rnn_layout  # the packed layout: one definition
from .rnn_cell import (BaseRNNCell, BidirectionalCell, DropoutCell, GRUCell, LSTMCell, RNNCell, SequentialRNNCell,
                       _normalize_sequence)


def _fused_zeros_batch_of(data):
    """begin_state's func for unroll without begin states: zeros (L*D, N, H) with the batch N taken
    from data (T, N, C). MXNet leaves the batch 0 (unknown) for inference to fill; mx's inference now
    can too, but this one form is what the tests cover (the rnn_cell begin states likewise)."""
    def func(name=None, shape=None, **kwargs):
        if shape is not None and len(shape) == 3 and shape[1] == 0:
            one = symbol.slice_axis(symbol.slice_axis(data, axis=0, begin=0, end=1), axis=2, begin=0, end=1)
            return symbol.broadcast_axis(symbol.zeros_like(one), axis=(0, 2), size=(shape[0], shape[2]), name=name)
        return symbol.zeros(name=name, shape=shape, **kwargs)
    return func


class FusedRNNCell(BaseRNNCell):
    """num_layers stacked (optionally bidirectional) rnn_relu / rnn_tanh / lstm / gru layers in one RNN
    op; dropout between layers in training; get_next_state makes unroll return the final states.
    Cannot be stepped: use unroll(), or unfuse() for a cell that can."""

    def __init__(self, num_hidden, num_layers=1, mode="lstm", bidirectional=False, dropout=0., get_next_state=False,
                 forget_bias=1.0, prefix=None, params=None):
        if mode not in _GATE_NAMES:
            raise ValueError("FusedRNNCell: mode must be one of %s, got %r" % (", ".join(sorted(_GATE_NAMES)), mode))
        for what, value in (("num_hidden", num_hidden), ("num_layers", num_layers)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError("FusedRNNCell: %s must be a positive integer, got %r" % (what, value))
        if not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:  # the op's range for p
            raise ValueError("FusedRNNCell: dropout must be a number in [0, 1], got %r" % (dropout,))
        if prefix is None:
            prefix = "%s_" % mode
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = int(num_hidden)
        self._num_layers = int(num_layers)
        self._mode = mode
        self._bidirectional = bool(bidirectional)
        self._dropout = dropout
        self._get_next_state = get_next_state
        self._forget_bias = forget_bias
        self._directions = ["l", "r"] if bidirectional else ["l"]
        init = initializer.FusedRNN(None, self._num_hidden, self._num_layers, mode, self._bidirectional, forget_bias)
        self._parameter = self.params.get("parameters", init=init)

    @property
    def state_info(self):
        shape = (len(self._directions) * self._num_layers, 0, self._num_hidden)
        return [{"shape": shape, "__layout__": "LNC"} for _ in range(2 if self._mode == "lstm" else 1)]

    @property
    def _gate_names(self):
        return _GATE_NAMES[self._mode]

    # ---------------------------------------------------------------- packed <-> per-gate weights
    def _layout(self, size):
        """[(per-gate name with prefix, shape)] of a packed vector of `size` elements, in its order."""
        return [(self._prefix + name, shape) for name, shape in
                fused_rnn_layout(size, self._num_hidden, self._num_layers, self._mode, self._bidirectional)]

    def unpack_weights(self, args):
        """args with prefix + 'parameters' replaced by one entry per layer, direction, gate and kind."""
        args = dict(args)
        name = self._parameter.name
        if name not in args:
            raise KeyError("FusedRNNCell.unpack_weights: %r is not among the arguments" % name)
        flat = args.pop(name).reshape((-1,))
        at = 0
        for piece, shape in self._layout(flat.size):
            n = shape[0] * (shape[1] if len(shape) > 1 else 1)
            args[piece] = flat[at:at + n].reshape(shape).copy()
            at += n
        return args

    def pack_weights(self, args):
        """The inverse of unpack_weights: the per-gate entries joined into prefix + 'parameters'."""
        args = dict(args)
        first = "%sl0_i2h%s_weight" % (self._prefix, self._gate_names[0])
        if first not in args:
            raise KeyError("FusedRNNCell.pack_weights: %r is not among the arguments" % first)
        num_input = args[first].shape[1]
        h, b, m = self._num_hidden, len(self._directions), len(self._gate_names)
        size = (num_input + h + 2) * h * m * b + (self._num_layers - 1) * m * h * (h + b * h + 2) * b
        pieces = []
        for piece, shape in self._layout(size):
            if piece not in args:
                raise KeyError("FusedRNNCell.pack_weights: %r is not among the arguments" % piece)
            value = args.pop(piece)
            if tuple(value.shape) != tuple(shape):
                raise ValueError("FusedRNNCell.pack_weights: %s has shape %s, expected %s"
                                 % (piece, tuple(value.shape), tuple(shape)))
            pieces.append(value.reshape((-1,)))
        args[self._parameter.name] = ndarray.concatenate(pieces, axis=0)
        return args

    # ---------------------------------------------------------------- graph
    def __call__(self, inputs, states):
        raise NotImplementedError("FusedRNNCell cannot be stepped. Please use unroll")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """The RNN op over `length` steps of inputs (a Symbol in `layout` or a list of (N, C) steps).
        Returns (outputs, states): states are the final [h] ([h, c] for lstm), each (L*D, N, H), when
        get_next_state, else []."""
        self.reset()
        inputs, axis = _normalize_sequence(length, inputs, layout, True)
        if axis == 1:
            inputs = symbol.swapaxes(inputs, dim1=0, dim2=1)  # the op takes TNC
        elif axis != 0:
            raise ValueError("FusedRNNCell.unroll: layout must be 'NTC' or 'TNC', got %r" % (layout,))
        if begin_state is None:
            begin_state = self.begin_state(func=_fused_zeros_batch_of(inputs))
        if len(begin_state) != len(self.state_info):
            raise ValueError("FusedRNNCell.unroll: mode=%s takes %d begin states, got %d"
                             % (self._mode, len(self.state_info), len(begin_state)))
        states = {"state": begin_state[0]}
        if self._mode == "lstm":
            states["state_cell"] = begin_state[1]
        rnn = symbol.RNN(data=inputs, parameters=self._parameter, state_size=self._num_hidden,
                         num_layers=self._num_layers, bidirectional=self._bidirectional, p=self._dropout,
                         state_outputs=self._get_next_state, mode=self._mode, name=self._prefix + "rnn", **states)
        if not self._get_next_state:
            outputs, states = rnn, []
        else:
            outputs, states = rnn[0], [rnn[i] for i in range(1, len(self.state_info) + 1)]
        if axis == 1:
            outputs = symbol.swapaxes(outputs, dim1=0, dim2=1)
        outputs, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def unfuse(self):
        """The same network as a SequentialRNNCell of per-layer cells (BidirectionalCell pairs when
        bidirectional, DropoutCell between layers when dropout), prefixes prefix + 'l0_', 'r0_', ...
        so that their per-gate weight names are this cell's."""
        make = {"rnn_relu": lambda p: RNNCell(self._num_hidden, activation="relu", prefix=p),
                "rnn_tanh": lambda p: RNNCell(self._num_hidden, activation="tanh", prefix=p),
                "lstm": lambda p: LSTMCell(self._num_hidden, prefix=p, forget_bias=self._forget_bias),
                "gru": lambda p: GRUCell(self._num_hidden, prefix=p)}[self._mode]
        stack = SequentialRNNCell()
        for i in range(self._num_layers):
            if self._bidirectional:
                stack.add(BidirectionalCell(make("%sl%d_" % (self._prefix, i)), make("%sr%d_" % (self._prefix, i)),
                                            output_prefix="%sbi_l%d_" % (self._prefix, i)))
            else:
                stack.add(make("%sl%d_" % (self._prefix, i)))
            if self._dropout > 0 and i != self._num_layers - 1:
                stack.add(DropoutCell(self._dropout, prefix="%s_dropout%d_" % (self._prefix, i)))
        return stack
