'use strict';
// Data types: MXNet's type flags (c_api.h MX_FLOAT32 …), their names, and the typed array that
// holds each on the JS side. float16, bfloat16 and bool have no JS element type of their own:
// they travel as their raw bits (Uint16Array, Uint8Array) and must be named explicitly.

const DTYPES = {
  float32: { flag: 0, array: Float32Array },
  float64: { flag: 1, array: Float64Array },
  float16: { flag: 2, array: Uint16Array },
  uint8: { flag: 3, array: Uint8Array },
  int32: { flag: 4, array: Int32Array },
  int8: { flag: 5, array: Int8Array },
  int64: { flag: 6, array: BigInt64Array },
  bool: { flag: 7, array: Uint8Array },
  bfloat16: { flag: 12, array: Uint16Array },
};

const NAME_OF_FLAG = new Map(Object.entries(DTYPES).map(([name, d]) => [d.flag, name]));

// The dtype a typed array stands for when none is given.
const DEFAULT_FOR_ARRAY = new Map([
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Uint8Array, 'uint8'], [Int32Array, 'int32'],
  [Int8Array, 'int8'], [BigInt64Array, 'int64'],
]);

function dtypeInfo(name) {
  const d = DTYPES[name];
  if (!d) throw new TypeError(`unknown dtype '${name}' (known: ${Object.keys(DTYPES).join(', ')})`);
  return d;
}

function dtypeName(flag) {
  const name = NAME_OF_FLAG.get(flag);
  if (!name) throw new TypeError(`unknown dtype flag ${flag}`);
  return name;
}

function dtypeOfTypedArray(data) {
  const name = DEFAULT_FOR_ARRAY.get(data.constructor);
  if (!name) {
    throw new TypeError(`${data.constructor.name} has no default dtype: pass { dtype } ` +
      '(Uint16Array for float16 / bfloat16 bits, Uint8Array for bool)');
  }
  return name;
}

module.exports = { DTYPES, dtypeInfo, dtypeName, dtypeOfTypedArray };
