'use strict';
// Operators by name: op('FullyConnected', [x, w, b], { num_hidden: 10 }) runs any registered op
// imperatively (mx_imperative_invoke); opInfo / opList read the schemas the core holds.
const { call, decodeArray, OpInfo, koffi } = require('./ffi');
const { NDArray } = require('./ndarray');

/** A param value in MXNet's string syntax: [2, 3] -> "(2,3)", true -> "True", 0.5 -> "0.5". */
function formatParam(key, value) {
  if (Array.isArray(value)) return value.length === 1 ? `(${value[0]},)` : `(${value.join(',')})`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'string') return String(value);
  throw new TypeError(`param '${key}': cannot pass ${typeof value} ${JSON.stringify(value)} to an op`);
}

/**
 * Runs op `name` on `inputs` (an NDArray or an array of them) with `params` (an object; undefined
 * values are left out). Returns the output NDArray, or an array of them for an op with several
 * outputs. The computation is asynchronous: reading the result (toTypedArray) waits for it and
 * throws its error, if any.
 */
function op(name, inputs = [], params = {}) {
  const list = inputs instanceof NDArray ? [inputs] : inputs;
  const entries = Object.entries(params).filter(([, v]) => v !== undefined);
  const keys = entries.map(([k]) => k);
  const vals = entries.map(([k, v]) => formatParam(k, v));
  const numOutputs = [0];
  const outputs = [null];
  call('mx_imperative_invoke', name, list.length, list.map((a) => a.handle), numOutputs, outputs, keys.length,
    keys, vals);
  const results = decodeArray(outputs[0], 'void *', numOutputs[0]).map((h) => new NDArray(h));
  return results.length === 1 ? results[0] : results;
}

/** Names of every registered op (aliases included). */
function opList() {
  const num = [0];
  const names = [null];
  call('mx_op_list', num, names);
  return decodeArray(names[0], 'const char *', num[0]);
}

/** An op's schema: inputs, params (name, type, default, doc), outputs and the backends serving it. */
function opInfo(name) {
  const info = { struct_size: koffi.sizeof(OpInfo) };
  call('mx_op_get_info', name, info);
  const strings = (ptr, n) => decodeArray(ptr, 'const char *', n);
  const pnames = strings(info.param_names, info.num_params);
  const ptypes = strings(info.param_types, info.num_params);
  const pdefaults = strings(info.param_defaults, info.num_params);
  const pdocs = strings(info.param_docs, info.num_params);
  return {
    name: info.name,
    doc: info.doc,
    inputs: strings(info.input_names, info.num_inputs),
    numOutputs: info.num_outputs,
    params: pnames.map((p, i) => ({ name: p, type: ptypes[i], default: pdefaults[i], doc: pdocs[i] })),
    hasGradient: info.has_gradient !== 0,
    backends: strings(info.backends, info.num_backends),
  };
}

module.exports = { op, opList, opInfo };
