'use strict';
// The C API of libmx (abi/include/mx/c_api.h) as koffi functions, and the one place where a -1
// return becomes a thrown MXError. Everything else in the package calls `call(name, ...args)`.
//
// Conventions of the declarations below (koffi 3):
//  - handles (mx_ndarray_t, mx_symbol_t, mx_executor_t) are `void *`: BigInt addresses;
//  - an out-parameter is `_Out_ T *`, passed a one-element JS array that receives the value;
//  - arrays the library returns (names, handles, shapes) come back as a raw `void *` and are
//    decoded with the length the same call returned (see decodeArray).
const fs = require('node:fs');
const path = require('node:path');
const koffi = require('koffi');

// Stable error categories (MX_ERR_*), by code.
const ERROR_NAMES = ['OK', 'INVALID_ARGUMENT', 'SHAPE_MISMATCH', 'NOT_FOUND', 'UNSUPPORTED', 'OUT_OF_MEMORY', 'IO',
  'INTERNAL', 'INVALID_HANDLE'];

/** An error reported by libmx: `message` is mx_get_last_error(), `code` mx_get_last_error_code(). */
class MXError extends Error {
  constructor(message, code = 0) {
    super(message);
    this.name = 'MXError';
    this.code = code;
    this.codeName = ERROR_NAMES[code] || 'UNKNOWN';
  }
}

// MX_LIBRARY_PATH names a directory holding libmx.so (or libmx.so.1), or the library file itself;
// without it the system loader searches (LD_LIBRARY_PATH, ld.so.cache) for the versioned name.
function libraryCandidates() {
  const env = process.env.MX_LIBRARY_PATH;
  if (!env) return ['libmx.so.1', 'libmx.so'];
  if (fs.existsSync(env) && fs.statSync(env).isDirectory()) {
    return ['libmx.so.1', 'libmx.so'].map((f) => path.join(env, f)).filter((f) => fs.existsSync(f));
  }
  return [env];
}

function openLibrary() {
  const tried = [];
  for (const candidate of libraryCandidates()) {
    try {
      return koffi.load(candidate);
    } catch (e) {
      tried.push(`${candidate}: ${e.message}`);
    }
  }
  const where = process.env.MX_LIBRARY_PATH ? `MX_LIBRARY_PATH=${process.env.MX_LIBRARY_PATH}` : 'the system loader';
  throw new Error(`mx-node: libmx not found through ${where} (set MX_LIBRARY_PATH to the directory of libmx.so)` +
    (tried.length ? `; tried ${tried.join('; ')}` : ''));
}

const lib = openLibrary();

// mx_op_info, as c_api.h lays it out (ABI 1.1): the library fills what fits in struct_size.
const OpInfo = koffi.struct('mx_op_info', {
  struct_size: 'uint32_t',
  name: 'const char *',
  doc: 'const char *',
  num_inputs: 'uint32_t',
  input_names: 'void *',
  num_outputs: 'int32_t',
  num_params: 'uint32_t',
  param_names: 'void *',
  param_types: 'void *',
  param_defaults: 'void *',
  param_docs: 'void *',
  has_gradient: 'int32_t',
  num_backends: 'uint32_t',
  backends: 'void *',
});

// mx_storage_stats (ABI 1.0): one device's memory pool.
const StorageStats = koffi.struct('mx_storage_stats', {
  struct_size: 'uint32_t',
  in_use_bytes: 'uint64_t',
  pooled_bytes: 'uint64_t',
  peak_in_use_bytes: 'uint64_t',
  num_device_allocs: 'uint64_t',
  limit_bytes: 'uint64_t',
});

const PROTOTYPES = [
  'const char *mx_get_last_error()',
  'int32_t mx_get_last_error_code()',
  'int mx_abi_version(_Out_ uint32_t *major, _Out_ uint32_t *minor)',
  'const char *mx_version_string()',
  'int mx_dtype_size(int32_t dtype, _Out_ int32_t *bytes)',
  'int mx_storage_stats_get(int32_t device_type, int32_t device_id, _Inout_ mx_storage_stats *out)',

  'int mx_ndarray_create(const int64_t *shape, int32_t ndim, int32_t dtype, int32_t device_type, ' +
    'int32_t device_id, _Out_ void **out)',
  'int mx_ndarray_free(void *arr)',
  'int mx_ndarray_get_shape(void *arr, _Out_ int32_t *ndim, _Out_ void **shape)',
  'int mx_ndarray_get_dtype(void *arr, _Out_ int32_t *dtype)',
  'int mx_ndarray_get_device(void *arr, _Out_ int32_t *device_type, _Out_ int32_t *device_id)',
  'int mx_ndarray_get_size(void *arr, _Out_ int64_t *size)',
  'int mx_ndarray_copy_from_host(void *arr, const void *data, size_t nbytes)',
  'int mx_ndarray_copy_to_host(void *arr, void *data, size_t nbytes)',
  'int mx_ndarray_copy_to(void *src, void *dst)',
  'int mx_ndarray_slice(void *arr, int64_t begin, int64_t end, _Out_ void **out)',
  'int mx_ndarray_reshape(void *arr, const int64_t *shape, int32_t ndim, _Out_ void **out)',
  'int mx_ndarray_wait_to_read(void *arr)',
  'int mx_ndarray_wait_all()',
  'int mx_ndarray_save(const char *fname, uint32_t num, void **arrs, const char **keys)',
  'int mx_ndarray_load(const char *fname, _Out_ uint32_t *num, _Out_ void **arrs, _Out_ uint32_t *num_keys, ' +
    '_Out_ void **keys)',

  'int mx_imperative_invoke(const char *op_name, int32_t num_inputs, void **inputs, _Inout_ int32_t *num_outputs, ' +
    '_Inout_ void **outputs, int32_t num_params, const char **keys, const char **vals)',
  'int mx_op_list(_Out_ uint32_t *num, _Out_ void **names)',
  'int mx_op_get_info(const char *op_name, _Inout_ mx_op_info *out)',

  'int mx_symbol_load(const char *path, _Out_ void **out)',
  'int mx_symbol_from_json(const char *json, _Out_ void **out)',
  'int mx_symbol_to_json(void *sym, _Out_ const char **json)',
  'int mx_symbol_free(void *sym)',
  'int mx_symbol_list_arguments(void *sym, _Out_ uint32_t *num, _Out_ void **names)',
  'int mx_symbol_list_outputs(void *sym, _Out_ uint32_t *num, _Out_ void **names)',
  'int mx_symbol_list_auxiliary_states(void *sym, _Out_ uint32_t *num, _Out_ void **names)',

  'int mx_executor_simple_bind(void *sym, int32_t device_type, int32_t device_id, uint32_t num_shapes, ' +
    'const char **shape_keys, const uint32_t *shape_ndims, const int64_t *shape_dims, uint32_t num_dtypes, ' +
    'const char **dtype_keys, const int32_t *dtypes, int32_t default_grad_req, uint32_t num_reqs, ' +
    'const char **req_keys, const int32_t *reqs, _Out_ void **out)',
  'int mx_executor_forward(void *ex, int32_t is_train)',
  'int mx_executor_arrays(void *ex, int32_t which, _Out_ uint32_t *num, _Out_ void **arrays)',
  'int mx_executor_reshape(void *ex, uint32_t num_shapes, const char **shape_keys, const uint32_t *shape_ndims, ' +
    'const int64_t *shape_dims, int32_t allow_up_sizing, _Out_ void **out)',
  'int mx_executor_free(void *ex)',
];

const fns = {};
for (const proto of PROTOTYPES) {
  fns[proto.match(/(mx_\w+)\(/)[1]] = lib.func(proto);
}

/** The last error of this thread as an MXError (its message names what failed and why). */
function lastError() {
  return new MXError(fns.mx_get_last_error(), fns.mx_get_last_error_code());
}

/** Calls C API function `name`; a -1 return throws the library's error. */
function call(name, ...args) {
  if (fns[name](...args) !== 0) throw lastError();
}

/** Decodes `n` consecutive values of `type` ('void *', 'const char *', 'int64_t', ...) at `ptr`. */
function decodeArray(ptr, type, n) {
  if (n === 0) return [];
  return koffi.decode(ptr, koffi.array(type, n, 'Array'));
}

const [major] = (() => {
  const maj = [0];
  const min = [0];
  call('mx_abi_version', maj, min);
  return [maj[0], min[0]];
})();
if (major !== 1) throw new Error(`mx-node: libmx has ABI major ${major}, this package speaks ABI 1`);

module.exports = { koffi, fns, call, decodeArray, lastError, MXError, OpInfo, StorageStats };
