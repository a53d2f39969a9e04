'use strict';
// Predictor: a trained checkpoint (-symbol.json + .params) bound for inference, as MXNet's
// c_predict_api does it: simple_bind with the input shapes and no gradients, parameters copied
// into the bound arguments, then forward(is_train = 0) per batch.
const { call, decodeArray } = require('./ffi');
const { Owned } = require('./handle');
const { NDArray } = require('./ndarray');
const { Symbol: MxSymbol } = require('./symbol'); // not to hide the global Symbol
const { parseDevice } = require('./device');

const ARGS = 1; // MX_EXECUTOR_ARGS
const OUTPUTS = 0; // MX_EXECUTOR_OUTPUTS
const AUX = 3; // MX_EXECUTOR_AUX
const GRAD_NULL = 0;

// Shapes by name in the (keys, ndims, dims) form of mx_executor_simple_bind / reshape.
function packShapes(shapes) {
  const keys = Object.keys(shapes);
  const ndims = Uint32Array.from(keys, (k) => shapes[k].length);
  const dims = BigInt64Array.from(keys.flatMap((k) => shapes[k]), BigInt);
  return [keys.length, keys, ndims, dims.length ? dims : null];
}

const shapeKey = (shapes) => JSON.stringify(Object.entries(shapes).sort());

class Executor extends Owned {
  constructor(handle, argNames, auxNames) {
    super(handle, 'mx_executor_free');
    this.args = this.arrays(ARGS, argNames);
    this.aux = this.arrays(AUX, auxNames);
  }

  static simpleBind(symbol, device, shapes) {
    const out = [null];
    call('mx_executor_simple_bind', symbol.handle, device.type, device.id, ...packShapes(shapes), 0, null, null,
      GRAD_NULL, 0, null, null, out);
    return new Executor(out[0], symbol.listArguments(), symbol.listAuxiliaryStates());
  }

  reshape(shapes, argNames, auxNames) {
    const out = [null];
    call('mx_executor_reshape', this.handle, ...packShapes(shapes), 1, out);
    return new Executor(out[0], argNames, auxNames);
  }

  // The executor's arrays of one kind, by name (new handles this object owns).
  arrays(which, names) {
    const num = [0];
    const out = [null];
    call('mx_executor_arrays', this.handle, which, num, out);
    const handles = decodeArray(out[0], 'void *', num[0]);
    return Object.fromEntries(names.map((n, i) => [n, new NDArray(handles[i])]));
  }

  outputs() {
    const num = [0];
    const out = [null];
    call('mx_executor_arrays', this.handle, OUTPUTS, num, out);
    return decodeArray(out[0], 'void *', num[0]).map((h) => new NDArray(h));
  }

  forward() {
    call('mx_executor_forward', this.handle, 0);
  }

  dispose() {
    for (const a of [...Object.values(this.args ?? {}), ...Object.values(this.aux ?? {})]) a.dispose();
    super.dispose();
  }
}

// Checkpoint params ("arg:fc1_weight", "aux:bn_moving_mean", or bare names) split by kind.
function splitParams(params, auxNames) {
  const args = {};
  const aux = {};
  for (const [key, value] of Object.entries(params)) {
    if (key.startsWith('arg:')) args[key.slice(4)] = value;
    else if (key.startsWith('aux:')) aux[key.slice(4)] = value;
    else (auxNames.includes(key) ? aux : args)[key] = value;
  }
  return { args, aux };
}

class Predictor {
  /**
   * symbol: a Symbol or the path of a -symbol.json; params: the path of a .params file or an object
   * of NDArrays by name; inputShapes: { data: [batch, 1, 28, 28] }. Every argument that is not an
   * input needs a parameter, except labels (names ending in "label", as softmax_label), which
   * inference never reads.
   */
  constructor(symbol, params, inputShapes, { device = 'cpu' } = {}) {
    this._ownSymbol = !(symbol instanceof MxSymbol);
    this.symbol = this._ownSymbol ? MxSymbol.load(symbol) : symbol;
    this.device = parseDevice(device);
    this.inputNames = Object.keys(inputShapes);
    this.outputNames = this.symbol.listOutputs();
    this._argNames = this.symbol.listArguments();
    this._auxNames = this.symbol.listAuxiliaryStates();
    this._executors = new Map();
    const exec = Executor.simpleBind(this.symbol, this.device, inputShapes);
    this._executors.set(shapeKey(inputShapes), exec);
    this._shapes = { ...inputShapes };
    try {
      this._setParams(exec, typeof params === 'string' ? NDArray.load(params) : params, typeof params === 'string');
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** The checkpoint `${prefix}-symbol.json` + `${prefix}-${epoch as %04d}.params`. */
  static load(prefix, epoch, inputShapes, options) {
    const params = `${prefix}-${String(epoch).padStart(4, '0')}.params`;
    return new Predictor(`${prefix}-symbol.json`, params, inputShapes, options);
  }

  _setParams(exec, params, ownParams) {
    try {
      const { args, aux } = splitParams(params, this._auxNames);
      const missing = [];
      for (const [names, given, bound] of [[this._argNames, args, exec.args], [this._auxNames, aux, exec.aux]]) {
        for (const name of names) {
          if (given[name]) given[name].copyTo(bound[name]);
          else if (!this.inputNames.includes(name) && !name.endsWith('label')) missing.push(name);
        }
      }
      if (missing.length) throw new Error(`Predictor: no parameter for ${missing.join(', ')}`);
    } finally {
      if (ownParams) for (const a of Object.values(params)) a.dispose();
    }
  }

  // The executor for these input shapes: the bound one, or a reshaped one sharing its memory
  // and parameters (made once per shape).
  _executorFor(shapes) {
    const key = shapeKey(shapes);
    let exec = this._executors.get(key);
    if (!exec) {
      exec = this._executors.values().next().value.reshape(shapes, this._argNames, this._auxNames);
      this._executors.set(key, exec);
    }
    return exec;
  }

  /**
   * Runs the model on one batch. inputs: an NDArray or typed array when there is one input, else an
   * object of them by input name. A typed array takes the bound shape with the batch size its
   * length implies; a batch size other than the bound one reshapes the executor. Returns the
   * output NDArray (or an array, for several outputs): new arrays the caller owns.
   */
  predict(inputs) {
    const byName = ArrayBuffer.isView(inputs) || inputs instanceof NDArray ? { [this.inputNames[0]]: inputs } : inputs;
    const shapes = {};
    for (const name of this.inputNames) {
      const value = byName[name];
      if (value === undefined) throw new Error(`Predictor.predict: input '${name}' is missing`);
      const bound = this._shapes[name];
      if (value instanceof NDArray) {
        shapes[name] = value.shape;
      } else {
        const perSample = bound.slice(1).reduce((a, b) => a * b, 1);
        if (value.length % perSample) {
          throw new RangeError(`Predictor.predict: ${value.length} values for '${name}' are not whole samples ` +
            `of shape [${bound.slice(1)}]`);
        }
        shapes[name] = [value.length / perSample, ...bound.slice(1)];
      }
    }
    const exec = this._executorFor(shapes);
    for (const name of this.inputNames) {
      const value = byName[name];
      if (value instanceof NDArray) value.copyTo(exec.args[name]);
      else exec.args[name].copyFrom(value);
    }
    exec.forward();
    const results = exec.outputs().map((view) => {
      const copy = view.copy(); // the executor overwrites its outputs on the next forward
      view.dispose();
      return copy;
    });
    return results.length === 1 ? results[0] : results;
  }

  dispose() {
    for (const exec of this._executors.values()) exec.dispose();
    this._executors.clear();
    if (this._ownSymbol && this.symbol && !this.symbol.disposed) this.symbol.dispose();
  }
}

if (typeof Symbol.dispose === 'symbol') Predictor.prototype[Symbol.dispose] = Predictor.prototype.dispose;

module.exports = { Predictor };
