'use strict';
// NDArray: typed arrays in and out for every dtype, views, .params files, disposal.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');
const mx = require('..');

// Values each dtype holds exactly, including its extremes.
const CASES = [
  ['float32', new Float32Array([0, -1.5, 3.25, 1e30, -(2 ** -126), Math.fround(0.1)])],
  ['float64', new Float64Array([0, -1.5, Math.PI, 1e300, -Number.MIN_VALUE, 0.1])],
  ['int32', new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31), 12345, 7])],
  ['int8', new Int8Array([0, -1, 127, -128, 5, 6])],
  ['uint8', new Uint8Array([0, 1, 255, 128, 5, 6])],
  ['int64', new BigInt64Array([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 40n + 3n, 7n])],
  ['float16', new Uint16Array([0x0000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555])], // raw bits
  ['bfloat16', new Uint16Array([0x0000, 0x3f80, 0xc000, 0x7f7f, 0x0001, 0x3e4d])], // raw bits
  ['bool', new Uint8Array([0, 1, 1, 0, 1, 0])],
];

for (const [dtype, values] of CASES) {
  test(`${dtype} round-trips through a typed array`, () => {
    const a = mx.NDArray.from(values, [2, 3], { dtype });
    assert.strictEqual(a.dtype, dtype);
    assert.deepStrictEqual(a.shape, [2, 3]);
    assert.strictEqual(a.size, 6);
    assert.strictEqual(a.device, 'cpu(0)');
    const back = a.toTypedArray();
    assert.strictEqual(back.constructor, values.constructor);
    assert.deepStrictEqual(back, values);
    a.dispose();
  });
}

test('the dtype follows the typed array, and values convert to a named one', () => {
  const ints = mx.NDArray.from(new Int32Array([1, 2, 3]));
  assert.strictEqual(ints.dtype, 'int32');
  assert.deepStrictEqual(ints.shape, [3]);
  const plain = mx.NDArray.from([1.5, 2.5]);
  assert.strictEqual(plain.dtype, 'float32');
  const narrowed = mx.NDArray.from(new Float64Array([0.1, 2]), [2], { dtype: 'float32' });
  assert.deepStrictEqual(narrowed.toTypedArray(), new Float32Array([0.1, 2]));
  const wide = mx.NDArray.from([1, -2], [2], { dtype: 'int64' });
  assert.deepStrictEqual(wide.toTypedArray(), new BigInt64Array([1n, -2n]));
  assert.throws(() => mx.NDArray.from(new Uint16Array(2)), /no default dtype/);
  assert.throws(() => mx.NDArray.from(new Float32Array(5), [2, 3]), /do not fill shape/);
  for (const a of [ints, plain, narrowed, wide]) a.dispose();
});

test('slice and reshape are views on the same storage', () => {
  const a = mx.NDArray.from(Float32Array.from({ length: 12 }, (_, i) => i), [4, 3]);
  const rows = a.slice(1, 3);
  assert.deepStrictEqual(rows.shape, [2, 3]);
  assert.deepStrictEqual(rows.toTypedArray(), new Float32Array([3, 4, 5, 6, 7, 8]));
  const flat = a.reshape([-1]);
  assert.deepStrictEqual(flat.shape, [12]);
  rows.copyFrom(new Float32Array(6).fill(-1)); // writes through to a
  assert.deepStrictEqual(Array.from(a.toTypedArray().subarray(2, 10)), [2, -1, -1, -1, -1, -1, -1, 9]);
  assert.strictEqual(flat.toTypedArray()[4], -1);
  const copy = a.copy();
  a.copyFrom(new Float32Array(12));
  assert.strictEqual(copy.toTypedArray()[4], -1); // the copy is its own storage
  for (const x of [rows, flat, copy, a]) x.dispose();
});

test('.params files save and load as a dict or a list', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mx-node-'));
  try {
    const w = mx.NDArray.from(new Float32Array([1, 2, 3, 4]), [2, 2]);
    const n = mx.NDArray.from(new Int32Array([7]));
    mx.NDArray.save(path.join(dir, 'd.params'), { 'arg:w': w, 'aux:n': n });
    const dict = mx.NDArray.load(path.join(dir, 'd.params'));
    assert.deepStrictEqual(Object.keys(dict).sort(), ['arg:w', 'aux:n']);
    assert.deepStrictEqual(dict['arg:w'].shape, [2, 2]);
    assert.deepStrictEqual(dict['arg:w'].toTypedArray(), w.toTypedArray());
    assert.deepStrictEqual(dict['aux:n'].toTypedArray(), new Int32Array([7]));
    mx.NDArray.save(path.join(dir, 'l.params'), [n, w]);
    const list = mx.NDArray.load(path.join(dir, 'l.params'));
    assert.ok(Array.isArray(list) && list.length === 2);
    assert.deepStrictEqual(list[1].toTypedArray(), new Float32Array([1, 2, 3, 4]));
    for (const a of [w, n, ...Object.values(dict), ...list]) a.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('dispose frees at once, and an array used after dispose throws', () => {
  mx.waitAll();
  const before = mx.memoryStats().inUseBytes;
  const a = mx.NDArray.empty([256, 1024]);
  a.toTypedArray();
  assert.ok(mx.memoryStats().inUseBytes >= before + 1024 * 1024);
  a.dispose();
  a.dispose(); // idempotent
  mx.waitAll();
  assert.strictEqual(mx.memoryStats().inUseBytes, before);
  assert.strictEqual(a.disposed, true);
  assert.throws(() => a.shape, /used after dispose/);
});

test('arrays dropped without dispose are freed by the garbage collector', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  mx.waitAll();
  const before = mx.memoryStats().inUseBytes;
  (() => {
    for (let i = 0; i < 8; ++i) mx.NDArray.from(new Float32Array(256 * 1024).fill(i)); // 1 MiB each, dropped
  })();
  assert.ok(mx.memoryStats().inUseBytes >= before + 8 * 1024 * 1024);
  for (let round = 0; round < 20 && mx.memoryStats().inUseBytes > before; ++round) {
    gc();
    await new Promise((resolve) => setImmediate(resolve)); // finalizers run between tasks
    mx.waitAll();
  }
  assert.strictEqual(mx.memoryStats().inUseBytes, before);
});
