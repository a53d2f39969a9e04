"""gluon.Trainer, as in MXNet 1.9.1: applies an Optimizer to a set of Parameters.

    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1, 'momentum': 0.9})
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward()
    trainer.step(batch_size)          # rescale_grad = 1 / batch_size, then one update

With Parameters on several contexts the gradients are summed over the contexts through a KVStore
(kvstore='device' or 'local') and every context's copy of a weight receives the same update: either
inside the store (update_on_kvstore=True: push the gradients, pull the weights) or on each context
from the summed gradients (update_on_kvstore=False: pushpull the gradients, then one Updater per
context). With one context and a local store type no KVStore is made at all, as MXNet decides; a
'dist_*' store sums over worker processes too (step's batch_size is then the global batch)."""
import os
import pickle

import numpy as np

from .. import kvstore as kvs
from .. import optimizer as opt
from ..base import MXNetError
from ..ndarray import NDArray
from .parameter import Parameter
from .parameter_dict import ParameterDict


class StaleGradientError(MXNetError, UserWarning):
    """A Parameter's gradient was not written by backward since the last step. MXNet raises a
    UserWarning here; this is one (and an MXNetError), so either `except` catches it."""


def _create_kvstore(kvstore, num_device, arg_shapes):
    """MXNet's model._create_kvstore: (store or None, whether it should run the optimizer). No store
    for one device on one machine; MXNET_UPDATE_ON_KVSTORE=0 turns store-side updates off, and a
    'local' store with an array over 16 M elements updates on the devices."""
    update_on_kvstore = bool(int(os.environ.get("MXNET_UPDATE_ON_KVSTORE", "1")))
    if kvstore is None:
        kv = None
    elif isinstance(kvstore, kvs.KVStore):
        kv = kvstore
    elif isinstance(kvstore, str):
        if num_device == 1 and "dist" not in kvstore:
            kv = None
        else:
            kv = kvs.create(kvstore)
            if kvstore == "local" and arg_shapes and max(int(np.prod(s)) for s in arg_shapes) > 16 * 1024 * 1024:
                update_on_kvstore = False
    else:
        raise TypeError("Trainer: kvstore must be a KVStore, a str or None, got %s" % type(kvstore).__name__)
    return kv, (kv is not None and update_on_kvstore)


def _states_to_context(state, ctx):
    """An optimizer state (None, an NDArray or nested tuples / lists of them) copied to ctx."""
    if isinstance(state, NDArray):
        return state if state.context == ctx else state.as_in_context(ctx)
    if isinstance(state, (list, tuple)):
        return type(state)(_states_to_context(s, ctx) for s in state)
    return state


def _is_deferred(param):
    """Whether the Parameter waits for its first forward to learn its shape (deferred init)."""
    return bool(getattr(param, "_deferred_init", ()))


class Trainer:
    """Applies an Optimizer on a set of Parameters (MXNet 1.9.1's gluon.Trainer).

    Parameters
    ----------
    params : ParameterDict, dict of Parameters or list of Parameters
        The parameters to optimize (a dict is taken in sorted key order, as MXNet does).
    optimizer : str or Optimizer
        The optimizer's registered name ('sgd', 'adam', ...) or an instance.
    optimizer_params : dict
        Keyword arguments of the optimizer when given by name (learning_rate, wd, momentum, ...);
        must be empty for an instance.
    kvstore : str or KVStore, default 'device'
        How gradients of several contexts (or workers) are summed.
    compression_params : dict
        Gradient compression for the store, e.g. {'type': '2bit', 'threshold': 0.5}.
    update_on_kvstore : bool, default None
        Whether the store runs the optimizer; None lets the Trainer (and MXNET_UPDATE_ON_KVSTORE)
        choose.
    """

    def __init__(self, params, optimizer, optimizer_params=None, kvstore="device", compression_params=None,
                 update_on_kvstore=None):
        if isinstance(params, (dict, ParameterDict)):
            params = [params[key] for key in sorted(params.keys())]
        if not isinstance(params, (list, tuple)):
            raise ValueError("Trainer: first argument must be a list or dict of Parameters, got %s"
                             % type(params).__name__)
        self._params = []
        self._param2idx = {}
        for param in params:
            if not isinstance(param, Parameter):
                raise ValueError("Trainer: first argument must be a list or dict of Parameters, got a list "
                                 "holding %s" % type(param).__name__)
            if id(param) in self._param2idx:  # a shared Parameter is optimized once
                continue
            self._param2idx[id(param)] = len(self._params)
            self._params.append(param)
        self._compression_params = compression_params
        self._contexts = self._check_contexts()
        self._init_optimizer(optimizer, optimizer_params or {})
        self._scale = self._optimizer.rescale_grad
        if getattr(self._optimizer, "aggregate_num", 0) > 1:
            if update_on_kvstore:
                raise ValueError("Trainer: cannot set update_on_kvstore=True when optimizer.aggregate_num > 1")
            update_on_kvstore = False
        self._kvstore_params = {"kvstore": kvstore, "update_on_kvstore": update_on_kvstore}
        for param in self._params:  # once every argument is known good: a refused Trainer claims nothing
            if hasattr(param, "_set_trainer"):
                param._set_trainer(self)
        self._kvstore = None
        self._reset_kvstore()
        kv_type = kvstore.type if isinstance(kvstore, kvs.KVStore) else kvstore
        if isinstance(kv_type, str) and "dist" in kv_type:
            # Now rather than at the first step (MXNet waits): every worker's first forward then
            # already sees worker 0's initial values.
            self._prepare(for_update=False)

    def _check_contexts(self):
        contexts = None
        for param in self._params:
            try:
                ctx = param.list_ctx()
            except (RuntimeError, MXNetError) as e:
                raise MXNetError("Trainer: Parameter '%s' has not been initialized: call initialize() on it "
                                 "(or on the Block) before creating the Trainer (%s)" % (param.name, e)) from e
            if contexts is not None and list(contexts) != list(ctx):
                raise ValueError("Trainer: all Parameters must be initialized on the same contexts, but "
                                 "Parameter '%s' is on %s while the ones before it are on %s"
                                 % (param.name, list(ctx), list(contexts)))
            contexts = ctx
        return list(contexts) if contexts is not None else []

    def _init_optimizer(self, optimizer, optimizer_params):
        # param_dict is shared, not copied: a later change of a Parameter's lr_mult / wd_mult applies.
        param_dict = {i: param for i, param in enumerate(self._params)}
        if isinstance(optimizer, opt.Optimizer):
            if optimizer_params:
                raise ValueError("Trainer: optimizer_params must be empty when optimizer is an Optimizer "
                                 "instance, got %s" % sorted(optimizer_params))
            self._optimizer = optimizer
            self._optimizer.param_dict = param_dict
        elif isinstance(optimizer, str):
            self._optimizer = opt.create(optimizer, param_dict=param_dict, **optimizer_params)
        else:
            raise TypeError("Trainer: optimizer must be a str or an Optimizer, got %s" % type(optimizer).__name__)
        self._updaters = [opt.get_updater(self._optimizer) for _ in self._contexts]

    # ------------------------------------------------------------------ kvstore
    def _reset_kvstore(self):
        if self._kvstore is not None and "dist" in self._kvstore.type:
            raise MXNetError("Trainer: a distributed KVStore cannot be reset")
        self._kv_initialized = False
        self._kv_has_optimizer = False
        self._kvstore = None
        self._distributed = None
        self._update_on_kvstore = None
        self._params_to_init = list(self._params)

    def _init_kvstore(self):
        config = self._kvstore_params
        shapes = [p.shape for p in self._params if p.shape is not None and all(d > 0 for d in p.shape)]
        kvstore, update_on_kvstore = _create_kvstore(config["kvstore"], len(self._contexts), shapes)
        if kvstore is not None:
            if self._compression_params:
                kvstore.set_gradient_compression(self._compression_params)
            self._distributed = "dist" in kvstore.type
            if config["update_on_kvstore"] is not None:
                update_on_kvstore = bool(config["update_on_kvstore"])
            if "async" in kvstore.type:
                if config["update_on_kvstore"] is False:
                    raise ValueError("Trainer: update_on_kvstore=False is not supported with %s: the servers "
                                     "apply the updates" % kvstore.type)
                update_on_kvstore = True
            self._kvstore = kvstore
            self._update_on_kvstore = update_on_kvstore
        else:  # (update_on_kvstore=True without a store is ignored, as MXNet does: nothing to sum)
            self._distributed = False
            self._kvstore = None
            self._update_on_kvstore = None
        self._kv_initialized = True

    def _init_params(self):
        """Puts each (initialized) Parameter into the store and broadcasts the stored value to every
        context (for dist_*: worker 0's values win). Deferred Parameters wait for a later step."""
        waiting = []
        for param in self._params_to_init:
            if _is_deferred(param):
                waiting.append(param)
            elif self._kvstore is not None:
                arrays = param.list_data()
                idx = self._param2idx[id(param)]
                self._kvstore.broadcast(idx, arrays[0], arrays)
        self._params_to_init = waiting

    def _prepare(self, for_update=True):
        if not self._kv_initialized:
            self._init_kvstore()
        if self._params_to_init:
            self._init_params()
        if for_update and self._update_on_kvstore and not self._kv_has_optimizer:
            # At the first step, not before: a dist_async store sends the optimizer (with the
            # rescale_grad of that step) to its servers.
            self._kvstore.set_optimizer(self._optimizer)
            self._kv_has_optimizer = True

    # ------------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        return self._optimizer.learning_rate

    @property
    def optimizer(self):
        return self._optimizer

    def set_learning_rate(self, lr):
        """Sets the optimizer's learning rate (an error when it has an lr_scheduler)."""
        self._optimizer.set_learning_rate(lr)

    # ------------------------------------------------------------------ steps
    def _check_and_rescale_grad(self, scale):
        # Only dist_async's servers hold a copy of the optimizer; every other store shares this one.
        if self._kv_has_optimizer and "async" in self._kvstore.type and self._optimizer.rescale_grad != scale:
            raise UserWarning("Trainer: batch_size changed since the first step; the %s servers' optimizer "
                              "keeps the first step's rescale_grad" % self._kvstore.type)
        self._optimizer.rescale_grad = scale

    def step(self, batch_size, ignore_stale_grad=False):
        """One optimization step: gradients are scaled by 1 / batch_size, summed over the contexts
        (and workers), then applied. Call it after backward, outside autograd.record().

        ignore_stale_grad: skip Parameters whose gradient backward did not write since the last step
        instead of raising an error that names them."""
        if not isinstance(batch_size, (int, float, np.integer, np.floating)) or batch_size <= 0:
            raise ValueError("Trainer.step: batch_size must be a positive number, got %r" % (batch_size,))
        rescale_grad = self._scale / batch_size
        self._check_and_rescale_grad(rescale_grad)
        self._prepare()
        if not ignore_stale_grad:
            self._check_stale_grads()
        self._allreduce_grads()
        self._update(ignore_stale_grad)

    def allreduce_grads(self):
        """Sums the gradients over the contexts (and workers) in place, for a later update();
        only with update_on_kvstore=False (e.g. to clip the summed gradients in between)."""
        self._prepare()
        if self._kvstore is not None and self._update_on_kvstore:
            raise MXNetError("Trainer.allreduce_grads: not supported while the parameters are updated on the "
                             "kvstore; create the Trainer with update_on_kvstore=False")
        self._allreduce_grads()

    def update(self, batch_size, ignore_stale_grad=False):
        """The update half of step() (after allreduce_grads()), gradients scaled by 1 / batch_size."""
        self._prepare()
        if self._kvstore is not None and self._update_on_kvstore:
            raise MXNetError("Trainer.update: not supported while the parameters are updated on the kvstore; "
                             "create the Trainer with update_on_kvstore=False")
        self._check_and_rescale_grad(self._scale / batch_size)
        if not ignore_stale_grad:
            self._check_stale_grads()
        self._update(ignore_stale_grad)

    def _allreduce_grads(self):
        if self._kvstore is None:
            return
        for i, param in enumerate(self._params):
            if param.grad_req == "null" or _is_deferred(param):
                continue
            idx = self._param2idx[id(param)]
            grads = param.list_grad()
            # Later layers first: their gradients are ready first (priority = -index, as MXNet).
            if self._update_on_kvstore:
                self._kvstore.pushpull(idx, grads, out=param.list_data(), priority=-i)
            else:
                self._kvstore.pushpull(idx, grads, priority=-i)

    def _check_stale_grads(self):
        """Raises, naming the Parameter and context, when backward did not write a gradient since the
        last step; checked before anything is summed or updated, so a failed step changes nothing."""
        for param in self._params:
            if param.grad_req == "null":
                continue
            if _is_deferred(param):
                raise StaleGradientError("Trainer.step: Parameter '%s' has not been initialized yet (deferred "
                                         "init waits for a forward pass with data)" % param.name)
            for data in param.list_data():
                if not data._fresh_grad:
                    raise StaleGradientError(
                        "Gradient of Parameter '%s' on context %s has not been updated by backward since the "
                        "last step. This could mean a bug in your model that made it only use a subset of the "
                        "Parameters (Blocks) for this iteration. If you are intentionally only using a subset, "
                        "call step with ignore_stale_grad=True to suppress this error and skip updating of "
                        "Parameters with stale gradient" % (param.name, data.context))

    def _update(self, ignore_stale_grad=False):
        on_kvstore = self._kvstore is not None and self._update_on_kvstore
        updates = [[] for _ in self._updaters]
        for i, param in enumerate(self._params):
            if param.grad_req == "null" or _is_deferred(param):
                continue
            for upd, arr, grad in zip(updates, param.list_data(), param.list_grad()):
                if not ignore_stale_grad or arr._fresh_grad:
                    if not on_kvstore:
                        upd.append((i, grad, arr))
                    arr._fresh_grad = False
        if on_kvstore:
            return
        for k, (updater, upd) in enumerate(zip(self._updaters, updates)):
            if upd:
                idx, grads, arrs = zip(*upd)
                self._set_current_context(k)
                updater(list(idx), list(grads), list(arrs))

    def _set_current_context(self, k):
        """Gives the shared optimizer context k's update counts (MXNet's Optimizer._set_current_context):
        every context updates each index once per step, so one shared count would advance n times
        and Adam's bias correction would differ between the contexts' copies."""
        opt_ = self._optimizer
        if hasattr(opt_, "_set_current_context"):
            opt_._set_current_context(k)
            return
        if getattr(self, "_context_update_counts", None) is None:  # first step, or states just loaded
            self._context_update_counts = [dict(opt_._index_update_count) for _ in self._contexts]
        opt_._index_update_count = self._context_update_counts[k]

    # ------------------------------------------------------------------ states
    def save_states(self, fname):
        """Saves the optimizer (with its hyper-parameters and update counts) and its states to fname."""
        self._prepare()
        if self._update_on_kvstore:
            if self._params_to_init:
                raise MXNetError("Trainer.save_states: Parameters %s are not initialized in the kvstore yet"
                                 % [p.name for p in self._params_to_init])
            self._kvstore.save_optimizer_states(fname, dump_optimizer=True)
        else:
            from ..model import _atomic_write
            _atomic_write(fname, self._updaters[0].get_states(dump_optimizer=True))

    def load_states(self, fname):
        """Loads what save_states wrote; training continues as if it had not stopped."""
        if not os.path.isfile(fname):
            raise MXNetError("Trainer.load_states: %s is not a file" % fname)
        self._prepare()
        try:
            if self._update_on_kvstore:
                self._kvstore.load_optimizer_states(fname)
                self._optimizer = self._kvstore._updater.optimizer
            else:
                with open(fname, "rb") as f:
                    states = f.read()
                for updater, ctx in zip(self._updaters, self._contexts):
                    updater.set_states(states)
                    updater.optimizer = self._updaters[0].optimizer
                    # every context's states were saved from the first one's: move them home
                    updater.states = {k: _states_to_context(s, ctx) for k, s in updater.states.items()}
                self._optimizer = self._updaters[0].optimizer
                self._context_update_counts = None
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError,
                IndexError) as e:
            raise MXNetError("Trainer.load_states: %s does not hold trainer states (%s: %s)"
                             % (fname, type(e).__name__, e)) from e
        self._optimizer.param_dict = {i: param for i, param in enumerate(self._params)}
