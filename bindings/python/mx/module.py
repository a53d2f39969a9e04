"""mx.mod.Module: a symbol bound to an executor, with parameters, an optimizer and MXNet's
training loop (fit, score, predict, checkpoints).

Parameters live in two places, as in MXNet: host copies (_arg_params / _aux_params, what
get_params returns and checkpoints save) and the executor's arrays (what training updates).
Several contexts train data-parallel, as in MXNet: each context gets its slice of every batch
(an executor per context), the gradients are summed through a KVStore (kvstore='local', 'device',
'dist_sync', 'dist_async' or a KVStore), and the weights are updated once per key: in the store
(update_on_kvstore, MXNet's default) or on every device from the summed gradients."""
import logging
import time

import numpy as np

from . import initializer as init_mod
from . import io
from . import kvstore as kvs
from . import metric as metric_mod
from . import model
from . import ndarray as nd
from . import optimizer as opt_mod
from .context import Context, cpu


def _as_list(x):
    return x if isinstance(x, (list, tuple)) else [x]


def _descs(shapes):
    out = []
    for d in shapes or []:
        out.append(d if isinstance(d, io.DataDesc) else io.DataDesc(d[0], d[1]))
    return out


class Module:
    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",), logger=logging, context=None,
                 work_load_list=None, fixed_param_names=None, state_names=None, **kwargs):
        contexts = _as_list(context) if context is not None else [cpu()]
        if not contexts:
            raise ValueError("Module: context is an empty list")
        self._contexts = [Context(c) for c in contexts]
        self.context = self._contexts[0]
        self._work_load_list = list(work_load_list) if work_load_list else [1] * len(contexts)
        if len(self._work_load_list) != len(contexts):
            raise ValueError("Module: %d contexts but %d work loads" % (len(contexts), len(self._work_load_list)))
        self.symbol = symbol
        self.logger = logger
        args = symbol.list_arguments()
        self.data_names = list(data_names or [])
        self.label_names = [n for n in (label_names or []) if n in args]
        self.state_names = list(state_names or [])
        for n in self.data_names:
            if n not in args:
                raise ValueError("Module: data name %r is not an argument of the symbol (arguments: %s)"
                                 % (n, ", ".join(args)))
        inputs = set(self.data_names + self.label_names + self.state_names)
        self.param_names = [n for n in args if n not in inputs]
        self.fixed_param_names = set(fixed_param_names or [])
        self.aux_names = symbol.list_auxiliary_states()
        self.output_names = symbol.list_outputs()
        self.binded = self.for_training = self.inputs_need_grad = False
        self.params_initialized = self.optimizer_initialized = False
        self._exec = None
        self._execs = []  # one per context; _exec is the first
        self._kvstore = None
        self._update_on_kvstore = False
        self._arg_params = self._aux_params = None
        self._updater = self._optimizer = None
        self._params_dirty = False
        self._data_shapes = self._label_shapes = None
        self._monitor = None  # installed on every executor this module binds
        self._monitored_execs = []

    # ---------------------------------------------------------------- shapes
    @property
    def data_shapes(self):
        return self._data_shapes

    @property
    def label_shapes(self):
        return self._label_shapes

    @property
    def output_shapes(self):
        return list(zip(self.output_names, [o.shape for o in self.get_outputs()]))

    # ---------------------------------------------------------------- data parallelism
    def _slices(self, batch_size):
        """[(begin, end)] of each context's part of a batch (MXNet's _split_input_slice)."""
        total = float(sum(self._work_load_list))
        sizes = [int(round(w * batch_size / total)) for w in self._work_load_list]
        sizes[-1] += batch_size - sum(sizes)
        if min(sizes) <= 0:
            raise ValueError("Module: a batch of %d cannot be split over %d contexts (work loads %s)"
                             % (batch_size, len(self._contexts), self._work_load_list))
        out, begin = [], 0
        for n in sizes:
            out.append((begin, begin + n))
            begin += n
        return out

    def _sliced_shapes(self, descs, begin, end):
        return {d.name: (end - begin,) + tuple(d.shape[1:]) for d in descs}

    # ---------------------------------------------------------------- binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        if self.binded and not force_rebind:
            self.logger.warning("Module: already bound, ignoring bind()")
            return
        self.for_training, self.inputs_need_grad = for_training, inputs_need_grad
        self._data_shapes, self._label_shapes = _descs(data_shapes), _descs(label_shapes)
        shapes = {d.name: d.shape for d in self._data_shapes + self._label_shapes}
        types = {d.name: d.dtype for d in self._data_shapes + self._label_shapes}
        reqs = {}
        for name in self.symbol.list_arguments():
            if name in self.param_names:
                reqs[name] = grad_req if for_training and name not in self.fixed_param_names else "null"
            elif name in self.data_names:
                reqs[name] = "write" if inputs_need_grad else "null"
            else:
                reqs[name] = "null"
        batch = self._data_shapes[0].shape[0]
        descs = self._data_shapes + self._label_shapes
        self._execs = []
        for ctx, (b, e) in zip(self._contexts, self._slices(batch)):
            shapes = self._sliced_shapes(descs, b, e) if len(self._contexts) > 1 else shapes
            self._execs.append(self.symbol.simple_bind(ctx, grad_req=reqs, type_dict=types, **shapes))
        self._exec = self._execs[0]
        self.binded = True
        if shared_module is not None:
            self._share_params_of(shared_module, grad_req)
        elif self.params_initialized:
            self._copy_params_to_exec()
        self._reinstall_monitor()

    def _share_params_of(self, shared, grad_req):
        """Rebinds each executor over `shared`'s parameter, gradient and auxiliary arrays (its own
        data and label arrays stay): MXNet's bind(shared_module=...), for modules of one model such
        as BucketingModule's buckets. `shared` must hold every parameter, with the same shapes."""
        missing = [n for n in self.param_names + self.aux_names if n not in shared.param_names + shared.aux_names]
        if missing:
            raise ValueError("Module.bind(shared_module=...): parameters %s are not in the shared module (for "
                             "BucketingModule: make the default bucket the largest one)" % ", ".join(missing))
        execs = []
        for ctx, own, theirs in zip(self._contexts, self._execs, shared._execs):
            args, grads, reqs = {}, {}, {}
            for name in self.symbol.list_arguments():
                if name in self.param_names:
                    args[name], grads[name] = theirs.arg_dict[name], theirs.grad_dict.get(name)
                    if tuple(args[name].shape) != tuple(own.arg_dict[name].shape):
                        raise ValueError("Module.bind(shared_module=...): parameter %s has shape %s here but %s in "
                                         "the shared module" % (name, own.arg_dict[name].shape, args[name].shape))
                    reqs[name] = grad_req
                else:
                    args[name], grads[name] = own.arg_dict[name], own.grad_dict.get(name)
                    reqs[name] = "write"
            aux = {name: theirs.aux_dict[name] for name in self.aux_names}
            execs.append(self.symbol.bind(ctx, args, args_grad=grads, grad_req=reqs, aux_states=aux))
        self._execs, self._exec = execs, execs[0]
        self._arg_params, self._aux_params = shared._arg_params, shared._aux_params
        self.params_initialized = shared.params_initialized

    def reshape(self, data_shapes, label_shapes=None):
        self._data_shapes, self._label_shapes = _descs(data_shapes), _descs(label_shapes)
        descs = self._data_shapes + self._label_shapes
        slices = self._slices(self._data_shapes[0].shape[0])
        self._execs = [ex.reshape(allow_up_sizing=True, **self._sliced_shapes(descs, b, e))
                       for ex, (b, e) in zip(self._execs, slices)]
        self._exec = self._execs[0]
        self._reinstall_monitor()

    # ---------------------------------------------------------------- monitor
    def install_monitor(self, mon):
        """Installs mx.monitor.Monitor mon on this module's executors (those of a later reshape or
        rebind too); fit(monitor=mon) does it and ticks mon around every batch."""
        if not self.binded:
            raise RuntimeError("Module.install_monitor: call bind() first")
        if self._monitor is not None and self._monitor is not mon:  # the old one stops seeing ours
            self._monitor.exes = [e for e in self._monitor.exes if all(e is not m for m in self._monitored_execs)]
            self._monitored_execs = []
        self._monitor = mon
        self._reinstall_monitor()

    def _reinstall_monitor(self):
        """The monitor onto the current executors; executors this module no longer uses leave it."""
        mon = self._monitor
        if mon is None:
            return
        mon.exes = [e for e in mon.exes if all(e is not old for old in self._monitored_execs)]
        for ex in self._execs:
            mon.install(ex)
        self._monitored_execs = list(self._execs)

    # ---------------------------------------------------------------- parameters
    def init_params(self, initializer=None, arg_params=None, aux_params=None, allow_missing=False, force_init=False,
                    allow_extra=False):
        if self.params_initialized and not force_init:
            return
        if not self.binded:
            raise RuntimeError("Module.init_params: call bind() first")
        initializer = initializer if initializer is not None else init_mod.Uniform(0.01)
        attrs = self.symbol.attr_dict()
        for given, names in ((arg_params, self.param_names), (aux_params, self.aux_names)):
            if given and not allow_extra:
                extra = sorted(set(given) - set(names))
                if extra:
                    raise ValueError("Module.init_params: %s are not parameters of the symbol (allow_extra=True "
                                     "ignores them)" % ", ".join(extra))

        def fill(name, arr, given):
            if given is not None and name in given:
                src = given[name]
                if tuple(src.shape) != arr.shape:
                    raise ValueError("Module.init_params: %s has shape %s, the bound symbol needs %s"
                                     % (name, tuple(src.shape), arr.shape))
                arr[:] = src
            elif given is not None and not allow_missing:
                raise RuntimeError("Module.init_params: %s is missing from the given parameters" % name)
            else:
                initializer(init_mod.InitDesc(name, attrs.get(name, {})), arr)

        self._arg_params = {n: nd.zeros(self._exec.arg_dict[n].shape, cpu(), self._exec.arg_dict[n].dtype)
                            for n in self.param_names}
        self._aux_params = {n: nd.zeros(self._exec.aux_dict[n].shape, cpu(), self._exec.aux_dict[n].dtype)
                            for n in self.aux_names}
        for n, arr in self._arg_params.items():
            fill(n, arr, arg_params)
        for n, arr in self._aux_params.items():
            fill(n, arr, aux_params)
        self.params_initialized = True
        self._params_dirty = False
        self._copy_params_to_exec()

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        self.init_params(None, arg_params, aux_params, allow_missing, force_init, allow_extra)

    def _copy_params_to_exec(self):
        for ex in self._execs:
            for n, v in self._arg_params.items():
                v.copyto(ex.arg_dict[n])
            for n, v in self._aux_params.items():
                v.copyto(ex.aux_dict[n])

    def _sync_params_from_exec(self):
        """Weights from the first context (all contexts hold the same); auxiliary states (BatchNorm's
        moving statistics) averaged over the contexts, as MXNet does."""
        if self._params_dirty:
            for n in self.param_names:
                self._exec.arg_dict[n].copyto(self._arg_params[n])
            for n in self.aux_names:
                if len(self._execs) == 1:
                    self._exec.aux_dict[n].copyto(self._aux_params[n])
                else:
                    total = sum(ex.aux_dict[n].copyto(cpu()) for ex in self._execs)
                    (total / len(self._execs)).copyto(self._aux_params[n])
            self._params_dirty = False

    def get_params(self):
        if not self.params_initialized:
            raise RuntimeError("Module.get_params: parameters are not initialised")
        self._sync_params_from_exec()
        return self._arg_params, self._aux_params

    # ---------------------------------------------------------------- states
    def get_states(self, merge_multi_context=True):
        """The arrays of the state inputs (state_names: inputs that are neither data nor parameters,
        kept across batches, e.g. an RNN's begin state), in state_names order: merged along axis 0
        over the contexts, or (merge_multi_context=False) one list per state of each context's."""
        if not self.binded or not self.params_initialized:
            raise RuntimeError("Module.get_states: bind() and init_params() first")
        per_state = [[ex.arg_dict[n] for ex in self._execs] for n in self.state_names]
        if not merge_multi_context:
            return per_state
        if len(self._execs) == 1:
            return [parts[0] for parts in per_state]
        return [nd.concat(*[p.copyto(self.context) for p in parts], dim=0) for parts in per_state]

    def set_states(self, states=None, value=None):
        """Sets the state inputs: states, one per state name (an array, split along axis 0 over
        the contexts, or a list of each context's), or every element to the scalar value."""
        if not self.binded or not self.params_initialized:
            raise RuntimeError("Module.set_states: bind() and init_params() first")
        if (states is None) == (value is None):
            raise ValueError("Module.set_states: give exactly one of states and value")
        if value is not None:
            for n in self.state_names:
                for ex in self._execs:
                    ex.arg_dict[n][:] = value
            return
        states = _as_list(states)
        if len(states) != len(self.state_names):
            raise ValueError("Module.set_states: %d states given for state_names %s"
                             % (len(states), self.state_names))
        for name, src in zip(self.state_names, states):
            dsts = [ex.arg_dict[name] for ex in self._execs]
            if isinstance(src, (list, tuple)):
                parts = list(src)
            elif len(dsts) == 1:
                parts = [src]
            else:
                bounds = np.cumsum([0] + [d.shape[0] for d in dsts])
                parts = [src[int(b):int(e)] for b, e in zip(bounds[:-1], bounds[1:])]
            if len(parts) != len(dsts):
                raise ValueError("Module.set_states: state %r has %d parts for %d contexts"
                                 % (name, len(parts), len(dsts)))
            for part, dst in zip(parts, dsts):
                if tuple(part.shape) != tuple(dst.shape):
                    raise ValueError("Module.set_states: state %r has shape %s, the bound symbol needs %s"
                                     % (name, tuple(part.shape), tuple(dst.shape)))
                if isinstance(part, nd.NDArray):
                    part.copyto(dst)
                else:
                    dst[:] = part

    # ---------------------------------------------------------------- optimizer
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),),
                       force_init=False):
        if self.optimizer_initialized and not force_init:
            return
        if not self.params_initialized:
            raise RuntimeError("Module.init_optimizer: call init_params() first")
        kv = self._create_kvstore(kvstore)
        batch_size = self._data_shapes[0].shape[0]
        if kv is not None and "dist" in kv.type and "_sync" in kv.type:
            batch_size *= kv.num_workers  # the gradient summed over the workers covers all their batches
        # With the store updating, keys are names; otherwise the updater sees index * devices + device.
        idx2name = {}
        if self._update_on_kvstore:
            idx2name = {n: n for n in self.param_names}
        else:
            for i, n in enumerate(self.param_names):
                idx2name.update({i * len(self._contexts) + k: n for k in range(len(self._contexts))})
        if isinstance(optimizer, str):
            params = dict(optimizer_params)
            params.setdefault("rescale_grad", 1.0 / batch_size)
            optimizer = opt_mod.create(optimizer, param_idx2name=idx2name, **params)
        else:
            optimizer.idx2name = dict(idx2name)
            optimizer.set_wd_mult(optimizer.wd_mult)
        self._optimizer = optimizer
        self._kvstore = kv
        if kv is not None:
            self._initialize_kvstore()
        if self._update_on_kvstore:
            kv.set_optimizer(optimizer)
            self._updater = None
        else:
            self._updater = opt_mod.get_updater(optimizer)
        self.optimizer_initialized = True
        preload = getattr(self, "_preload_opt_states", None)
        if preload:
            self.load_optimizer_states(preload)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module):
        """Uses shared_module's optimizer, kvstore and updater (MXNet's, for modules over the same
        parameters: one optimizer state for all)."""
        if not shared_module.optimizer_initialized:
            raise ValueError("borrow_optimizer: the shared module's optimizer is not initialized")
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

    def _create_kvstore(self, kvstore):
        """MXNet's _create_kvstore: no store for one device unless distributed; the store updates the
        weights unless MXNET_UPDATE_ON_KVSTORE=0 (dist_async always does)."""
        import os
        if kvstore is None:
            kv = None
        elif isinstance(kvstore, kvs.KVStore):
            kv = kvstore
        elif isinstance(kvstore, str):
            kv = None if len(self._contexts) == 1 and "dist" not in kvstore else kvs.create(kvstore)
        else:
            raise TypeError("Module: kvstore must be a str, a KVStore or None")
        if kv is None and len(self._contexts) > 1:
            raise ValueError("Module: %d contexts need a kvstore to sum their gradients" % len(self._contexts))
        self._update_on_kvstore = kv is not None and (
            os.environ.get("MXNET_UPDATE_ON_KVSTORE", "1") != "0" or "async" in kv.type)
        return kv

    def _initialize_kvstore(self):
        """Every parameter into the store (worker 0's values win for dist_*), then back into every
        context's weights, so all devices and workers start from the same values."""
        kv = self._kvstore
        names = [n for n in self.param_names if n not in self.fixed_param_names]
        for n in names:
            kv.init(n, self._arg_params[n])
        for i, n in enumerate(names):
            kv.pull(n, [ex.arg_dict[n] for ex in self._execs], priority=-i)
        for ex in self._execs:
            for n in names:
                ex.arg_dict[n].wait_to_read()
        self._params_dirty = True

    def save_optimizer_states(self, fname):
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname)
            return
        model._atomic_write(fname, self._updater.get_states())  # never torn: a resumed job loads it

    def load_optimizer_states(self, fname):
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
            return
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())

    # ---------------------------------------------------------------- computation
    def _load_inputs(self, names, arrays):
        def load(value, dst):
            if isinstance(value, nd.NDArray):
                value.copyto(dst)
            else:
                dst[:] = value
        if len(self._execs) == 1:  # every step of a one-context module: whole arrays, nothing to slice
            arg_dict = self._exec.arg_dict
            for name, value in zip(names, arrays or []):
                load(value, arg_dict[name])
            return
        slices = self._slices(self._data_shapes[0].shape[0])
        for name, value in zip(names, arrays or []):
            for ex, (begin, end) in zip(self._execs, slices):
                load(value[begin:end], ex.arg_dict[name])

    def forward(self, data_batch, is_train=None):
        if not self.binded or not self.params_initialized:
            raise RuntimeError("Module.forward: bind() and init_params() first")
        is_train = self.for_training if is_train is None else is_train
        shape = tuple(data_batch.data[0].shape)
        if shape != tuple(self._data_shapes[0].shape):
            data = [io.DataDesc(n, a.shape) for n, a in zip(self.data_names, data_batch.data)]
            labels = [io.DataDesc(n, a.shape) for n, a in zip(self.label_names, data_batch.label or [])]
            self.reshape(data, labels or [io.DataDesc(d.name, (shape[0],) + d.shape[1:]) for d in self._label_shapes])
        self._load_inputs(self.data_names, data_batch.data)
        if data_batch.label:
            self._load_inputs(self.label_names, data_batch.label)
        for ex in self._execs:
            ex.forward(is_train=is_train)

    def backward(self, out_grads=None):
        if not self.for_training:
            raise RuntimeError("Module.backward: the module was bound with for_training=False")
        if len(self._execs) == 1:
            self._exec.backward(out_grads)
            return
        slices = self._slices(self._data_shapes[0].shape[0])
        for ex, (b, e) in zip(self._execs, slices):
            ex.backward([g[b:e] for g in _as_list(out_grads)] if out_grads is not None else None)

    def forward_backward(self, data_batch):
        self.forward(data_batch, is_train=True)
        self.backward()

    def update(self):
        if not self.optimizer_initialized:
            raise RuntimeError("Module.update: call init_optimizer() first")
        self._params_dirty = True
        # The updater gets every parameter in one call, so an optimizer with aggregate_num > 1
        # (SGD) updates them with a few multi-tensor ops instead of one op per parameter.
        idx, grads_all, weights_all = [], [], []
        if self._kvstore is None:
            for i, name in enumerate(self.param_names):
                grad = self._exec.grad_dict.get(name)
                if grad is not None and name not in self.fixed_param_names:
                    idx.append(i)
                    grads_all.append(grad)
                    weights_all.append(self._exec.arg_dict[name])
            if idx:
                self._updater(idx, grads_all, weights_all)
            return
        # Last layers first: backward produces their gradients first, so their communication
        # starts while the earlier layers still compute (priority = -index, as MXNet).
        ndev = len(self._execs)
        for i in reversed(range(len(self.param_names))):
            name = self.param_names[i]
            if name in self.fixed_param_names or self._exec.grad_dict.get(name) is None:
                continue
            grads = [ex.grad_dict[name] for ex in self._execs]
            weights = [ex.arg_dict[name] for ex in self._execs]
            if self._update_on_kvstore:
                self._kvstore.push(name, grads, priority=-i)
                self._kvstore.pull(name, weights, priority=-i)
            else:
                self._kvstore.push(name, grads, priority=-i)
                self._kvstore.pull(name, grads, priority=-i)
                for k in range(ndev):
                    idx.append(i * ndev + k)
                    grads_all.append(grads[k])
                    weights_all.append(weights[k])
        if idx:  # update_on_kvstore=False: after every pull (the engine orders each read after its pull)
            self._updater(idx, grads_all, weights_all)

    def get_outputs(self, merge_multi_context=True):
        """Outputs of the last forward: merged along the batch axis over the contexts, or (with
        merge_multi_context=False) one list per output holding each context's part."""
        if len(self._execs) == 1:
            outs = list(self._exec.outputs)
            return outs if merge_multi_context else [[o] for o in outs]
        per_output = list(zip(*[ex.outputs for ex in self._execs]))
        if not merge_multi_context:
            return [list(parts) for parts in per_output]
        return [nd.concat(*[p.copyto(self.context) for p in parts], dim=0) for parts in per_output]

    def get_input_grads(self, merge_multi_context=True):
        if not self.inputs_need_grad:
            raise RuntimeError("Module.get_input_grads: bind with inputs_need_grad=True")
        if len(self._execs) == 1:
            return [self._exec.grad_dict[n] for n in self.data_names]
        grads = [[ex.grad_dict[n] for ex in self._execs] for n in self.data_names]
        if not merge_multi_context:
            return grads
        return [nd.concat(*[g.copyto(self.context) for g in parts], dim=0) for parts in grads]

    def update_metric(self, eval_metric, labels, pre_sliced=False, pad=0):
        """Updates eval_metric with the outputs of the last forward; the last `pad` samples (an
        iterator's padding) are left out."""
        outputs = self.get_outputs()
        if pad:
            labels = [lab[0:lab.shape[0] - pad] for lab in labels]
            outputs = [out[0:out.shape[0] - pad] for out in outputs]
        eval_metric.update(labels, outputs[:len(labels)] if len(outputs) > len(labels) else outputs)

    # ---------------------------------------------------------------- loops
    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None, batch_end_callback=None,
            kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=None, arg_params=None, aux_params=None, allow_missing=False,
            force_rebind=False, force_init=False, begin_epoch=0, num_epoch=None, validation_metric=None,
            monitor=None):
        if num_epoch is None:
            raise ValueError("Module.fit: num_epoch is required")
        self.bind(train_data.provide_data, train_data.provide_label, for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer if initializer is not None else init_mod.Uniform(0.01), arg_params, aux_params,
                         allow_missing, force_init)
        self.init_optimizer(kvstore, optimizer, optimizer_params)
        validation_metric = validation_metric if validation_metric is not None else eval_metric
        eval_metric = metric_mod.create(eval_metric)
        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            batches = iter(train_data)
            next_batch = next(batches, None)
            while next_batch is not None:
                batch = next_batch
                if monitor is not None:
                    monitor.tic()
                self.forward_backward(batch)
                self.update()
                next_batch = next(batches, None)  # read ahead while the engine computes
                self.update_metric(eval_metric, batch.label, pad=batch.pad)
                if monitor is not None:
                    monitor.toc_print()
                if batch_end_callback is not None:
                    params = model.BatchEndParam(epoch, nbatch, eval_metric, locals())
                    for cb in _as_list(batch_end_callback):
                        cb(params)
                nbatch += 1
            # The whole epoch's figure, also when a Speedometer(auto_reset) cleared the local one.
            for name, value in eval_metric.get_global_name_value():
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, value)
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
            arg_params_now, aux_params_now = self.get_params()
            if epoch_end_callback is not None:
                for cb in _as_list(epoch_end_callback):
                    cb(epoch, self.symbol, arg_params_now, aux_params_now)
            if eval_data is not None:
                res = self.score(eval_data, validation_metric, score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, value in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, value)
            train_data.reset()

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None, score_end_callback=None,
              reset=True, epoch=0):
        """[(name, value)] of eval_metric over eval_data (padding left out)."""
        eval_metric = metric_mod.create(eval_metric)
        if reset:
            eval_data.reset()
        eval_metric.reset()
        nbatch = 0
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(batch, is_train=False)
            self.update_metric(eval_metric, batch.label, pad=batch.pad)
            if batch_end_callback is not None:
                for cb in _as_list(batch_end_callback):
                    cb(model.BatchEndParam(epoch, nbatch, eval_metric, locals()))
        if score_end_callback is not None:
            for cb in _as_list(score_end_callback):
                cb(model.BatchEndParam(epoch, nbatch, eval_metric, locals()))
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True):
        if reset:
            eval_data.reset()
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(batch, is_train=False)
            outputs = [out[0:out.shape[0] - batch.pad] for out in self.get_outputs()]
            yield outputs, nbatch, batch

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True, always_output_list=False):
        """Outputs over eval_data (an iterator, or arrays batched at the bound batch size), padding
        removed; merged along axis 0 unless merge_batches=False."""
        if isinstance(eval_data, (nd.NDArray, np.ndarray)):
            eval_data = io.NDArrayIter(eval_data, batch_size=self._data_shapes[0].shape[0])
        per_batch = [[o.copy() for o in outs] for outs, _, _ in self.iter_predict(eval_data, num_batch, reset)]
        if not merge_batches:
            return per_batch
        if not per_batch:
            return []
        merged = [nd.concat(*[b[i] for b in per_batch], dim=0) if len(per_batch) > 1 else per_batch[0][i]
                  for i in range(len(per_batch[0]))]
        return merged[0] if len(merged) == 1 and not always_output_list else merged

    # ---------------------------------------------------------------- checkpoints
    def save_params(self, fname):
        arg_params, aux_params = self.get_params()
        params = {"arg:%s" % k: v for k, v in arg_params.items()}
        params.update({"aux:%s" % k: v for k, v in aux_params.items()})
        nd.save(fname, params)

    def load_params(self, fname):
        saved = nd.load(fname)
        args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
        auxs = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
        self.set_params(args, auxs)

    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False):
        # Each file is replaced atomically; the params go last, so once prefix-N.params exists the
        # whole checkpoint N does (what a resumed job looks for).
        self.symbol.save("%s-symbol.json" % prefix)
        if save_optimizer_states:
            self.save_optimizer_states("%s-%04d.states" % (prefix, epoch))
        name = "%s-%04d.params" % (prefix, epoch)
        self.save_params(name)
        self.logger.info('Saved checkpoint to "%s"', name)

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module over prefix-symbol.json with the parameters of prefix-%04d.params, applied at bind."""
        symbol, args, auxs = model.load_checkpoint(prefix, epoch)
        mod = Module(symbol=symbol, **kwargs)
        mod._arg_params, mod._aux_params = args, auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod

from .bucketing_module import BucketingModule  # noqa: E402,F401
from .sequential_module import SequentialModule  # noqa: E402,F401
