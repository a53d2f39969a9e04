"""mx.gluon.rnn cells that wrap or combine other cells (MXNet 1.9.1): DropoutCell, ModifierCell,
ZoneoutCell, ResidualCell, BidirectionalCell."""
from ... import ndarray, symbol
from ...base import numeric_types
from .rnn_cell import (HybridRecurrentCell, SequentialRNNCell, _as_list, _cells_begin_state, _cells_state_info,
                       _format_sequence, _get_begin_state, _mask_sequence_variable_length)

__all__ = ["DropoutCell", "ModifierCell", "ZoneoutCell", "ResidualCell", "BidirectionalCell"]

_TENSORS = (symbol.Symbol, ndarray.NDArray)


def _reverse_sequences(steps, length, valid_length):
    """The list of steps reversed in time; with valid_length (N,), each sample's first
    valid_length steps reversed and its padding left in place (SequenceReverse)."""
    if valid_length is None:
        return list(reversed(steps))
    F = symbol if isinstance(steps[0], symbol.Symbol) else ndarray
    reversed_seq = F.SequenceReverse(F.stack(*steps, axis=0), valid_length, use_sequence_length=True)
    split = F.split(reversed_seq, axis=0, num_outputs=length, squeeze_axis=True)
    return _as_list(split) if F is ndarray else [split[i] for i in range(length)]


class DropoutCell(HybridRecurrentCell):
    """Applies dropout (rate, in training) to its input; has no states. Unrolled over a merged
    tensor it drops the whole sequence in one op."""

    def __init__(self, rate, axes=(), prefix=None, params=None):
        if not isinstance(rate, numeric_types) or not 0 <= rate <= 1:
            raise ValueError("DropoutCell: rate must be a number in [0, 1], got %r" % (rate,))
        super().__init__(prefix=prefix, params=params)
        self._rate = rate
        self._axes = tuple(axes)

    def __repr__(self):
        return "DropoutCell(rate=%s, axes=%s)" % (self._rate, self._axes)

    def state_info(self, batch_size=0):
        return []

    def _alias(self):
        return "dropout"

    def hybrid_forward(self, F, inputs, states):
        if self._rate > 0:
            extra = {"axes": self._axes} if self._axes else {}
            inputs = F.Dropout(data=inputs, p=self._rate, name="t%d_fwd" % self._counter, **extra)
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None):
        self.reset()
        inputs, _, F, _ = _format_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, _TENSORS):
            return self.hybrid_forward(F, inputs, begin_state if begin_state else [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout, merge_outputs=merge_outputs,
                              valid_length=None)


class ModifierCell(HybridRecurrentCell):
    """Base of the cells that change another cell's behaviour (ZoneoutCell, ResidualCell). The
    wrapped cell is marked modified: begin_state must then be asked of the wrapper. The wrapper
    shares the base cell's parameters."""

    def __init__(self, base_cell):
        if base_cell._modified:
            raise ValueError("%s: cell %s is already modified; one cell cannot be wrapped twice"
                             % (type(self).__name__, base_cell.name))
        base_cell._modified = True
        super().__init__(prefix=base_cell.prefix + self._alias(), params=None)
        self.base_cell = base_cell

    @property
    def params(self):
        return self.base_cell.params

    def state_info(self, batch_size=0):
        return self.base_cell.state_info(batch_size)

    def begin_state(self, func=ndarray.zeros, **kwargs):
        if self._modified:
            raise ValueError("%s: after wrapping this cell, call begin_state on the wrapper" % self.name)
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(func=func, **kwargs)
        finally:
            self.base_cell._modified = True

    def hybrid_forward(self, F, inputs, states):
        raise NotImplementedError

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.base_cell)


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al. 2016): in training, each output / state element keeps its previous
    value with probability zoneout_outputs / zoneout_states instead of taking the new one."""

    def __init__(self, base_cell, zoneout_outputs=0., zoneout_states=0.):
        if isinstance(base_cell, BidirectionalCell) or _is_bidirectional_stack(base_cell):
            raise ValueError("ZoneoutCell: a BidirectionalCell cannot be zoned out; wrap its two cells instead")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self._prev_output = None

    def _alias(self):
        return "zoneout"

    def reset(self):
        super().reset()
        self._prev_output = None

    def hybrid_forward(self, F, inputs, states):
        next_output, next_states = self.base_cell(inputs, states)

        def keep_new(p, like):  # nonzero where the new value is taken (Dropout is the identity outside training)
            return F.Dropout(F.ones_like(like), p=p)

        prev_output = self._prev_output if self._prev_output is not None else F.zeros_like(next_output)
        output = (F.where(keep_new(self.zoneout_outputs, next_output), next_output, prev_output)
                  if self.zoneout_outputs != 0. else next_output)
        states = ([F.where(keep_new(self.zoneout_states, new), new, old) for new, old in zip(next_states, states)]
                  if self.zoneout_states != 0. else next_states)
        self._prev_output = output
        return output, states


class ResidualCell(ModifierCell):
    """Adds the input to the base cell's output (Wu et al. 2016): output = cell(x) + x."""

    def _alias(self):
        return "residual"

    def hybrid_forward(self, F, inputs, states):
        output, states = self.base_cell(inputs, states)
        return F.elemwise_add(output, inputs, name="t%d_fwd" % self._counter), states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None):
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs=inputs, begin_state=begin_state, layout=layout,
                                                    merge_outputs=merge_outputs, valid_length=valid_length)
        finally:
            self.base_cell._modified = True
        merge_outputs = isinstance(outputs, _TENSORS) if merge_outputs is None else merge_outputs
        inputs, axis, F, _ = _format_sequence(length, inputs, layout, merge_outputs)
        if valid_length is not None:
            inputs = _mask_sequence_variable_length(F, inputs, length, valid_length, axis, merge_outputs)
        if merge_outputs:
            return F.elemwise_add(outputs, inputs), states
        return [F.elemwise_add(o, i) for o, i in zip(outputs, inputs)], states


class BidirectionalCell(HybridRecurrentCell):
    """Runs l_cell forward and r_cell backward in time over the sequence and concatenates their
    outputs on the feature axis; states are l_cell's then r_cell's. Can only be unrolled."""

    def __init__(self, l_cell, r_cell, output_prefix="bi_"):
        super().__init__(prefix="", params=None)
        self.register_child(l_cell, "l_cell")
        self.register_child(r_cell, "r_cell")
        self._output_prefix = output_prefix

    def __call__(self, inputs, states):
        raise NotImplementedError("BidirectionalCell cannot be stepped. Please use unroll")

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        if self._modified:
            raise ValueError("%s: after wrapping this cell, call begin_state on the wrapper" % self.name)
        return _cells_begin_state(self._children.values(), **kwargs)

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None, valid_length=None):
        self.reset()
        inputs, axis, F, batch_size = _format_sequence(length, inputs, layout, False)
        reversed_inputs = _reverse_sequences(inputs, length, valid_length)
        states = _get_begin_state(self, F, begin_state, inputs, batch_size)
        l_cell, r_cell = self._children.values()
        n_left = len(l_cell.state_info(batch_size))
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs, begin_state=states[:n_left], layout=layout,
                                            merge_outputs=merge_outputs, valid_length=valid_length)
        r_outputs, r_states = r_cell.unroll(length, inputs=reversed_inputs, begin_state=states[n_left:],
                                            layout=layout, merge_outputs=False, valid_length=valid_length)
        r_outputs = _reverse_sequences(r_outputs, length, valid_length)
        if merge_outputs is None:
            merge_outputs = isinstance(l_outputs, _TENSORS)
            l_outputs, _, _, _ = _format_sequence(None, l_outputs, layout, merge_outputs)
        if merge_outputs:
            r_outputs = F.stack(*r_outputs, axis=axis)
            outputs = F.Concat(l_outputs, r_outputs, dim=2, name="%sout" % self._output_prefix)
        else:
            outputs = [F.Concat(l, r, dim=1, name="%st%d" % (self._output_prefix, i))
                       for i, (l, r) in enumerate(zip(l_outputs, r_outputs))]
        if valid_length is not None:
            outputs = _mask_sequence_variable_length(F, outputs, length, valid_length, axis, merge_outputs)
        return outputs, l_states + r_states


def _is_bidirectional_stack(cell):
    return isinstance(cell, SequentialRNNCell) and any(isinstance(c, BidirectionalCell) for c in cell)
