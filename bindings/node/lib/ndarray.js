'use strict';
// NDArray: an mx array owned by JS. Data enters and leaves through typed arrays (synchronous
// copies); everything else (ops, slicing, saving) stays inside libmx.
const { call, decodeArray, koffi, StorageStats } = require('./ffi');
const { Owned } = require('./handle');
const { DTYPES, dtypeInfo, dtypeName, dtypeOfTypedArray } = require('./dtype');
const { parseDevice, deviceName } = require('./device');

function checkShape(shape) {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(`shape must be an array of non-negative integers, not ${JSON.stringify(shape)}`);
  }
  return BigInt64Array.from(shape, BigInt);
}

const product = (shape) => shape.reduce((a, b) => a * b, 1);

// `data` as the typed array class of dtype `name`, converting values when it is another class.
function asElements(data, name) {
  const Cls = dtypeInfo(name).array;
  if (data instanceof Cls) return data;
  if (name === 'float16' || name === 'bfloat16') {
    throw new TypeError(`${name} data must be given as its raw bits in a Uint16Array`);
  }
  if (Cls === BigInt64Array) return BigInt64Array.from(data, (v) => BigInt(v));
  return Cls.from(data, (v) => Number(v));
}

class NDArray extends Owned {
  /** Wraps an mx_ndarray_t this object now owns (for the package's own use). */
  constructor(handle) {
    super(handle, 'mx_ndarray_free');
  }

  /** An uninitialised array. */
  static empty(shape, { dtype = 'float32', device = 'cpu' } = {}) {
    const dims = checkShape(shape);
    const dev = parseDevice(device);
    const out = [null];
    call('mx_ndarray_create', dims.length ? dims : null, dims.length, dtypeInfo(dtype).flag, dev.type, dev.id, out);
    return new NDArray(out[0]);
  }

  /**
   * A new array holding `data` (a typed array or an array of numbers) in `shape` (default: 1-d).
   * dtype defaults to the typed array's own (Float32Array -> float32, …; plain arrays: float32).
   */
  static from(data, shape, { dtype, device = 'cpu' } = {}) {
    if (!ArrayBuffer.isView(data) && !Array.isArray(data)) {
      throw new TypeError('NDArray.from: data must be a typed array or an array of numbers');
    }
    const name = dtype ?? (Array.isArray(data) ? 'float32' : dtypeOfTypedArray(data));
    const elements = asElements(data, name);
    const dims = shape ?? [elements.length];
    if (product(dims) !== elements.length) {
      throw new RangeError(`NDArray.from: ${elements.length} values do not fill shape [${dims}]`);
    }
    const arr = NDArray.empty(dims, { dtype: name, device });
    try {
      arr.copyFrom(elements);
    } catch (e) {
      arr.dispose();
      throw e;
    }
    return arr;
  }

  /** Arrays of a .params file: an object by key for a dict file, else an array. */
  static load(path) {
    const num = [0];
    const arrs = [null];
    const numKeys = [0];
    const keys = [null];
    call('mx_ndarray_load', path, num, arrs, numKeys, keys);
    const arrays = decodeArray(arrs[0], 'void *', num[0]).map((h) => new NDArray(h));
    if (numKeys[0] === 0) return arrays;
    const names = decodeArray(keys[0], 'const char *', numKeys[0]);
    return Object.fromEntries(names.map((k, i) => [k, arrays[i]]));
  }

  /** Saves an array of NDArrays (a list) or an object of them (a dict) in MXNet's .params format. */
  static save(path, arrays) {
    const isList = Array.isArray(arrays);
    const keys = isList ? null : Object.keys(arrays);
    const values = isList ? arrays : Object.values(arrays);
    call('mx_ndarray_save', path, values.length, values.map((a) => a.handle), keys);
  }

  get shape() {
    const ndim = [0];
    const dims = [null];
    call('mx_ndarray_get_shape', this.handle, ndim, dims);
    return decodeArray(dims[0], 'int64_t', ndim[0]).map(Number);
  }

  get dtype() {
    const flag = [0];
    call('mx_ndarray_get_dtype', this.handle, flag);
    return dtypeName(flag[0]);
  }

  get size() {
    const n = [0];
    call('mx_ndarray_get_size', this.handle, n);
    return Number(n[0]);
  }

  /** 'cpu(0)', 'gpu(1)', … */
  get device() {
    const type = [0];
    const id = [0];
    call('mx_ndarray_get_device', this.handle, type, id);
    return deviceName(type[0], id[0]);
  }

  /** Overwrites the array with `data` (a typed array of its dtype's class, exactly size elements). */
  copyFrom(data) {
    const elements = asElements(data, this.dtype);
    call('mx_ndarray_copy_from_host', this.handle, elements, elements.byteLength);
    return this;
  }

  /** The values as a new typed array of the dtype's class (waits for pending writes). */
  toTypedArray() {
    const out = new (DTYPES[this.dtype].array)(this.size);
    call('mx_ndarray_copy_to_host', this.handle, out, out.byteLength);
    return out;
  }

  /** Rows [begin, end) along axis 0, sharing storage (a new NDArray to dispose). */
  slice(begin, end) {
    const out = [null];
    call('mx_ndarray_slice', this.handle, begin, end, out);
    return new NDArray(out[0]);
  }

  /** The same elements in a new shape (one dimension may be -1), sharing storage. */
  reshape(shape) {
    const dims = BigInt64Array.from(shape, BigInt);
    const out = [null];
    call('mx_ndarray_reshape', this.handle, dims, dims.length, out);
    return new NDArray(out[0]);
  }

  /** An independent copy (asynchronous, ordered by the engine). */
  copy() {
    const dst = NDArray.empty(this.shape, { dtype: this.dtype, device: this.device });
    call('mx_ndarray_copy_to', this.handle, dst.handle);
    return dst;
  }

  /** Copies this array into `dst` (same shape and dtype; any device). */
  copyTo(dst) {
    call('mx_ndarray_copy_to', this.handle, dst.handle);
    return dst;
  }

  /** Blocks until pending writes finish; throws the error of a failed op that wrote it. */
  waitToRead() {
    call('mx_ndarray_wait_to_read', this.handle);
    return this;
  }

  toString() {
    return this.disposed ? 'NDArray(disposed)' : `NDArray(${this.dtype} [${this.shape}] ${this.device})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return this.toString();
  }
}

/** Blocks until all pushed work has finished; throws the first error raised since the last call. */
function waitAll() {
  call('mx_ndarray_wait_all');
}

/** Bytes of a device's memory pool: in use by arrays, pooled for reuse, and the peak in use. */
function memoryStats(device = 'cpu') {
  const dev = parseDevice(device);
  const s = { struct_size: koffi.sizeof(StorageStats) };
  call('mx_storage_stats_get', dev.type, dev.id, s);
  return { inUseBytes: Number(s.in_use_bytes), pooledBytes: Number(s.pooled_bytes),
    peakInUseBytes: Number(s.peak_in_use_bytes) };
}

module.exports = { NDArray, waitAll, memoryStats };
