"""MXNet 1.x's fluent methods: `x.abs()` is `mx.nd.abs(x)` on an NDArray and `mx.sym.abs(x)` on a
Symbol. One table for both classes; a class keeps any method it defines itself (reshape, astype,
sum with its own signature...)."""

# method name -> op name (the op is looked up in the class's module when the method is called, so
# ops registered later, by libraries or custom ops, work too).
FLUENT = {name: name for name in """
    zeros_like ones_like broadcast_axes repeat pad swapaxes split slice slice_axis slice_like take
    one_hot pick sort topk argsort argmax argmax_channel argmin clip abs sign flatten shape_array
    size_array expand_dims tile transpose flip depth_to_space space_to_depth diag sum nansum prod
    nanprod mean max min norm round rint fix floor ceil trunc sin cos tan arcsin arccos arctan
    degrees radians sinh cosh tanh arcsinh arccosh arctanh exp expm1 log log10 log2 log1p
    log_sigmoid sqrt rsqrt cbrt rcbrt square reciprocal relu sigmoid softmax log_softmax softmin
    mish squeeze broadcast_to broadcast_like reshape_like split_v2
""".split()}
FLUENT["broadcast_axis"] = "broadcast_axis"


def attach(cls, module):
    """Adds FLUENT's methods that cls does not define, each calling module.<op>(self, ...)."""
    for method, op in FLUENT.items():
        if method in cls.__dict__:
            continue

        def fluent(self, *args, __op=op, __method=method, **kwargs):
            fn = getattr(module, __op, None)
            if fn is None:
                raise AttributeError("%s.%s: the op %r is not registered in this build of mx"
                                     % (cls.__name__, __method, __op))
            return fn(self, *args, **kwargs)
        fluent.__name__ = method
        fluent.__doc__ = "Convenience fluent method for %s.%s(self, ...)." % (module.__name__, op)
        setattr(cls, method, fluent)
