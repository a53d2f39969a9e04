'use strict';
// Every failing C call becomes a thrown MXError carrying mx_get_last_error() and its category.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const mx = require('..');
const { fns } = require('../lib/ffi');

// Asserts fn throws an MXError of category codeName whose message is the library's own
// (mx_get_last_error() of this thread, right after the failing call) and matches `pattern`.
function assertMXError(fn, codeName, pattern) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof mx.MXError, `expected an MXError, got ${caught}`);
  assert.ok(caught instanceof Error);
  assert.strictEqual(caught.codeName, codeName, caught.message);
  assert.strictEqual(caught.message, fns.mx_get_last_error());
  assert.strictEqual(caught.code, fns.mx_get_last_error_code());
  assert.match(caught.message, pattern);
  return caught;
}

test('an unknown op is NOT_FOUND and named', () => {
  assertMXError(() => mx.op('NoSuchOp', []), 'NOT_FOUND', /NoSuchOp/);
});

test('mismatched shapes are SHAPE_MISMATCH, naming the shapes', () => {
  const a = mx.NDArray.from(new Float32Array(6), [2, 3]);
  const b = mx.NDArray.from(new Float32Array(6), [3, 2]);
  assertMXError(() => mx.op('elemwise_add', [a, b]), 'SHAPE_MISMATCH', /\(2,3\)|\[2,3\]|2x3/);
  a.dispose();
  b.dispose();
});

test('a missing or invalid param is INVALID_ARGUMENT, naming it', () => {
  const x = mx.NDArray.from(new Float32Array(4), [2, 2]);
  const w = mx.NDArray.from(new Float32Array(4), [2, 2]);
  assertMXError(() => mx.op('FullyConnected', [x, w], { no_bias: true }), 'INVALID_ARGUMENT', /num_hidden/);
  assertMXError(() => mx.op('Activation', [x], { act_type: 'wobbly' }), 'INVALID_ARGUMENT', /wobbly/);
  x.dispose();
  w.dispose();
});

test('a host copy of the wrong size is refused', () => {
  const a = mx.NDArray.empty([4]);
  assertMXError(() => a.copyFrom(new Float32Array(3)), 'SHAPE_MISMATCH', /12 bytes/);
  a.dispose();
});

test('files that do not exist are reported with their path', () => {
  const missing = path.join(__dirname, 'no-such-file.params');
  assertMXError(() => mx.NDArray.load(missing), 'NOT_FOUND', /no-such-file\.params/);
  assertMXError(() => mx.Symbol.load(path.join(__dirname, 'no-such-symbol.json')), 'NOT_FOUND', /no-such-symbol\.json/);
  assertMXError(() => mx.Symbol.fromJSON('{"nodes": [{"op": "NoSuchOp", "name": "n", "inputs": []}], "heads": []}'),
    'NOT_FOUND', /NoSuchOp/);
});

test('errors of the binding itself are plain JS errors', () => {
  assert.throws(() => mx.NDArray.empty([2], { dtype: 'complex64' }), TypeError);
  assert.throws(() => mx.NDArray.empty([2], { device: 'tpu' }), TypeError);
  assert.throws(() => mx.op('relu', [], { x: {} }), TypeError);
});
