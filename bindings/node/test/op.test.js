'use strict';
// Ops by name against references written here in JS (float64), and the op schemas.
const test = require('node:test');
const assert = require('node:assert');
const mx = require('..');

// Deterministic pseudo-random values in [-1, 1).
function values(n, seed) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function assertClose(actual, expected, tol, what) {
  assert.strictEqual(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; ++i) {
    const err = Math.abs(actual[i] - expected[i]);
    assert.ok(err <= tol * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('FullyConnected by name equals x . W^T + b', () => {
  const [n, k, m] = [5, 7, 3];
  const x = values(n * k, 1);
  const w = values(m * k, 2);
  const b = values(m, 3);
  const inputs = [mx.NDArray.from(x, [n, k]), mx.NDArray.from(w, [m, k]), mx.NDArray.from(b, [m])];
  const y = mx.op('FullyConnected', inputs, { num_hidden: m });
  assert.deepStrictEqual(y.shape, [n, m]);
  const expected = new Float64Array(n * m);
  for (let i = 0; i < n; ++i) {
    for (let j = 0; j < m; ++j) {
      let acc = b[j];
      for (let p = 0; p < k; ++p) acc += x[i * k + p] * w[j * k + p];
      expected[i * m + j] = acc;
    }
  }
  assertClose(y.toTypedArray(), expected, 1e-5, 'FullyConnected');
  for (const a of [...inputs, y]) a.dispose();
});

test('params in MXNet syntax: tuples, booleans, strings', () => {
  const x = values(2 * 3 * 4, 4);
  const a = mx.NDArray.from(x, [2, 3, 4]);
  const s = mx.op('sum', [a], { axis: [0, 2], keepdims: true });
  assert.deepStrictEqual(s.shape, [1, 3, 1]);
  const expected = [0, 1, 2].map((j) => {
    let acc = 0;
    for (let i = 0; i < 2; ++i) for (let l = 0; l < 4; ++l) acc += x[i * 12 + j * 4 + l];
    return acc;
  });
  assertClose(s.toTypedArray(), expected, 1e-5, 'sum');
  const t = mx.op('Activation', a, { act_type: 'tanh' });
  assertClose(t.toTypedArray(), Array.from(x, Math.tanh), 1e-6, 'tanh');
  for (const z of [a, s, t]) z.dispose();
});

test('an op with several outputs returns an array of them', () => {
  const a = mx.NDArray.from(Float32Array.from({ length: 6 }, (_, i) => i), [3, 2]);
  const parts = mx.op('split', a, { num_outputs: 2, axis: 1 });
  assert.ok(Array.isArray(parts) && parts.length === 2);
  assert.deepStrictEqual(parts[0].toTypedArray(), new Float32Array([0, 2, 4]));
  assert.deepStrictEqual(parts[1].toTypedArray(), new Float32Array([1, 3, 5]));
  for (const z of [a, ...parts]) z.dispose();
});

test('Cast reads each dtype as that dtype (half types given as bits)', () => {
  const cases = [
    ['float16', new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555]), [1, -2, 65504, 2 ** -24, 0.333251953125]],
    ['bfloat16', new Uint16Array([0x3f80, 0xc000, 0x4049, 0x3e4d]), [1, -2, 3.140625, 0.2001953125]],
    ['int64', new BigInt64Array([-3n, 2n ** 40n]), [-3, 2 ** 40]],
    ['int8', new Int8Array([-128, 127]), [-128, 127]],
    ['bool', new Uint8Array([1, 0]), [1, 0]],
  ];
  for (const [dtype, bits, expected] of cases) {
    const a = mx.NDArray.from(bits, [bits.length], { dtype });
    const f = mx.op('Cast', a, { dtype: 'float64' });
    assert.deepStrictEqual(Array.from(f.toTypedArray()), expected, dtype);
    a.dispose();
    f.dispose();
  }
});

test('opList and opInfo describe the registered ops', () => {
  const names = mx.opList();
  assert.ok(names.includes('FullyConnected') && names.includes('Convolution'));
  const info = mx.opInfo('FullyConnected');
  assert.strictEqual(info.name, 'FullyConnected');
  assert.deepStrictEqual(info.inputs, ['data', 'weight', 'bias']);
  const hidden = info.params.find((p) => p.name === 'num_hidden');
  assert.ok(hidden && hidden.type === 'int' && hidden.default === '');
  assert.strictEqual(info.params.find((p) => p.name === 'no_bias').default, 'False');
  assert.ok(info.backends.includes('cpu'));
  assert.strictEqual(info.hasGradient, true);
});
