"""3-d convolution, transposed convolution and pooling built from the 2-d ops.

mx's Convolution, Deconvolution and Pooling ops take 1-d and 2-d windows only. A 3-d window is
a sum (or max) over its depth taps of 2-d windows: tap t of output depth o reads input depth
o * stride + t * dilation - pad. Each tap is one 2-d op over the depth-strided slice of the
input, with depth folded into the batch axis; the taps are then combined. Every step is an op of
both mx.nd and mx.sym, so the layers hybridize; nothing needs the input's shape in Python."""


from ...base import MXNetError


def check_input(op_name, data_shape, weight_shape=None, num_group=1):
    """On arrays, say what is wrong in the 5-d shapes the user gave, rather than in the shapes of
    the 2-d ops inside."""
    if len(data_shape) != 5:
        raise MXNetError("%s (3-d): data %s must be 5-d NCDHW" % (op_name, data_shape), 2)
    if weight_shape is None:
        return
    need = weight_shape[1] * num_group if op_name == 'Convolution' else weight_shape[0]
    if data_shape[1] != need:
        raise MXNetError("%s (3-d): weight is %s but data %s has %d channels, not %d"
                         % (op_name, weight_shape, data_shape, data_shape[1], need), 2)


def _depth_pad(F, x, before, after, value=0.0):
    if before == 0 and after == 0:
        return x
    return F.pad(x, mode='constant', pad_width=(0, 0, 0, 0, before, after, 0, 0, 0, 0),
                 constant_value=value)


def _depth_taps(F, x, kernel, stride, dilate):
    """For each depth tap t: x[:, :, t*dilate :: stride] cut to the output depth."""
    taps = []
    for t in range(kernel):
        tail = (kernel - 1 - t) * dilate
        taps.append(F.slice(x, begin=(None, None, t * dilate, None, None),
                            end=(None, None, -tail if tail else None, None, None),
                            step=(1, 1, stride, 1, 1)))
    return taps


def _fold(F, x):
    """(N, C, D, H, W) -> (N*D, C, H, W) and the (N, D, C, H, W) view to unfold against."""
    nd_first = F.transpose(x, axes=(0, 2, 1, 3, 4))
    return F.reshape(nd_first, shape=(-3, -2)), nd_first


def _unfold(F, y, like):
    """(N*D, C', H', W') -> (N, C', D, H', W'), N and D taken from `like` (N, D, ...)."""
    y = F.reshape_like(y, like, lhs_begin=0, lhs_end=1, rhs_begin=0, rhs_end=2)
    return F.transpose(y, axes=(0, 2, 1, 3, 4))


def _kernel_tap(F, weight, t):
    """weight[:, :, t] as a 2-d kernel: (A, B, kd, kh, kw) -> (A, B, kh, kw)."""
    return F.reshape(F.slice_axis(weight, axis=2, begin=t, end=t + 1), shape=(0, 0, -3, 0))


def _sum(F, arrays):
    return F.add_n(*arrays) if len(arrays) > 1 else arrays[0]


def _add_bias(F, y, bias):
    return y if bias is None else F.broadcast_add(y, F.reshape(bias, shape=(1, -1, 1, 1, 1)))


def tie_weight_shape(F, op_name, x, weight, kernel, num_filter, num_group):
    """weight + zeros shaped from x's channels, so that shape inference on a graph can find a
    deferred in_channels: it cannot see through the reshapes and slices above, but it equates the
    shapes of elemwise_add's inputs. (zeros_like reads no values, so NaNs in x stay out.)"""
    channels = F.slice(x, begin=(0, 0, 0, 0, 0), end=(1, None, 1, 1, 1))  # (1, C, 1, 1, 1)
    if op_name == 'Convolution':  # weight (num_filter, C / groups, *kernel)
        if num_group > 1:
            channels = F.reshape(channels, shape=(0, -4, num_group, -1, -2))
            channels = F.reshape(F.slice_axis(channels, axis=1, begin=0, end=1), shape=(0, -3, -2))
        shape = (num_filter, 0) + tuple(kernel)
    else:  # weight (C, num_filter / groups, *kernel)
        channels = F.transpose(channels, axes=(1, 0, 2, 3, 4))
        shape = (0, num_filter // num_group) + tuple(kernel)
    return F.elemwise_add(weight, F.zeros_like(F.broadcast_to(channels, shape=shape)))


def convolution(F, op_name, x, weight, bias=None, kernel=(), stride=(), dilate=(), pad=(),
                num_filter=0, num_group=1, no_bias=False, adj=None):
    """Convolution (op_name 'Convolution') or Deconvolution over (N, C, D, H, W) data."""
    args2d = {'kernel': kernel[1:], 'stride': stride[1:], 'dilate': dilate[1:], 'pad': pad[1:],
              'num_filter': num_filter, 'num_group': num_group, 'no_bias': True}
    if op_name == 'Convolution':
        taps = _depth_taps(F, _depth_pad(F, x, pad[0], pad[0]), kernel[0], stride[0], dilate[0])
        outs = []
        for t, tap in enumerate(taps):
            folded, like = _fold(F, tap)
            outs.append(_unfold(F, F.Convolution(folded, _kernel_tap(F, weight, t), **args2d),
                                like))
        return _add_bias(F, _sum(F, outs), bias)
    return _add_bias(F, _deconvolution(F, x, weight, kernel, stride, dilate, pad, adj, args2d),
                     bias)


def _deconvolution(F, x, weight, kernel, stride, dilate, pad, adj, args2d):
    # Input depth i with tap t lands on output depth i * stride + t * dilate (before the crop of
    # pad): spread x over depth by stride (zeros between), run each tap's 2-d transposed
    # convolution, shift it by t * dilate, sum (adj zeros at the back), then crop pad from both
    # ends.
    folded, like = _fold(F, x)
    args2d = dict(args2d, adj=adj[1:])
    kd, sd, dd = kernel[0], stride[0], dilate[0]
    total = None
    for t in range(kd):
        y = _unfold(F, F.Deconvolution(folded, _kernel_tap(F, weight, t), **args2d), like)
        if sd > 1:  # (N, F, D, ...) -> (N, F, D, sd, ...) with zeros after each depth -> D*sd
            y = F.expand_dims(y, axis=3)
            y = F.concat(*([y] + [F.zeros_like(y)] * (sd - 1)), dim=3)
            y = F.reshape(y, shape=(0, 0, -3, -2))
            y = F.slice_axis(y, axis=2, begin=0, end=-(sd - 1))
        y = _depth_pad(F, y, t * dd, (kd - 1 - t) * dd + adj[0])
        total = y if total is None else total + y
    if pad[0] == 0:
        return total
    return F.slice_axis(total, axis=2, begin=pad[0], end=-pad[0])


def pooling(F, x, kernel=(), stride=(), pad=(), global_pool=False, pool_type='max',
            pooling_convention='valid', count_include_pad=True):
    """Max or average pooling over (N, C, D, H, W) data."""
    if global_pool:
        reduce = F.max if pool_type == 'max' else F.mean
        return reduce(x, axis=(2, 3, 4), keepdims=True)
    if pool_type not in ('max', 'avg'):
        raise ValueError("3-d pooling: pool_type must be 'max' or 'avg', got %r" % (pool_type,))
    kd, sd, pd = kernel[0], stride[0], pad[0]
    # 'full' (ceil_mode) lets the last window run past the padded end: pad stride - 1 more, and
    # leave that overhang out of the max and out of the average's count.
    extra = sd - 1 if pooling_convention == 'full' else 0
    folded, like = _fold(F, x)
    pooled = _unfold(F, F.Pooling(folded, kernel=kernel[1:], stride=stride[1:], pad=pad[1:],
                                  pool_type=pool_type, pooling_convention=pooling_convention,
                                  count_include_pad=count_include_pad), like)
    if pool_type == 'max':
        padded = _depth_pad(F, pooled, pd, pd + extra, float('-inf'))
        taps = _depth_taps(F, padded, kd, sd, 1)
        out = taps[0]
        for tap in taps[1:]:
            out = F.maximum(out, tap)
        return out
    padded = _depth_pad(F, pooled, pd, pd + extra)
    total = _sum(F, _depth_taps(F, padded, kd, sd, 1))
    # Per output depth, how many taps count: real rows, plus the pad rows if count_include_pad.
    ones = F.ones_like(F.slice_axis(F.slice_axis(F.slice_axis(
        pooled, axis=1, begin=0, end=1), axis=3, begin=0, end=1), axis=4, begin=0, end=1))
    if count_include_pad and pd:
        ones = _depth_pad(F, ones, pd, pd, 1.0)
        counted = _depth_pad(F, ones, 0, extra)
    else:
        counted = _depth_pad(F, ones, pd, pd + extra)
    count = _sum(F, _depth_taps(F, counted, kd, sd, 1))
    return F.broadcast_div(total, count)
