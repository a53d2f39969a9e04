"""mx.mod.BucketingModule: one Module per bucket key (e.g. a sequence length), all sharing one set
of parameters, as MXNet 1.9.1's python/mxnet/module/bucketing_module.py.

sym_gen(bucket_key) -> (symbol, data_names, label_names) builds each bucket's graph. The default
bucket is bound first and owns the parameter, gradient and auxiliary arrays; every other bucket's
executor is bound over those same NDArrays (only its data / label arrays are its own), and borrows
the default bucket's optimizer and updater, so training any bucket trains the one parameter set."""
import logging

from . import model
from .context import cpu
from .module import Module


class BucketingModule:
    def __init__(self, sym_gen, default_bucket_key=None, logger=logging, context=None, work_load_list=None,
                 fixed_param_names=None, state_names=None, group2ctxs=None, compression_params=None):
        if default_bucket_key is None:
            raise ValueError("BucketingModule: default_bucket_key is required")
        if not callable(sym_gen):
            raise TypeError("BucketingModule: sym_gen must be callable, got %r" % (sym_gen,))
        self._sym_gen = sym_gen
        self._default_bucket_key = default_bucket_key
        self.logger = logger
        self._context = context if context is not None else cpu()
        self._work_load_list = work_load_list
        self._fixed_param_names = fixed_param_names
        self._state_names = state_names
        symbol, data_names, label_names = self._call_sym_gen(default_bucket_key)
        self._default_symbol = symbol
        self._data_names = list(data_names or [])
        self._label_names = list(label_names or [])
        self._output_names = symbol.list_outputs()
        self._buckets = {}
        self._curr_module = None
        self._curr_bucket_key = None
        self._params_dirty = False
        self._arg_params = self._aux_params = None  # loaded by load(), applied at bind
        self.binded = self.for_training = self.inputs_need_grad = False
        self.params_initialized = self.optimizer_initialized = False
        self._grad_req = "write"
        self._monitor = None  # installed on every bucket's module, those bound later too

    def _call_sym_gen(self, bucket_key):
        out = self._sym_gen(bucket_key)
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise ValueError("BucketingModule: sym_gen(%r) must return (symbol, data_names, label_names)"
                             % (bucket_key,))
        return out

    def _new_module(self, bucket_key):
        symbol, data_names, label_names = self._call_sym_gen(bucket_key)
        return Module(symbol, data_names, label_names, logger=self.logger, context=self._context,
                      work_load_list=self._work_load_list, fixed_param_names=self._fixed_param_names,
                      state_names=self._state_names)

    def _reset_bind(self):
        if self._monitor is not None:  # the dropped buckets' executors leave the monitor
            gone = [e for m in self._buckets.values() for e in m._monitored_execs]
            self._monitor.exes = [e for e in self._monitor.exes if all(e is not g for g in gone)]
        self.binded = False
        self._buckets = {}
        self._curr_module = self._curr_bucket_key = None

    # ---------------------------------------------------------------- properties
    @property
    def default_bucket_key(self):
        return self._default_bucket_key

    @property
    def data_names(self):
        return self._curr_module.data_names if self.binded else self._data_names

    @property
    def output_names(self):
        return self._curr_module.output_names if self.binded else self._output_names

    @property
    def symbol(self):
        """The current bucket's symbol."""
        if not self.binded:
            raise RuntimeError("BucketingModule.symbol: call bind() first")
        return self._curr_module.symbol

    @property
    def data_shapes(self):
        if not self.binded:
            raise RuntimeError("BucketingModule.data_shapes: call bind() first")
        return self._curr_module.data_shapes

    @property
    def label_shapes(self):
        if not self.binded:
            raise RuntimeError("BucketingModule.label_shapes: call bind() first")
        return self._curr_module.label_shapes

    @property
    def output_shapes(self):
        if not self.binded:
            raise RuntimeError("BucketingModule.output_shapes: call bind() first")
        return self._curr_module.output_shapes

    # ---------------------------------------------------------------- parameters
    def get_params(self):
        if not self.params_initialized:
            raise RuntimeError("BucketingModule.get_params: parameters are not initialised")
        # Every bucket's executor holds the same arrays: sync the host copies from the current one.
        self._curr_module._params_dirty = self._curr_module._params_dirty or self._params_dirty
        params = self._curr_module.get_params()
        self._params_dirty = False
        return params

    def init_params(self, initializer=None, arg_params=None, aux_params=None, allow_missing=False, force_init=False,
                    allow_extra=False):
        if self.params_initialized and not force_init:
            return
        if not self.binded:
            raise RuntimeError("BucketingModule.init_params: call bind() first")
        # The default bucket's executor arrays are every bucket's, so initialising it covers all.
        default = self._buckets[self._default_bucket_key]
        default.init_params(initializer, arg_params, aux_params, allow_missing, force_init, allow_extra)
        for module in self._buckets.values():
            module._arg_params, module._aux_params = default._arg_params, default._aux_params
            module.params_initialized = True
            module._params_dirty = False
        self._params_dirty = False
        self.params_initialized = True

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        self.init_params(None, arg_params, aux_params, allow_missing, force_init, allow_extra)

    # ---------------------------------------------------------------- binding
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        if self.params_initialized and self._arg_params is None:
            arg_params, aux_params = self.get_params()  # keep trained values over a rebind
        else:
            arg_params, aux_params = self._arg_params, self._aux_params
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("BucketingModule: already bound, ignoring bind()")
            return
        if shared_module is not None:
            raise ValueError("BucketingModule.bind: shared_module is not supported (got %r)" % (shared_module,))
        self.for_training, self.inputs_need_grad, self._grad_req = for_training, inputs_need_grad, grad_req
        self.binded = True
        module = self._new_module(self._default_bucket_key)
        module.bind(data_shapes, label_shapes, for_training, inputs_need_grad, grad_req=grad_req)
        self._curr_module = module
        self._curr_bucket_key = self._default_bucket_key
        self._buckets[self._default_bucket_key] = module
        if self._monitor is not None:
            module.install_monitor(self._monitor)
        if self.params_initialized:  # bound again, or loaded by load(): restore the values
            self.params_initialized = False
            self.init_params(None, arg_params, aux_params, force_init=True)
            self._arg_params = self._aux_params = None

    def switch_bucket(self, bucket_key, data_shapes, label_shapes=None):
        """Makes bucket_key's module current, binding it over the default bucket's parameters the
        first time the key is seen."""
        if not self.binded:
            raise RuntimeError("BucketingModule.switch_bucket: call bind() first")
        if bucket_key not in self._buckets:
            module = self._new_module(bucket_key)
            module.bind(data_shapes, label_shapes, self.for_training, self.inputs_need_grad, force_rebind=True,
                        shared_module=self._buckets[self._default_bucket_key], grad_req=self._grad_req)
            if self.optimizer_initialized:
                module.borrow_optimizer(self._buckets[self._default_bucket_key])
            if self._monitor is not None:
                module.install_monitor(self._monitor)
            self._buckets[bucket_key] = module
        self._curr_module = self._buckets[bucket_key]
        self._curr_bucket_key = bucket_key

    def install_monitor(self, mon):
        """Installs mx.monitor.Monitor mon on every bucket's module, current and future."""
        if not self.binded:
            raise RuntimeError("BucketingModule.install_monitor: call bind() first")
        self._monitor = mon
        for module in self._buckets.values():
            module.install_monitor(mon)

    # ---------------------------------------------------------------- optimizer
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),),
                       force_init=False):
        if self.optimizer_initialized and not force_init:
            self.logger.warning("BucketingModule: optimizer already initialised, ignoring")
            return
        if not self.params_initialized:
            raise RuntimeError("BucketingModule.init_optimizer: call init_params() first")
        default = self._buckets[self._default_bucket_key]
        default.init_optimizer(kvstore, optimizer, optimizer_params, force_init=force_init)
        for key, module in self._buckets.items():
            if key != self._default_bucket_key:
                module.borrow_optimizer(default)
        self.optimizer_initialized = True

    def save_optimizer_states(self, fname):
        self._buckets[self._default_bucket_key].save_optimizer_states(fname)

    def load_optimizer_states(self, fname):
        self._buckets[self._default_bucket_key].load_optimizer_states(fname)

    # ---------------------------------------------------------------- computation
    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Binds data_batch's bucket ahead of time; the current bucket stays current."""
        key = self._curr_bucket_key
        self.switch_bucket(getattr(data_batch, "bucket_key", None) or self._default_bucket_key,
                           data_batch.provide_data, data_batch.provide_label)
        self.switch_bucket(key, None, None)

    def forward(self, data_batch, is_train=None):
        if not self.binded or not self.params_initialized:
            raise RuntimeError("BucketingModule.forward: bind() and init_params() first")
        key = getattr(data_batch, "bucket_key", None)
        key = self._default_bucket_key if key is None else key
        data_shapes = data_batch.provide_data
        if data_shapes is None and key not in self._buckets:
            raise ValueError("BucketingModule.forward: a batch of the new bucket %r needs provide_data" % (key,))
        self.switch_bucket(key, data_shapes, data_batch.provide_label)
        self._curr_module.forward(data_batch, is_train=is_train)

    def backward(self, out_grads=None):
        self._curr_module.backward(out_grads)

    def forward_backward(self, data_batch):
        self.forward(data_batch, is_train=True)
        self.backward()

    def update(self):
        if not self.optimizer_initialized:
            raise RuntimeError("BucketingModule.update: call init_optimizer() first")
        self._params_dirty = True
        self._curr_module.update()

    def get_outputs(self, merge_multi_context=True):
        return self._curr_module.get_outputs(merge_multi_context)

    def get_states(self, merge_multi_context=True):
        return self._curr_module.get_states(merge_multi_context)

    def set_states(self, states=None, value=None):
        self._curr_module.set_states(states, value)

    def get_input_grads(self, merge_multi_context=True):
        return self._curr_module.get_input_grads(merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False, pad=0):
        self._curr_module.update_metric(eval_metric, labels, pre_sliced, pad)

    # The training / evaluation loops only use the methods above, so Module's serve as they are.
    fit = Module.fit
    score = Module.score
    iter_predict = Module.iter_predict
    predict = Module.predict

    @property
    def _data_shapes(self):  # what Module.predict batches plain arrays by
        return self._curr_module.data_shapes

    # ---------------------------------------------------------------- checkpoints
    def save_checkpoint(self, prefix, epoch, remove_amp_cast=False, save_optimizer_states=False):
        """prefix-symbol.json (the default bucket's symbol) and prefix-%04d.params, as MXNet."""
        if not self.binded:
            raise RuntimeError("BucketingModule.save_checkpoint: call bind() first")
        self.get_params()  # host copies up to date
        self._buckets[self._default_bucket_key].save_checkpoint(prefix, epoch, save_optimizer_states)

    @staticmethod
    def load(prefix, epoch, sym_gen=None, default_bucket_key=None, **kwargs):
        """A BucketingModule with prefix-%04d.params' parameters, applied at bind()."""
        if sym_gen is None or default_bucket_key is None:
            raise ValueError("BucketingModule.load: sym_gen and default_bucket_key are required")
        _, args, auxs = model.load_checkpoint(prefix, epoch)
        mod = BucketingModule(sym_gen, default_bucket_key, **kwargs)
        mod._arg_params, mod._aux_params = args, auxs
        mod.params_initialized = True
        return mod
