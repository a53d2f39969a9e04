"""MXNet 1.x's symbolic RNN cells (mx.rnn.RNNCell, LSTMCell, GRUCell, SequentialRNNCell).

A cell maps (input symbol, list of state symbols) to (output symbol, new states); unroll() applies it
over time steps. Parameter names follow MXNet (prefix + 'i2h_weight', ...) so checkpoints match."""
from .. import initializer, symbol


class RNNParams:
    """A container of a cell's weight Variables, created once by name and shared across steps."""

    def __init__(self, prefix=""):
        self._prefix = prefix
        self._params = {}

    def get(self, name, **kwargs):
        """The Variable prefix+name, created on first use with kwargs (attr, init, shape, ...)."""
        name = self._prefix + name
        if name not in self._params:
            self._params[name] = symbol.Variable(name, **kwargs)
        return self._params[name]


def _cells_state_info(cells):
    return sum([c.state_info for c in cells], [])


def _normalize_sequence(length, inputs, layout, merge, in_layout=None):
    """A list of `length` per-step symbols from a symbol or a list; with merge=True one symbol
    stacked on the layout's time axis. Returns (inputs, time_axis)."""
    if inputs is None:
        raise ValueError("unroll: inputs is None; give a Symbol or a list of %d Symbols" % length)
    axis = layout.find("T")
    if axis < 0:
        raise ValueError("unroll: layout %r has no time axis 'T'" % (layout,))
    in_axis = in_layout.find("T") if in_layout is not None else axis
    if isinstance(inputs, symbol.Symbol):
        if merge is False:
            if len(inputs.list_outputs()) != 1:
                raise ValueError("unroll: inputs must be a single Symbol, not a group of %d"
                                 % len(inputs.list_outputs()))
            steps = symbol.split(inputs, axis=in_axis, num_outputs=length, squeeze_axis=1)
            inputs = [steps[i] for i in range(length)]
    else:
        if length is not None and len(inputs) != length:
            raise ValueError("unroll: length=%d but %d inputs were given" % (length, len(inputs)))
        if merge is True:
            inputs = symbol.Concat(*[symbol.expand_dims(i, axis=axis) for i in inputs], dim=axis)
            in_axis = axis
    if isinstance(inputs, symbol.Symbol) and axis != in_axis:
        inputs = symbol.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis


def _zeros_batch_of(step):
    """begin_state's func for unroll without begin states: MXNet makes zeros of shape (0, H) and
    lets inference fill the batch (0 = unknown); mx's core has no partly known shapes, so the
    zeros take their batch from the first step's input instead: zeros_like of one column of it,
    broadcast to H. Other shapes keep mx.sym.zeros."""
    def func(name=None, shape=None, **kwargs):
        if shape is not None and len(shape) == 2 and shape[0] == 0 and shape[1] > 0:
            column = symbol.zeros_like(symbol.slice_axis(step, axis=1, begin=0, end=1))
            return symbol.broadcast_axis(column, axis=1, size=shape[1], name=name)
        return symbol.zeros(name=name, shape=shape, **kwargs)
    return func


class BaseRNNCell:
    """Abstract cell: subclasses define state_info, _gate_names and __call__(inputs, states)."""

    def __init__(self, prefix="", params=None):
        if params is None:
            params = RNNParams(prefix)
            self._own_params = True
        else:
            self._own_params = False
        self._prefix = prefix
        self._params = params
        self._modified = False
        self.reset()

    def reset(self):
        """Reset the step counters before building another unrolled graph."""
        self._init_counter = -1
        self._counter = -1
        for cell in getattr(self, "_cells", []):
            cell.reset()

    def __call__(self, inputs, states):
        raise NotImplementedError()

    @property
    def params(self):
        self._own_params = False
        return self._params

    @property
    def state_info(self):
        raise NotImplementedError()

    @property
    def state_shape(self):
        return [ele["shape"] for ele in self.state_info]

    @property
    def _gate_names(self):
        return ()

    def unpack_weights(self, args):
        """args with this cell's fused i2h / h2h params split per gate (mx.rnn.rnn.unpack_weights)."""
        from .rnn import unpack_weights
        return unpack_weights(self, args)

    def pack_weights(self, args):
        """The inverse of unpack_weights."""
        from .rnn import pack_weights
        return pack_weights(self, args)

    def begin_state(self, func=symbol.zeros, **kwargs):
        """Initial state symbols, one per state_info entry, named prefix+'begin_state_<n>'."""
        if self._modified:
            raise ValueError("begin_state: after wrapping a cell (Dropout/Residual...), call begin_state on the "
                             "wrapper, not on the wrapped cell")
        states = []
        for info in self.state_info:
            self._init_counter += 1
            name = "%sbegin_state_%d" % (self._prefix, self._init_counter)
            extra = dict(info) if info is not None else {}
            extra.pop("__layout__", None)
            extra.update(kwargs)
            states.append(func(name=name, **extra))
        return states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Apply the cell `length` times. inputs: a Symbol in `layout` or a list of per-step Symbols.
        Returns (outputs, states); outputs is one merged Symbol if merge_outputs else a list."""
        self.reset()
        inputs, _ = _normalize_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state(func=_zeros_batch_of(inputs[0]))
        states = begin_state
        outputs = []
        for i in range(length):
            output, states = self(inputs[i], states)
            outputs.append(output)
        outputs, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _fc_params(self, i2h_bias_init=None):
        """The i2h / h2h weights and biases of a gated cell (RNN, LSTM, GRU), as MXNet names them."""
        self._iW = self.params.get("i2h_weight")
        self._iB = self.params.get("i2h_bias", init=i2h_bias_init) if i2h_bias_init else self.params.get("i2h_bias")
        self._hW = self.params.get("h2h_weight")
        self._hB = self.params.get("h2h_bias")

    def _fc_pair(self, inputs, state, num_gates, name):
        """(i2h, h2h): FullyConnected of num_gates * H over the step's input and the previous state."""
        size = self._num_hidden * num_gates
        i2h = symbol.FullyConnected(data=inputs, weight=self._iW, bias=self._iB, num_hidden=size, name=name + "i2h")
        h2h = symbol.FullyConnected(data=state, weight=self._hW, bias=self._hB, num_hidden=size, name=name + "h2h")
        return i2h, h2h

    def _get_activation(self, inputs, activation, **kwargs):
        if isinstance(activation, str):
            return symbol.Activation(inputs, act_type=activation, **kwargs)
        return activation(inputs, **kwargs)


class RNNCell(BaseRNNCell):
    """Elman RNN: h' = activation(W_i x + b_i + W_h h + b_h)."""

    def __init__(self, num_hidden, activation="tanh", prefix="rnn_", params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._activation = activation
        self._fc_params()

    @property
    def state_info(self):
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self):
        return ("",)

    def __call__(self, inputs, states):
        self._counter += 1
        name = "%st%d_" % (self._prefix, self._counter)
        i2h, h2h = self._fc_pair(inputs, states[0], 1, name)
        output = self._get_activation(i2h + h2h, self._activation, name="%sout" % name)
        return output, [output]


class LSTMCell(BaseRNNCell):
    """LSTM with MXNet's gate order (input, forget, cell, output) in one 4*H FullyConnected each for
    the input and the hidden state; forget_bias initialises the forget gate's i2h bias."""

    def __init__(self, num_hidden, prefix="lstm_", params=None, forget_bias=1.0):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        # MXNet's LSTMBias initializer: zeros with forget_bias on the forget gate.
        self._fc_params(i2h_bias_init=initializer.LSTMBias(forget_bias=forget_bias))

    @property
    def state_info(self):
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"},
                {"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self):
        return ["_i", "_f", "_c", "_o"]

    def __call__(self, inputs, states):
        self._counter += 1
        name = "%st%d_" % (self._prefix, self._counter)
        i2h, h2h = self._fc_pair(inputs, states[0], 4, name)
        gates = symbol.SliceChannel(i2h + h2h, num_outputs=4, name="%sslice" % name)
        in_gate = symbol.Activation(gates[0], act_type="sigmoid", name="%si" % name)
        forget_gate = symbol.Activation(gates[1], act_type="sigmoid", name="%sf" % name)
        in_transform = symbol.Activation(gates[2], act_type="tanh", name="%sc" % name)
        out_gate = symbol.Activation(gates[3], act_type="sigmoid", name="%so" % name)
        next_c = forget_gate * states[1] + in_gate * in_transform
        next_h = out_gate * symbol.Activation(next_c, act_type="tanh")
        return next_h, [next_h, next_c]


class GRUCell(BaseRNNCell):
    """GRU with MXNet's gate order (reset, update, new) as in cuDNN:
    h' = (1 - z) * tanh(W_in x + b_in + r * (W_hn h + b_hn)) + z * h."""

    def __init__(self, num_hidden, prefix="gru_", params=None):
        super().__init__(prefix=prefix, params=params)
        self._num_hidden = num_hidden
        self._fc_params()

    @property
    def state_info(self):
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}]

    @property
    def _gate_names(self):
        return ["_r", "_z", "_o"]

    def __call__(self, inputs, states):
        self._counter += 1
        seq_idx = self._counter
        name = "%st%d_" % (self._prefix, seq_idx)
        prev_h = states[0]
        i2h, h2h = self._fc_pair(inputs, prev_h, 3, name + "_")  # MXNet's GRU names: t0__i2h
        i2h_parts = symbol.SliceChannel(i2h, num_outputs=3, name="%s_i2h_slice" % name)
        h2h_parts = symbol.SliceChannel(h2h, num_outputs=3, name="%s_h2h_slice" % name)
        i2h_r, i2h_z, i2h = (i2h_parts[k] for k in range(3))
        h2h_r, h2h_z, h2h = (h2h_parts[k] for k in range(3))
        reset_gate = symbol.Activation(i2h_r + h2h_r, act_type="sigmoid", name="%s_r_act" % name)
        update_gate = symbol.Activation(i2h_z + h2h_z, act_type="sigmoid", name="%s_z_act" % name)
        next_h_tmp = symbol.Activation(i2h + reset_gate * h2h, act_type="tanh", name="%s_h_act" % name)
        next_h = (1.0 - update_gate) * next_h_tmp + update_gate * prev_h
        return next_h, [next_h]


class SequentialRNNCell(BaseRNNCell):
    """Stacked cells: each step runs the cells in order; the states are the cells' states concatenated."""

    def __init__(self, params=None):
        super().__init__(prefix="", params=params)
        self._override_cell_params = params is not None
        self._cells = []

    def add(self, cell):
        """Append a cell to the stack."""
        self._cells.append(cell)
        if self._override_cell_params:
            assert cell._own_params, "Either specify params for SequentialRNNCell or child cells, not both."
            cell.params._params.update(self.params._params)
        self.params._params.update(cell.params._params)

    @property
    def state_info(self):
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs):
        if self._modified:
            raise ValueError("begin_state: call it on the wrapping cell, not on a wrapped one")
        return sum([c.begin_state(**kwargs) for c in self._cells], [])

    def __call__(self, inputs, states):
        self._counter += 1
        next_states = []
        p = 0
        for cell in self._cells:
            n = len(cell.state_info)
            inputs, state = cell(inputs, states[p:p + n])
            p += n
            next_states.append(state)
        return inputs, sum(next_states, [])

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        num_cells = len(self._cells)
        p = 0
        next_states = []
        for i, cell in enumerate(self._cells):
            n = len(cell.state_info)
            # None: the cell makes its begin states, batch taken from its inputs
            states = begin_state[p:p + n] if begin_state is not None else None
            p += n
            inputs, states = cell.unroll(length, inputs=inputs, begin_state=states, layout=layout,
                                         merge_outputs=None if i < num_cells - 1 else merge_outputs)
            next_states.extend(states)
        return inputs, next_states


class DropoutCell(BaseRNNCell):
    """Applies Dropout(p=dropout) to its input; stateless, so it unrolls on the whole sequence at once."""

    def __init__(self, dropout, prefix="dropout_", params=None):
        super().__init__(prefix, params)
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool):
            raise TypeError("DropoutCell: dropout must be a number, got %r" % (dropout,))
        self.dropout = dropout

    @property
    def state_info(self):
        return []

    def __call__(self, inputs, states):
        if self.dropout > 0:
            inputs = symbol.Dropout(data=inputs, p=self.dropout)
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, symbol.Symbol):
            return self(inputs, [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout, merge_outputs=merge_outputs)


class ModifierCell(BaseRNNCell):
    """Base of cells that wrap another cell (sharing its params and states); the wrapped cell is
    marked modified so its own begin_state is not used by mistake."""

    def __init__(self, base_cell):
        super().__init__()
        base_cell._modified = True
        self.base_cell = base_cell

    @property
    def params(self):
        self._own_params = False
        return self.base_cell.params

    @property
    def state_info(self):
        return self.base_cell.state_info

    def begin_state(self, init_sym=symbol.zeros, **kwargs):
        if self._modified:
            raise ValueError("begin_state: call it on the outermost wrapping cell")
        init_sym = kwargs.pop("func", init_sym)  # BaseRNNCell's name for it
        self.base_cell._modified = False
        begin = self.base_cell.begin_state(init_sym, **kwargs)
        self.base_cell._modified = True
        return begin

    def __call__(self, inputs, states):
        raise NotImplementedError()


class ResidualCell(ModifierCell):
    """Adds the input to the wrapped cell's output (a residual connection); sizes must match."""

    def __call__(self, inputs, states):
        output, states = self.base_cell(inputs, states)
        output = symbol.elemwise_add(output, inputs, name="%s_plus_residual" % output.name)
        return output, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        self.base_cell._modified = False
        outputs, states = self.base_cell.unroll(length, inputs=inputs, begin_state=begin_state, layout=layout,
                                                merge_outputs=merge_outputs)
        self.base_cell._modified = True
        merge_outputs = isinstance(outputs, symbol.Symbol) if merge_outputs is None else merge_outputs
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if merge_outputs:
            outputs = symbol.elemwise_add(outputs, inputs, name="%s_plus_residual" % outputs.name)
        else:
            outputs = [symbol.elemwise_add(o, i, name="%s_plus_residual" % o.name) for o, i in zip(outputs, inputs)]
        return outputs, states


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al. 2016): in training each output / state element keeps its previous
    value with probability zoneout_outputs / zoneout_states (a Dropout mask of ones decides);
    at inference it is the wrapped cell."""

    def __init__(self, base_cell, zoneout_outputs=0., zoneout_states=0.):
        if isinstance(base_cell, BidirectionalCell):
            raise TypeError("ZoneoutCell: a BidirectionalCell cannot be stepped; wrap its cells instead")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self.prev_output = None

    def reset(self):
        super().reset()
        self.prev_output = None

    def __call__(self, inputs, states):
        next_output, next_states = self.base_cell(inputs, states)
        mask = lambda p, like: symbol.Dropout(symbol.ones_like(like), p=p)  # noqa: E731
        # MXNet starts from zeros((0, 0)); zeros_like needs no partly known shape
        prev = self.prev_output if self.prev_output is not None else symbol.zeros_like(next_output)
        output = (symbol.where(mask(self.zoneout_outputs, next_output), next_output, prev)
                  if self.zoneout_outputs != 0. else next_output)
        if self.zoneout_states != 0.:
            next_states = [symbol.where(mask(self.zoneout_states, new), new, old)
                           for new, old in zip(next_states, states)]
        self.prev_output = output
        return output, next_states


class BidirectionalCell(BaseRNNCell):
    """Runs l_cell forward and r_cell backward over the sequence and concatenates their outputs on the
    feature axis. Only unroll() works; states come back as [l_states, r_states]."""

    def __init__(self, l_cell, r_cell, params=None, output_prefix="bi_"):
        super().__init__("", params=params)
        self._output_prefix = output_prefix
        self._override_cell_params = params is not None
        if self._override_cell_params:
            assert l_cell._own_params and r_cell._own_params, \
                "Either specify params for BidirectionalCell or child cells, not both."
            l_cell.params._params.update(self.params._params)
            r_cell.params._params.update(self.params._params)
        self.params._params.update(l_cell.params._params)
        self.params._params.update(r_cell.params._params)
        self._cells = [l_cell, r_cell]

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    @property
    def state_info(self):
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs):
        if self._modified:
            raise ValueError("begin_state: call it on the outermost wrapping cell")
        return sum([c.begin_state(**kwargs) for c in self._cells], [])

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, axis = _normalize_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state(func=_zeros_batch_of(inputs[0]))
        l_cell, r_cell = self._cells
        n_left = len(l_cell.state_info)
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs, begin_state=begin_state[:n_left], layout=layout,
                                            merge_outputs=merge_outputs)
        r_outputs, r_states = r_cell.unroll(length, inputs=list(reversed(inputs)), begin_state=begin_state[n_left:],
                                            layout=layout, merge_outputs=merge_outputs)
        if merge_outputs is None:
            merge_outputs = isinstance(l_outputs, symbol.Symbol) and isinstance(r_outputs, symbol.Symbol)
            if not merge_outputs:
                l_outputs = _as_step_list(l_outputs, axis, length)
                r_outputs = _as_step_list(r_outputs, axis, length)
        if merge_outputs:
            l_outputs = [l_outputs]
            r_outputs = [symbol.reverse(r_outputs, axis=axis)]
        else:
            r_outputs = list(reversed(r_outputs))
        feature_axis = 2 if merge_outputs else 1
        outputs = [symbol.Concat(l_o, r_o, dim=feature_axis,
                                 name=("%sout" % self._output_prefix) if merge_outputs
                                 else ("%st%d" % (self._output_prefix, i)))
                   for i, (l_o, r_o) in enumerate(zip(l_outputs, r_outputs))]
        if merge_outputs:
            outputs = outputs[0]
        return outputs, [l_states, r_states]


def _as_step_list(outputs, axis, length):
    if isinstance(outputs, symbol.Symbol):
        steps = symbol.SliceChannel(outputs, axis=axis, num_outputs=length, squeeze_axis=1)
        return [steps[i] for i in range(length)]
    return outputs
