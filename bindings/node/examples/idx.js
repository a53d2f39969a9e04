'use strict';
// Reads MNIST-format idx files (plain or .gz), as core/io/idx.cc does: a big-endian header
// (magic 0x0000 0x08 ndim, then ndim uint32 dims) and uint8 values.
const fs = require('node:fs');
const zlib = require('node:zlib');

function readIdx(file) {
  let bytes = fs.readFileSync(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = zlib.gunzipSync(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic >> 8 !== 0x08) throw new Error(`${file}: not an idx file of uint8 (magic 0x${magic.toString(16)})`);
  const ndim = magic & 0xff;
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i));
  const start = 4 + 4 * ndim;
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== start + count) throw new Error(`${file}: ${bytes.length - start} values for shape [${shape}]`);
  return { shape, values: bytes.subarray(start) };
}

/** The first `n` images of an idx3 file as float32 pixels scaled to [0, 1) like MNISTIter (x / 256). */
function readImages(file, n) {
  const { shape, values } = readIdx(file);
  const pixels = shape[1] * shape[2];
  const count = Math.min(n, shape[0]);
  const out = new Float32Array(count * pixels);
  for (let i = 0; i < out.length; ++i) out[i] = values[i] / 256;
  return { count, rows: shape[1], cols: shape[2], pixels: out };
}

module.exports = { readIdx, readImages };
