'use strict';
// Ownership of C handles: every wrapper owns one handle and frees it on dispose(). A
// FinalizationRegistry is the backstop for wrappers dropped without dispose(): the garbage
// collector frees them eventually (memory of big arrays is better returned at once: dispose).
const { fns, call } = require('./ffi');

// The held value names the free function and the handle only: it must not reach the wrapper.
const registry = new FinalizationRegistry(({ free, handle }) => {
  fns[free](handle); // a finalizer cannot throw; every mx_*_free accepts any live handle
});

class Owned {
  /** Takes ownership of `handle`, to be released with C function `free` (mx_ndarray_free, …). */
  constructor(handle, free) {
    if (!handle) throw new TypeError(`${new.target.name}: null handle`);
    this._handle = handle;
    this._free = free;
    registry.register(this, { free, handle }, this);
  }

  /** The C handle; throws once disposed. */
  get handle() {
    if (this._handle === null) throw new Error(`${this.constructor.name} used after dispose()`);
    return this._handle;
  }

  get disposed() {
    return this._handle === null;
  }

  /** Releases the C handle now (idempotent). */
  dispose() {
    if (this._handle === null) return;
    registry.unregister(this);
    const handle = this._handle;
    this._handle = null;
    call(this._free, handle);
  }
}

// `using x = …` (explicit resource management) where the runtime has it.
if (typeof Symbol.dispose === 'symbol') {
  Owned.prototype[Symbol.dispose] = function dispose() {
    this.dispose();
  };
}

module.exports = { Owned };
