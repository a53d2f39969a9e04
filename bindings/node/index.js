'use strict';
// mx-node: mx from Node.js through its stable C API (abi/include/mx/c_api.h) and koffi.
//
//   const mx = require('mx-node');
//   const x = mx.NDArray.from(new Float32Array([1, 2, 3, 4]), [2, 2]);
//   const y = mx.op('relu', [x]);            // any registered op, by name, with params
//   y.toTypedArray();                         // Float32Array [1, 2, 3, 4]
//   const p = mx.Predictor.load('out/lenet', 10, { data: [100, 1, 28, 28] });
//   const probs = p.predict(batchOfPixels);   // an NDArray [100, 10]
//
// libmx is found through MX_LIBRARY_PATH (its directory, or the file), else the system loader.
// Every failing call throws an MXError carrying the library's message and error category.
const { fns, MXError } = require('./lib/ffi');
const { NDArray, waitAll, memoryStats } = require('./lib/ndarray');
const { op, opList, opInfo } = require('./lib/op');
const { Symbol } = require('./lib/symbol');
const { Predictor } = require('./lib/predictor');
const { DTYPES } = require('./lib/dtype');

module.exports = {
  NDArray,
  Symbol,
  Predictor,
  MXError,
  op,
  opList,
  opInfo,
  waitAll,
  memoryStats,
  dtypes: Object.keys(DTYPES),
  /** The version string of the loaded libmx ("0.1.0"). */
  version: fns.mx_version_string(),
};
