"""mx.mod.SequentialModule: modules chained one after another, as MXNet 1.9.1's
python/mxnet/module/sequential_module.py.

Module i+1 takes module i's outputs as its data: bind() binds each module with the previous one's
output shapes (every module after the first with inputs_need_grad, so gradients flow back through
the chain), forward() hands each module's outputs on as the next DataBatch's data, and backward()
runs in reverse, feeding each module's input gradients to the one before as its out_grads. The
module added with take_labels=True receives the labels and is the one metrics are computed from.
Parameters are the union of the modules' (get_params / set_params / init_params, save_params /
load_params as MXNet's BaseModule); install_monitor installs a Monitor on every module."""
import copy
import logging

from . import io
from .module import Module


class SequentialModule:
    META_TAKE_LABELS = "take_labels"
    META_AUTO_WIRING = "auto_wiring"

    def __init__(self, logger=logging):
        self.logger = logger
        self._modules = []
        self._metas = []
        self._label_shapes = None
        self.binded = self.for_training = self.inputs_need_grad = False
        self.params_initialized = self.optimizer_initialized = False

    def add(self, module, **kwargs):
        """Appends `module` to the chain; kwargs: take_labels (this module gets the labels) and
        auto_wiring (rename the previous outputs to this module's data_names). Returns self."""
        allowed = (self.META_TAKE_LABELS, self.META_AUTO_WIRING)
        for key in kwargs:
            if key not in allowed:
                raise ValueError("SequentialModule.add: unknown meta %r (known: %s)" % (key, ", ".join(allowed)))
        self._modules.append(module)
        self._metas.append(dict(kwargs))
        # A new module invalidates the binding and the initialisation of the whole chain.
        self.binded = self.params_initialized = self.optimizer_initialized = False
        return self

    def _check_bound(self, fn):
        if not self.binded:
            raise RuntimeError("SequentialModule.%s: call bind() first" % fn)

    def _label_module(self):
        for meta, module in zip(self._metas, self._modules):
            if meta.get(self.META_TAKE_LABELS, False):
                return module
        return None

    # ---------------------------------------------------------------- properties
    @property
    def data_names(self):
        return self._modules[0].data_names if self._modules else []

    @property
    def output_names(self):
        return self._modules[-1].output_names if self._modules else []

    @property
    def data_shapes(self):
        self._check_bound("data_shapes")
        return self._modules[0].data_shapes

    @property
    def label_shapes(self):
        self._check_bound("label_shapes")
        return self._label_shapes

    @property
    def output_shapes(self):
        self._check_bound("output_shapes")
        return self._modules[-1].output_shapes

    # ---------------------------------------------------------------- parameters
    def get_params(self):
        if not self.params_initialized:
            raise RuntimeError("SequentialModule.get_params: parameters are not initialised; call init_params() first")
        arg_params, aux_params = {}, {}
        for module in self._modules:
            args, auxs = module.get_params()
            arg_params.update(args)
            aux_params.update(auxs)
        return arg_params, aux_params

    def init_params(self, initializer=None, arg_params=None, aux_params=None, allow_missing=False, force_init=False,
                    allow_extra=False):
        if self.params_initialized and not force_init:
            return
        self._check_bound("init_params")
        if not allow_extra:
            self._check_no_extra(arg_params, aux_params)
        # Each module takes its own entries of the shared dicts, so every other module's are extra to
        # it; allow_missing goes through as in MXNet (a parameter the dicts lack is an error without it).
        for module in self._modules:
            module.init_params(initializer, arg_params, aux_params, allow_missing=allow_missing, force_init=force_init,
                               allow_extra=True)
        owner = {}
        for i, module in enumerate(self._modules):
            args, auxs = module.get_params()
            for name in list(args) + list(auxs):
                if name in owner:
                    raise ValueError("SequentialModule.init_params: parameter %r is in module %d and module %d; "
                                     "names must be unique across the chain" % (name, owner[name], i))
                owner[name] = i
        self.params_initialized = True

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        self.init_params(None, arg_params, aux_params, allow_missing, force_init, allow_extra)

    def _check_no_extra(self, arg_params, aux_params):
        """Raises on a given name that no module of the chain has (checked where every module lists
        its param_names / aux_names, as Module does)."""
        if not all(hasattr(m, "param_names") and hasattr(m, "aux_names") for m in self._modules):
            return
        known = set()
        for module in self._modules:
            known.update(module.param_names)
            known.update(module.aux_names)
        extra = sorted(set(arg_params or {}) - known) + sorted(set(aux_params or {}) - known)
        if extra:
            raise ValueError("SequentialModule.init_params: %s are not parameters of any module (allow_extra=True "
                             "ignores them)" % ", ".join(extra))

    # MXNet's BaseModule.save_params / load_params: 'arg:' / 'aux:' names in one file, over the
    # chain's get_params / set_params. (MXNet's SequentialModule has no save_checkpoint: no one symbol.)
    save_params = Module.save_params
    load_params = Module.load_params

    def install_monitor(self, mon):
        """Installs mon on every module (each module's own install_monitor), as MXNet."""
        self._check_bound("install_monitor")
        for module in self._modules:
            module.install_monitor(mon)

    # ---------------------------------------------------------------- binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        if self.binded and not force_rebind:
            self.logger.warning("SequentialModule: already bound, ignoring bind()")
            return
        if not self._modules:
            raise RuntimeError("SequentialModule.bind: no modules; add() some first")
        if shared_module is not None:
            raise ValueError("SequentialModule.bind: shared_module is not supported (got %r)" % (shared_module,))
        if inputs_need_grad and not for_training:
            raise ValueError("SequentialModule.bind: inputs_need_grad=True needs for_training=True")
        if label_shapes and self._label_module() is None:
            raise ValueError("SequentialModule.bind: label_shapes given but no module was added with "
                             "take_labels=True")
        self.for_training, self.inputs_need_grad = for_training, inputs_need_grad
        self._label_shapes = label_shapes if label_shapes else None
        shapes = [d if isinstance(d, io.DataDesc) else io.DataDesc(d[0], d[1]) for d in data_shapes]
        for i, (meta, module) in enumerate(zip(self._metas, self._modules)):
            labels = label_shapes if meta.get(self.META_TAKE_LABELS, False) else None
            if meta.get(self.META_AUTO_WIRING, False):
                if len(module.data_names) != len(shapes):
                    raise ValueError("SequentialModule.bind: module %d has %d data names %s but receives %d inputs"
                                     % (i, len(module.data_names), module.data_names, len(shapes)))
                shapes = [io.DataDesc(name, d.shape) for name, d in zip(module.data_names, shapes)]
            # Every module after the first passes its input gradients back to the one before.
            module.bind(shapes, labels, for_training, inputs_need_grad or (for_training and i > 0),
                        force_rebind=force_rebind, grad_req=grad_req)
            shapes = [io.DataDesc(name, tuple(shape)) for name, shape in module.output_shapes]
        self.binded = True

    # ---------------------------------------------------------------- optimizer
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),),
                       force_init=False):
        if self.optimizer_initialized and not force_init:
            self.logger.warning("SequentialModule: optimizer already initialised, ignoring")
            return
        if not self.params_initialized:
            raise RuntimeError("SequentialModule.init_optimizer: call init_params() first")
        for module in self._modules:
            module.init_optimizer(kvstore, optimizer, optimizer_params, force_init=force_init)
        self.optimizer_initialized = True

    # ---------------------------------------------------------------- computation
    def forward(self, data_batch, is_train=None):
        if not self.binded or not self.params_initialized:
            raise RuntimeError("SequentialModule.forward: bind() and init_params() first")
        batch = copy.copy(data_batch)  # the caller's batch keeps its own data
        for i, module in enumerate(self._modules):
            module.forward(batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            batch.data = module.get_outputs()
            if hasattr(batch, "provide_data"):
                names = self._modules[i + 1].data_names
                batch.provide_data = [io.DataDesc(n, o.shape) for n, o in zip(names, batch.data)]

    def backward(self, out_grads=None):
        self._check_bound("backward")
        for i in reversed(range(len(self._modules))):
            module = self._modules[i]
            module.backward(out_grads)
            if i == 0:
                break
            out_grads = module.get_input_grads()

    def forward_backward(self, data_batch):
        self.forward(data_batch, is_train=True)
        self.backward()

    def update(self):
        if not self.optimizer_initialized:
            raise RuntimeError("SequentialModule.update: call init_optimizer() first")
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context=True):
        self._check_bound("get_outputs")
        return self._modules[-1].get_outputs(merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        if not self.inputs_need_grad:
            raise RuntimeError("SequentialModule.get_input_grads: bind with inputs_need_grad=True")
        return self._modules[0].get_input_grads(merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False, pad=0):
        """Updates eval_metric from the label-taking module(s)' outputs."""
        for meta, module in zip(self._metas, self._modules):
            if meta.get(self.META_TAKE_LABELS, False):
                module.update_metric(eval_metric, labels, pre_sliced, pad)

    # The loops only call the methods above, so Module's serve as they are.
    fit = Module.fit
    score = Module.score
    iter_predict = Module.iter_predict
    predict = Module.predict

    @property
    def _data_shapes(self):  # what Module.predict batches plain arrays by
        return self._modules[0].data_shapes
