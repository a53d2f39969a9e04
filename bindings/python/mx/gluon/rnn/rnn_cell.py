"""mx.gluon.rnn cells (MXNet 1.9.1): one time step of a recurrent network as a HybridBlock.

A cell maps (input (N, C), [states]) to (output, [new states]); unroll() steps it over a sequence.
The gated cells keep MXNet's fused i2h / h2h weights (gates stacked along the rows, in the order
LSTM: input, forget, cell, output; GRU: reset, update, new), so their weights load into
gluon.rnn.LSTM / GRU / RNN layers and torch.nn cells alike. input_size=0 defers the i2h weight's
shape to the first call."""
from ... import ndarray, symbol
from ..block import Block, HybridBlock

__all__ = ["RecurrentCell", "HybridRecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "SequentialRNNCell",
           "HybridSequentialRNNCell"]


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _cells_state_info(cells, batch_size):
    return sum([c.state_info(batch_size) for c in cells], [])


def _cells_begin_state(cells, **kwargs):
    return sum([c.begin_state(**kwargs) for c in cells], [])


def _get_begin_state(cell, F, begin_state, inputs, batch_size):
    """The given begin states, or zeros from cell.begin_state on the inputs' context and dtype."""
    if begin_state is not None:
        return begin_state
    if F is ndarray:
        first = inputs if isinstance(inputs, ndarray.NDArray) else inputs[0]
        return cell.begin_state(func=F.zeros, batch_size=batch_size, ctx=first.context, dtype=first.dtype)
    return cell.begin_state(func=F.zeros, batch_size=batch_size)


def _format_sequence(length, inputs, layout, merge, in_layout=None):
    """inputs (a tensor in in_layout, or a list of (N, C) steps) as a list of steps (merge=False),
    one tensor in layout (merge=True) or as they are (None). Returns (inputs, time_axis, F, batch_size);
    batch_size is 0 for symbols (unknown until inference)."""
    if inputs is None:
        raise ValueError("unroll: inputs is None; give an NDArray, a Symbol or a list of steps")
    if not isinstance(layout, str) or "T" not in layout or "N" not in layout:
        raise ValueError("unroll: layout must name a time axis 'T' and a batch axis 'N', got %r" % (layout,))
    axis, batch_axis = layout.find("T"), layout.find("N")
    in_axis = in_layout.find("T") if in_layout is not None else axis
    batch_size = 0
    if isinstance(inputs, (symbol.Symbol, ndarray.NDArray)):
        F = symbol if isinstance(inputs, symbol.Symbol) else ndarray
        if F is ndarray:
            if inputs.ndim != 3:
                raise ValueError("unroll: inputs must be 3-d in layout %s, got shape %s" % (layout, inputs.shape))
            batch_size = inputs.shape[batch_axis]
            if length is None:
                length = inputs.shape[in_axis]
            elif length != inputs.shape[in_axis]:
                raise ValueError("unroll: length=%d but the inputs of shape %s have %d steps"
                                 % (length, inputs.shape, inputs.shape[in_axis]))
        elif length is None and merge is False:
            raise ValueError("unroll: length must be given to split Symbol inputs into steps")
        if merge is False:
            steps = F.split(inputs, axis=in_axis, num_outputs=length, squeeze_axis=1)
            inputs = [steps] if length == 1 and F is ndarray else [steps[i] for i in range(length)]
    else:
        inputs = list(inputs)
        if not inputs or (length is not None and len(inputs) != length):
            raise ValueError("unroll: length=%s but %d input steps were given" % (length, len(inputs)))
        F = symbol if isinstance(inputs[0], symbol.Symbol) else ndarray
        if F is ndarray:
            batch_size = inputs[0].shape[0]
        if merge is True:
            inputs = F.stack(*inputs, axis=axis)
            in_axis = axis
    if isinstance(inputs, (symbol.Symbol, ndarray.NDArray)) and axis != in_axis:
        inputs = F.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis, F, batch_size


def _mask_sequence_variable_length(F, data, length, valid_length, time_axis, merge):
    """Zero the steps of each sample past its valid_length (N,)."""
    if isinstance(data, (list, tuple)):
        data = F.stack(*data, axis=time_axis)
    out = F.SequenceMask(data, valid_length, use_sequence_length=True, axis=time_axis)
    if not merge:
        steps = F.split(out, num_outputs=length, axis=time_axis, squeeze_axis=True)
        out = _as_list(steps) if F is ndarray else [steps[i] for i in range(length)]
    return out


class RecurrentCell(Block):
    """Abstract base of the cells: subclasses define state_info and forward / hybrid_forward."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._modified = False
        self.reset()

    def reset(self):
        """Reset the step counters before another unroll (they name the steps t0_, t1_, ...)."""
        self._init_counter = -1
        self._counter = -1
        for cell in self._children.values():
            if isinstance(cell, RecurrentCell):
                cell.reset()

    def state_info(self, batch_size=0):
        """[{'shape': ..., '__layout__': ...}] of each state."""
        raise NotImplementedError()

    def begin_state(self, batch_size=0, func=ndarray.zeros, **kwargs):
        """Initial states, one per state_info entry, made by func(name=prefix + 'begin_state_<n>',
        shape=..., **kwargs), e.g. func=mx.nd.zeros (default), mx.sym.zeros, mx.nd.random.uniform."""
        if self._modified:
            raise ValueError("%s: after wrapping this cell (Zoneout, Residual, Bidirectional...), call begin_state on "
                             "the wrapper, not on the wrapped cell" % self.name)
        states = []
        for info in self.state_info(batch_size):
            self._init_counter += 1
            info = dict(info) if info is not None else {}
            info.pop("__layout__", None)
            info.update(kwargs)
            states.append(func(name="%sbegin_state_%d" % (self._prefix, self._init_counter), **info))
        return states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None):
        """Steps the cell `length` times over inputs (a tensor in `layout`, or a list of (N, C) steps).

        Returns (outputs, states): outputs one tensor in `layout` if merge_outputs, a list of steps if
        False, as the inputs came if None; states the final states. With valid_length (N,), outputs
        past each sample's length are zero and states are those at its last valid step."""
        self.reset()
        inputs, axis, F, batch_size = _format_sequence(length, inputs, layout, False)
        states = _get_begin_state(self, F, begin_state, inputs, batch_size)
        outputs, all_states = [], []
        for i in range(length):
            output, states = self(inputs[i], states)
            outputs.append(output)
            if valid_length is not None:
                all_states.append(states)
        if valid_length is not None:
            states = [F.SequenceLast(F.stack(*steps, axis=0), valid_length, use_sequence_length=True, axis=0)
                      for steps in zip(*all_states)]
            outputs = _mask_sequence_variable_length(F, outputs, length, valid_length, axis, True)
        outputs, _, _, _ = _format_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, F, inputs, activation, **kwargs):
        """activation by name (an Activation act_type), a gluon.nn.LeakyReLU block, or a callable."""
        if isinstance(activation, str):
            return F.Activation(inputs, act_type=activation, **kwargs)
        if isinstance(activation, Block) and type(activation).__name__ == "LeakyReLU":
            return F.LeakyReLU(inputs, act_type="leaky", slope=activation._alpha, **kwargs)
        return activation(inputs) if isinstance(activation, Block) else activation(inputs, **kwargs)

    def forward(self, inputs, states):
        """One step: (output, new states)."""
        self._counter += 1
        return super().forward(inputs, states)


class HybridRecurrentCell(RecurrentCell, HybridBlock):
    """A RecurrentCell whose step is a hybrid_forward(F, inputs, states, **params)."""

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError


def _check_size(cell, what, value, least):
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ValueError("%s: %s must be an integer >= %d, got %r" % (type(cell).__name__, what, least, value))


class _GatedCell(HybridRecurrentCell):
    """The i2h / h2h weights and biases of RNNCell, LSTMCell and GRUCell: (gates*H, input_size),
    (gates*H, H), (gates*H,), (gates*H,), where RNNCell counts as one gate."""
    _num_gates = 1
    _state_names = ("h",)

    def __init__(self, hidden_size, i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                 h2h_bias_initializer, input_size, prefix, params):
        _check_size(self, "hidden_size", hidden_size, 1)
        _check_size(self, "input_size", input_size, 0)  # 0: inferred at the first call
        super().__init__(prefix=prefix, params=params)
        self._hidden_size = hidden_size
        self._input_size = input_size
        rows = self._num_gates * hidden_size
        self.i2h_weight = self.params.get("i2h_weight", shape=(rows, input_size), init=i2h_weight_initializer,
                                          allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight", shape=(rows, hidden_size), init=h2h_weight_initializer,
                                          allow_deferred_init=True)
        self.i2h_bias = self.params.get("i2h_bias", shape=(rows,), init=i2h_bias_initializer, allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(rows,), init=h2h_bias_initializer, allow_deferred_init=True)

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden_size), "__layout__": "NC"}] * len(self._state_names)

    def infer_shape(self, inputs, *args):
        """The i2h weight's input size from the first step's input (deferred initialization)."""
        self.i2h_weight.shape = (self._num_gates * self._hidden_size, inputs.shape[-1])

    def __repr__(self):
        shape = self.i2h_weight.shape
        return "%s(%s -> %s)" % (type(self).__name__, shape[1] if shape[1] else None, shape[0])

    def _fc_pair(self, F, inputs, state, i2h_weight, h2h_weight, i2h_bias, h2h_bias, prefix):
        rows = self._num_gates * self._hidden_size
        i2h = F.FullyConnected(data=inputs, weight=i2h_weight, bias=i2h_bias, num_hidden=rows, name=prefix + "i2h")
        h2h = F.FullyConnected(data=state, weight=h2h_weight, bias=h2h_bias, num_hidden=rows, name=prefix + "h2h")
        return i2h, h2h


class RNNCell(_GatedCell):
    r"""Elman RNN cell: h_t = activation(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).

    Parameters: hidden_size, activation ('tanh' or 'relu', or a callable), i2h_weight_initializer,
    h2h_weight_initializer, i2h_bias_initializer ('zeros'), h2h_bias_initializer ('zeros'),
    input_size (0: inferred), prefix, params."""

    def __init__(self, hidden_size, activation="tanh", i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0, prefix=None, params=None):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, input_size, prefix, params)
        self._activation = activation

    def _alias(self):
        return "rnn"

    def __repr__(self):
        return "%s, %s)" % (super().__repr__()[:-1], self._activation)

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = "t%d_" % self._counter
        i2h, h2h = self._fc_pair(F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias, h2h_bias, prefix)
        output = self._get_activation(F, F.elemwise_add(i2h, h2h), self._activation, name=prefix + "out")
        return output, [output]


class LSTMCell(_GatedCell):
    r"""Long short-term memory cell (gates input, forget, cell, output):
    c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t). States [h, c].

    Parameters as RNNCell, plus activation ('tanh', for g and the output) and recurrent_activation
    ('sigmoid', for the gates)."""
    _num_gates = 4
    _state_names = ("h", "c")

    def __init__(self, hidden_size, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0, prefix=None, params=None,
                 activation="tanh", recurrent_activation="sigmoid"):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, input_size, prefix, params)
        self._activation = activation
        self._recurrent_activation = recurrent_activation

    def _alias(self):
        return "lstm"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = "t%d_" % self._counter
        i2h, h2h = self._fc_pair(F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias, h2h_bias, prefix)
        gates = F.SliceChannel(F.elemwise_add(i2h, h2h), num_outputs=4, name=prefix + "slice")
        gate = lambda k, act, what: self._get_activation(F, gates[k], act, name=prefix + what)  # noqa: E731
        in_gate = gate(0, self._recurrent_activation, "i")
        forget_gate = gate(1, self._recurrent_activation, "f")
        in_transform = gate(2, self._activation, "c")
        out_gate = gate(3, self._recurrent_activation, "o")
        next_c = F.elemwise_add(F.elemwise_mul(forget_gate, states[1]), F.elemwise_mul(in_gate, in_transform),
                                name=prefix + "state")
        next_h = F.elemwise_mul(out_gate, self._get_activation(F, next_c, self._activation), name=prefix + "out")
        return next_h, [next_h, next_c]


class GRUCell(_GatedCell):
    r"""Gated recurrent unit cell (gates reset, update, new; as cuDNN and torch.nn.GRUCell):
    r, z = sigmoid(...), n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.

    Parameters as RNNCell, plus activation ('tanh') and recurrent_activation ('sigmoid')."""
    _num_gates = 3

    def __init__(self, hidden_size, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0, prefix=None, params=None,
                 activation="tanh", recurrent_activation="sigmoid"):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, input_size, prefix, params)
        self._activation = activation
        self._recurrent_activation = recurrent_activation

    def _alias(self):
        return "gru"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = "t%d_" % self._counter
        prev_h = states[0]
        i2h, h2h = self._fc_pair(F, inputs, prev_h, i2h_weight, h2h_weight, i2h_bias, h2h_bias, prefix)
        i2h = F.SliceChannel(i2h, num_outputs=3, name=prefix + "i2h_slice")
        h2h = F.SliceChannel(h2h, num_outputs=3, name=prefix + "h2h_slice")
        reset_gate = self._get_activation(F, F.elemwise_add(i2h[0], h2h[0]), self._recurrent_activation,
                                          name=prefix + "r_act")
        update_gate = self._get_activation(F, F.elemwise_add(i2h[1], h2h[1]), self._recurrent_activation,
                                           name=prefix + "z_act")
        new = self._get_activation(F, F.elemwise_add(i2h[2], F.elemwise_mul(reset_gate, h2h[2])), self._activation,
                                   name=prefix + "h_act")
        next_h = F.elemwise_add(F.elemwise_mul(F.ones_like(update_gate) - update_gate, new),
                                F.elemwise_mul(update_gate, prev_h), name=prefix + "out")
        return next_h, [next_h]


class SequentialRNNCell(RecurrentCell):
    """Cells stacked: each one's output is the next one's input; the states are all cells' states
    in order."""

    def add(self, cell):
        """Append a cell to the stack."""
        self.register_child(cell)

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        if self._modified:
            raise ValueError("%s: after wrapping this cell, call begin_state on the wrapper" % self.name)
        return _cells_begin_state(self._children.values(), **kwargs)

    def _split_states(self, states):
        """states cut into one list per cell, by each cell's number of states."""
        out, at = [], 0
        for cell in self._children.values():
            n = len(cell.state_info())
            out.append(states[at:at + n])
            at += n
        if at != len(states):
            raise ValueError("%s: the stack takes %d states, got %d" % (self.name, at, len(states)))
        return out

    def __call__(self, inputs, states):
        self._counter += 1
        next_states = []
        for cell, cell_states in zip(self._children.values(), self._split_states(states)):
            inputs, cell_states = cell(inputs, cell_states)
            next_states.extend(cell_states)
        return inputs, next_states

    forward = __call__

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None):
        """Unrolls each cell in turn over the whole sequence (so bidirectional cells can be stacked)."""
        self.reset()
        inputs, _, F, batch_size = _format_sequence(length, inputs, layout, None)
        begin_state = _get_begin_state(self, F, begin_state, inputs, batch_size)
        cells = list(self._children.values())
        next_states = []
        for i, (cell, states) in enumerate(zip(cells, self._split_states(begin_state))):
            inputs, states = cell.unroll(length, inputs=inputs, begin_state=states, layout=layout,
                                         merge_outputs=None if i < len(cells) - 1 else merge_outputs,
                                         valid_length=valid_length)
            next_states.extend(states)
        return inputs, next_states

    def __getitem__(self, i):
        return list(self._children.values())[i]

    def __len__(self):
        return len(self._children)


class HybridSequentialRNNCell(SequentialRNNCell, HybridRecurrentCell):
    """SequentialRNNCell of hybrid cells."""

    def hybrid_forward(self, F, inputs, states):
        return SequentialRNNCell.__call__(self, inputs, states)
