"""mx.init's structured initializers (MXNet 1.9.1): Orthogonal, Bilinear, LSTMBias and FusedRNN.
Imported into mx.initializer (mx.init.Orthogonal, ...)."""
import math

import numpy as np

from . import ndarray as _nd
from .initializer import Initializer, InitDesc, bilinear_kernel, create, register
from .ndarray_random import normal as _normal, uniform as _uniform


@register
class Orthogonal(Initializer):
    """Weight as scale * an orthonormal matrix (Saxe et al.): the SVD factor of a random
    (shape[0], prod(shape[1:])) matrix drawn from U(-1, 1) ('uniform') or N(0, 1) ('normal')."""

    def __init__(self, scale=1.414, rand_type="uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        if rand_type not in ("uniform", "normal"):
            raise ValueError("mx.init.Orthogonal: rand_type must be 'uniform' or 'normal', got %r" % (rand_type,))
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        nout = arr.shape[0]
        nin = math.prod(arr.shape[1:])
        if self.rand_type == "uniform":
            tmp = _uniform(-1.0, 1.0, shape=(nout, nin)).asnumpy()
        else:
            tmp = _normal(0.0, 1.0, shape=(nout, nin)).asnumpy()
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        # u has tmp's shape when nout >= nin (orthonormal columns), else v does (orthonormal rows)
        res = u if u.shape == tmp.shape else v
        arr[:] = self.scale * res.reshape(arr.shape)


@register
class Bilinear(Initializer):
    """Weight of an upsampling (Deconvolution) layer: MXNet's bilinear interpolation kernel,
    w[y, x] = (1 - |x / f - c|) * (1 - |y / f - c|), f = ceil(kw / 2), c = (2f - 1 - f % 2) / (2f)."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = bilinear_kernel(arr.shape)


@register
class LSTMBias(Initializer):
    """An LSTM cell's bias (gates i, f, c, o): zeros except the forget gate's quarter, set to forget_bias."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        if arr.shape[0] % 4:
            raise ValueError("mx.init.LSTMBias: %s has %d rows, not a multiple of the 4 LSTM gates"
                             % (name, arr.shape[0]))
        host = np.zeros(arr.shape, dtype=np.float64)
        num_hidden = arr.shape[0] // 4
        host[num_hidden:2 * num_hidden] = self.forget_bias
        arr[:] = host


_GATE_NAMES = {"rnn_relu": [""], "rnn_tanh": [""], "lstm": ["_i", "_f", "_c", "_o"], "gru": ["_r", "_z", "_o"]}


def fused_rnn_layout(size, num_hidden, num_layers, mode, bidirectional):
    """(name, shape) of each piece of the RNN op's packed parameter vector, in its order (MXNet's
    FusedRNNCell naming, prefix ''): every weight — per layer, per direction ('l', 'r'), per gate:
    i2h (H, in) then h2h (H, H) — then every bias the same way, i2h (H,) then h2h (H,)."""
    if mode not in _GATE_NAMES:
        raise ValueError("mx.init.FusedRNN: mode must be one of %s, got %r" % (", ".join(sorted(_GATE_NAMES)), mode))
    gates = _GATE_NAMES[mode]
    directions = ["l", "r"] if bidirectional else ["l"]
    b, m, h = len(directions), len(gates), num_hidden
    num_input = size // b // h // m - (num_layers - 1) * (h + b * h + 2) - h - 2
    layout = []
    for layer in range(num_layers):
        in_size = num_input if layer == 0 else b * h
        for d in directions:
            layout += [("%s%d_i2h%s_weight" % (d, layer, g), (h, in_size)) for g in gates]
            layout += [("%s%d_h2h%s_weight" % (d, layer, g), (h, h)) for g in gates]
    for layer in range(num_layers):
        for d in directions:
            layout += [("%s%d_i2h%s_bias" % (d, layer, g), (h,)) for g in gates]
            layout += [("%s%d_h2h%s_bias" % (d, layer, g), (h,)) for g in gates]
    if num_input <= 0 or sum(math.prod(s) for _, s in layout) != size:
        raise ValueError("mx.init.FusedRNN: a parameter vector of %d elements does not fit mode=%s, num_hidden=%d, "
                         "num_layers=%d, bidirectional=%s" % (size, mode, num_hidden, num_layers, bidirectional))
    return layout


@register
class FusedRNN(Initializer):
    """The RNN op's packed parameter vector: unpacked into per-gate weights / biases, each initialised
    by init (or the global initializer when init is None), LSTM forget-gate biases set to forget_bias."""

    def __init__(self, init, num_hidden, num_layers, mode, bidirectional=False, forget_bias=1.0):
        if isinstance(init, str):
            init = create(init)
        if init is not None and not isinstance(init, Initializer):
            raise TypeError("mx.init.FusedRNN: init must be an Initializer, its JSON or None, got %s"
                            % type(init).__name__)
        super().__init__(init=init.dumps() if init is not None else None, num_hidden=num_hidden,
                         num_layers=num_layers, mode=mode, bidirectional=bidirectional, forget_bias=forget_bias)
        self._init = init
        self._num_hidden = num_hidden
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bidirectional
        self._forget_bias = forget_bias

    def _init_weight(self, desc, arr):
        global_init = getattr(desc, "global_init", None)
        pieces = []
        for name, shape in fused_rnn_layout(arr.size, self._num_hidden, self._num_layers, self._mode,
                                            self._bidirectional):
            piece = _nd.zeros(shape, dtype=arr.dtype)
            if self._mode == "lstm" and name.endswith("_f_bias"):
                piece[:] = self._forget_bias
            else:
                init = self._init if self._init is not None else global_init
                if init is None:
                    raise ValueError("mx.init.FusedRNN: %s: no init given and no global initializer to fall back "
                                     "to" % str(desc))
                init(InitDesc(name, global_init=global_init), piece)
            pieces.append(piece.asnumpy().ravel())
        arr[:] = np.concatenate(pieces).reshape(arr.shape)
