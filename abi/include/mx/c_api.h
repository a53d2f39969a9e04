/* mx user API: the only interface between libmx.so and the outside world.
 *
 * Rules (see DESIGN.md §2):
 *  - Every function returns 0 on success and -1 on error. On error, mx_get_last_error() returns a
 *    message naming what failed (op, attribute, shapes, file, offset) and mx_get_last_error_code()
 *    a stable MX_ERR_* category. Both are thread-local: they describe the last failing call made
 *    by the calling thread.
 *  - Handles are opaque. Whoever creates a handle frees it; every *_free accepts NULL.
 *  - Strings and arrays returned through out-parameters stay valid until the next mx_* call on the
 *    same thread, unless the function says otherwise.
 *  - Thread safety: all functions may be called from any thread unless stated. A handle may be
 *    used from several threads; concurrent writes to the same array are ordered by the engine in
 *    the order the calls were made.
 *  - Structs that cross the border start with `uint32_t struct_size`: the caller sets it to
 *    sizeof(struct) as it knows it, and the library writes only the fields that fit.
 */
#ifndef MX_C_API_H_
#define MX_C_API_H_

#include <stddef.h>
#include <stdint.h>

#include "mx/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MX_API __attribute__((visibility("default")))
#else
#define MX_API
#endif

/* ---------------------------------------------------------------- errors */

/* Stable error categories returned by mx_get_last_error_code(). Values never change. */
#define MX_ERR_OK 0
#define MX_ERR_INVALID_ARGUMENT 1 /* bad attribute, bad value, NULL where a handle is needed */
#define MX_ERR_SHAPE_MISMATCH 2   /* shapes or dtypes do not agree */
#define MX_ERR_NOT_FOUND 3        /* unknown op, file, key, backend, device */
#define MX_ERR_UNSUPPORTED 4      /* op or dtype not available on that device/backend */
#define MX_ERR_OUT_OF_MEMORY 5    /* allocation failed after releasing the pool */
#define MX_ERR_IO 6               /* file could not be read/written or is malformed */
#define MX_ERR_INTERNAL 7         /* a bug or an unexpected failure */
#define MX_ERR_INVALID_HANDLE 8   /* a handle already freed, never issued, or of another kind (ABI 1.5) */

/* Message of the last failing call on this thread ("" if none). Valid until the next failing call
 * on this thread. Never returns NULL. */
MX_API const char* mx_get_last_error(void);
/* MX_ERR_* category of the last failing call on this thread (MX_ERR_OK if none). */
MX_API int32_t mx_get_last_error_code(void);

/* ---------------------------------------------------------------- version */

/* ABI version of the loaded library; compare major with MX_ABI_MAJOR. */
MX_API int mx_abi_version(uint32_t* major, uint32_t* minor);
/* Library version string such as "0.1.0"; static storage. */
MX_API const char* mx_version_string(void);

/* ---------------------------------------------------------------- dtypes and devices */

/* Data types: MXNet's type flags (the same numbers appear in .params files). */
#define MX_FLOAT32 0
#define MX_FLOAT64 1
#define MX_FLOAT16 2
#define MX_UINT8 3
#define MX_INT32 4
#define MX_INT8 5
#define MX_INT64 6
#define MX_BOOL 7
#define MX_BFLOAT16 12

/* Device types: the DLPack device type numbers. */
#define MX_DEVICE_CPU 1
#define MX_DEVICE_GPU 2

/* Size in bytes of one element of dtype, or -1 (and an error) for an unknown dtype. */
MX_API int mx_dtype_size(int32_t dtype, int32_t* out_bytes);
/* Name of dtype ("float32", …); static storage. */
MX_API int mx_dtype_name(int32_t dtype, const char** out_name);

/* ---------------------------------------------------------------- backends */

/* Step at which loading a backend failed (mx_backend_info.failed_step). */
#define MX_BACKEND_OK 0
#define MX_BACKEND_STEP_OPEN 1        /* the shared library could not be opened */
#define MX_BACKEND_STEP_SYMBOL 2      /* the entry symbol mx_backend_init is missing */
#define MX_BACKEND_STEP_ABI_VERSION 3 /* the plugin was built for another ABI major */
#define MX_BACKEND_STEP_INIT 4        /* mx_backend_init failed or threw */
#define MX_BACKEND_STEP_NO_DEVICE 5   /* loaded, but reports zero devices (usable = 0) */
#define MX_BACKEND_STEP_SHADOWED 6    /* usable, but an earlier plugin serves its device type */

typedef struct mx_backend_info {
  uint32_t struct_size; /* set by the caller: sizeof(mx_backend_info) */
  const char* name;     /* "cpu", "cuda", …; the file stem if the plugin never initialised */
  const char* path;     /* file the plugin was loaded from */
  const char* version;  /* plugin version string ("" if unknown) */
  int32_t device_type;  /* MX_DEVICE_* it serves, or 0 if unknown */
  int32_t num_devices;  /* devices usable now */
  int32_t failed_step;  /* MX_BACKEND_OK or MX_BACKEND_STEP_* */
  const char* message;  /* why it failed or why there are no devices; "" when fine */
  /* ABI 1.7 */
  int32_t kernel_priority; /* effective rank of its kernels (declared, or as overridden) */
  int32_t kernels_only;    /* 1: a kernel-only plugin on another plugin's memory and streams */
} mx_backend_info;

/* Loads a backend plugin explicitly. Returns -1 with a message naming the file, the step and the
 * reason if it cannot be used; the failure is also recorded in mx_backend_list. Loading the same
 * file twice is a no-op. Other backends keep working whatever happens here. */
MX_API int mx_backend_load(const char* path);
/* Number of backends that were tried (loaded or failed). Triggers discovery on first use:
 * MX_BACKEND_PATH (colon-separated files or directories), then the directory of libmx.so and its
 * mx/ folder (where `cmake --install` puts the plugins), then the build-time directory. */
MX_API int mx_backend_count(int32_t* out_count);
/* Describes backend `index` (0 <= index < count). Strings live as long as the library. */
MX_API int mx_backend_get_info(int32_t index, mx_backend_info* out);
/* Sets the kernel priority of the loaded backend called `name` (ABI 1.7), as MX_BACKEND_PRIORITY
 * does at start-up ("dnnl=100,cpu=0"): later kernel choices use it (executors already bound keep
 * theirs). -1 with MX_ERR_NOT_FOUND if no loaded backend has that name. Thread-safe. */
MX_API int mx_backend_set_priority(const char* name, int32_t priority);
/* Name of the backend whose kernel runs `op_name` on device_type (MX_DEVICE_*) for a call that
 * every candidate accepts: the highest-priority plugin with a kernel for it (ABI 1.7). -1 with
 * MX_ERR_NOT_FOUND for an unknown op, MX_ERR_UNSUPPORTED if no plugin has a kernel. The string
 * lives as long as the library. */
MX_API int mx_op_get_backend(const char* op_name, int32_t device_type, const char** out_name);

typedef struct mx_device_info {
  uint32_t struct_size; /* set by the caller */
  const char* name;     /* "cpu", "NVIDIA H100 80GB HBM3", … */
  uint64_t total_memory;
  uint64_t free_memory;
  int32_t supports_async;  /* work on streams runs asynchronously to the host */
  int32_t supports_events; /* cross-stream ordering through events */
  int32_t supports_pinned; /* pinned host memory available */
} mx_device_info;

/* Number of usable devices of a type (0 if no backend serves it). */
MX_API int mx_device_count(int32_t device_type, int32_t* out_count);
/* Describes one device. Strings live as long as the library. */
MX_API int mx_device_get_info(int32_t device_type, int32_t device_id, mx_device_info* out);

/* ---------------------------------------------------------------- engine */

/* Selects the dependency engine: "threaded" (default) or "naive" (every op runs synchronously on
 * the calling thread, for debugging). Waits for all pending work first. Not to be called while
 * other threads push work. MX_ENGINE_TYPE sets the initial choice. */
MX_API int mx_engine_set_type(const char* type);
/* Name of the current engine ("threaded" / "naive"); static storage. */
MX_API int mx_engine_get_type(const char** out_type);

/* ---------------------------------------------------------------- storage */

typedef struct mx_storage_stats {
  uint32_t struct_size; /* set by the caller */
  uint64_t in_use_bytes;   /* bytes handed out to arrays and temp space (size-class rounded) */
  uint64_t pooled_bytes;   /* bytes held in the pool for reuse */
  uint64_t peak_in_use_bytes;
  uint64_t num_device_allocs; /* calls to the backend's alloc so far */
  uint64_t limit_bytes;       /* 0 = no limit besides the device's own memory */
} mx_storage_stats;

/* Memory statistics of one device's pool. */
MX_API int mx_storage_stats_get(int32_t device_type, int32_t device_id, mx_storage_stats* out);
/* Returns every pooled (unused) block to the device. */
MX_API int mx_storage_empty_cache(int32_t device_type, int32_t device_id);
/* Caps the bytes (in use + pooled) the pool may take from the device; 0 removes the cap. An
 * allocation past the cap first releases the pool, then fails with MX_ERR_OUT_OF_MEMORY. */
MX_API int mx_storage_set_limit(int32_t device_type, int32_t device_id, uint64_t limit_bytes);

/* ---------------------------------------------------------------- random */

/* Seeds the generator of every device and resets its offset: the same seed then gives the same
 * sequence of random ops the same numbers, whatever the number of worker threads. */
MX_API int mx_random_seed(uint64_t seed);
/* Seeds the generator of one device only and resets its offset; the other devices keep their
 * seeds and offsets (MXNet's mx.random.seed(seed, ctx)). An unknown device (no backend serves
 * its type, or the id is out of range) is MX_ERR_NOT_FOUND naming it. A later mx_random_seed
 * reseeds this device too. Random ops pushed before the call keep the numbers they reserved. */
MX_API int mx_random_seed_device(int32_t device_type, int32_t device_id, uint64_t seed);

/* ---------------------------------------------------------------- NDArray */

typedef struct mx_ndarray* mx_ndarray_t;

/* Creates an uninitialised array. shape may be NULL when ndim is 0 (a scalar of one element). */
MX_API int mx_ndarray_create(const int64_t* shape, int32_t ndim, int32_t dtype, int32_t device_type,
                             int32_t device_id, mx_ndarray_t* out);
/* Releases the handle. Memory returns to the pool once every pending op on it has finished;
 * views keep the storage alive. Accepts NULL. */
MX_API int mx_ndarray_free(mx_ndarray_t arr);

/* Shape: *out_shape stays valid as long as the handle. */
MX_API int mx_ndarray_get_shape(mx_ndarray_t arr, int32_t* out_ndim, const int64_t** out_shape);
MX_API int mx_ndarray_get_dtype(mx_ndarray_t arr, int32_t* out_dtype);
MX_API int mx_ndarray_get_device(mx_ndarray_t arr, int32_t* out_device_type, int32_t* out_device_id);
/* Number of elements. */
MX_API int mx_ndarray_get_size(mx_ndarray_t arr, int64_t* out_size);

/* Synchronous copies between the array and host memory; nbytes must equal size * dtype size.
 * copy_to_host waits for pending writes and rethrows their errors. */
MX_API int mx_ndarray_copy_from_host(mx_ndarray_t arr, const void* data, size_t nbytes);
MX_API int mx_ndarray_copy_to_host(mx_ndarray_t arr, void* data, size_t nbytes);
/* Asynchronous copy src -> dst (same shape and dtype, any devices), ordered by the engine. */
MX_API int mx_ndarray_copy_to(mx_ndarray_t src, mx_ndarray_t dst);

/* Views sharing storage with arr: rows [begin, end) along axis 0, or the same elements in a new
 * shape (one dimension may be -1 and is inferred). The view is a new handle to free. */
MX_API int mx_ndarray_slice(mx_ndarray_t arr, int64_t begin, int64_t end, mx_ndarray_t* out);
MX_API int mx_ndarray_reshape(mx_ndarray_t arr, const int64_t* shape, int32_t ndim, mx_ndarray_t* out);

/* Blocks until every pending write to arr (or every pending read and write, for wait_to_write)
 * has finished; returns -1 with the error of a failed op that wrote it. */
MX_API int mx_ndarray_wait_to_read(mx_ndarray_t arr);
MX_API int mx_ndarray_wait_to_write(mx_ndarray_t arr);
/* Blocks until all pushed work has finished; returns -1 with the first error raised by an op
 * since the last wait_all. */
MX_API int mx_ndarray_wait_all(void);

/* Saves arrays in MXNet's .params binary format: a list when keys is NULL, else a dict. */
MX_API int mx_ndarray_save(const char* fname, uint32_t num, const mx_ndarray_t* arrs, const char** keys);
/* Loads a .params file. *out_arrs (num handles, each to be freed by the caller) and *out_keys
 * (num_keys strings: 0 for a list, num for a dict) stay valid until the next call on this thread. */
MX_API int mx_ndarray_load(const char* fname, uint32_t* out_num, mx_ndarray_t** out_arrs,
                           uint32_t* out_num_keys, const char*** out_keys);

/* DLPack (legacy DLManagedTensor from <dlpack/dlpack.h>), zero-copy both ways.
 * to_dlpack: waits for pending writes, then returns a tensor that keeps the storage alive until
 *   the consumer calls its deleter.
 * from_dlpack: takes ownership of `tensor` (its deleter runs when the last array using the
 *   memory is gone); the memory must be compact row-major and on a device a backend serves. */
struct DLManagedTensor;
MX_API int mx_ndarray_to_dlpack(mx_ndarray_t arr, struct DLManagedTensor** out);
MX_API int mx_ndarray_from_dlpack(struct DLManagedTensor* tensor, mx_ndarray_t* out);
/* The same with DLPack's stream protocol, for arrays on a device that runs asynchronously (GPUs);
 * on other devices stream is ignored and they behave as above. stream is a native stream of the
 * device (cudaStream_t as an integer; 1 = CUDA's legacy default stream, 2 = per-thread default).
 * to_dlpack_stream: the consumer will read on `stream`: instead of blocking, mx makes that stream
 *   wait (an event) for its pending writes; -1: no ordering at all (the consumer's promise).
 * from_dlpack_stream: the producer made the data ready on `stream` (the stream the caller passed
 *   to its __dlpack__): mx's ops on the array wait for that point of the stream (an event). */
MX_API int mx_ndarray_to_dlpack_stream(mx_ndarray_t arr, int64_t stream, struct DLManagedTensor** out);
MX_API int mx_ndarray_from_dlpack_stream(struct DLManagedTensor* tensor, int64_t stream, mx_ndarray_t* out);

/* ---------------------------------------------------------------- operators */

/* Runs op `op_name` on inputs, asynchronously. Attributes are strings (MXNet syntax:
 * "(2,3)", "True", "float32", "cpu(0)"). If *num_outputs is 0 the outputs are created and
 * *outputs points to a thread-local array of new handles (valid until the next call on this
 * thread; each handle is the caller's to free). Otherwise *outputs holds *num_outputs existing
 * arrays of the inferred shape and dtype to write into. */
MX_API int mx_imperative_invoke(const char* op_name, int32_t num_inputs, const mx_ndarray_t* inputs,
                                int32_t* num_outputs, mx_ndarray_t** outputs, int32_t num_params,
                                const char** param_keys, const char** param_vals);

/* Names of every registered op (aliases included); the array and strings live as long as the
 * library. */
MX_API int mx_op_list(uint32_t* out_num, const char*** out_names);

/* An op's schema and where it runs. All strings and arrays live as long as the library. */
typedef struct mx_op_info {
  uint32_t struct_size; /* set by the caller */
  const char* name;     /* canonical name (info of an alias describes the op it names) */
  const char* doc;
  uint32_t num_inputs;
  const char* const* input_names;
  int32_t num_outputs;
  uint32_t num_params;
  const char* const* param_names;
  const char* const* param_types;    /* "int", "float", "boolean", "Shape(tuple)", "dtype", "device", "{a, b}" */
  const char* const* param_defaults; /* "" for required params */
  const char* const* param_docs;
  int32_t has_gradient;
  uint32_t num_backends; /* backends (by name) that have a kernel for this op, highest priority first */
  const char* const* backends;
} mx_op_info;

MX_API int mx_op_get_info(const char* op_name, mx_op_info* out);

/* ---------------------------------------------------------------- extensions (mx/extension.h) */

/* Loads an extension library and registers its ops (all or none); they are then ops like any
 * other (mx_op_list, imperative calls, autograd, symbols, JSON). *out_names (may be NULL) lists
 * them, valid until the next call on this thread. -1 with a message naming the file when it is
 * missing (MX_ERR_NOT_FOUND), not an extension or loaded before (MX_ERR_INVALID_ARGUMENT), built for
 * another extension ABI major (MX_ERR_UNSUPPORTED), or when an op name clashes with a registered
 * op (MX_ERR_INVALID_ARGUMENT, naming both). Never unloaded. Thread-safe. ABI 1.7. */
MX_API int mx_library_load(const char* path, uint32_t* out_num_ops, const char*** out_names);

struct mx_ext_op;
/* Registers one op defined at run time by a binding (Python's mx.operator.register): the same
 * definition an extension library gives (mx/extension.h). owner names it in messages. Strings are
 * copied; callbacks, kernels and `user` must stay valid for the rest of the process. ABI 1.7. */
MX_API int mx_custom_op_register(const struct mx_ext_op* op, const char* owner);
/* For a custom op's callback about to return -1 (inference, kernel, gradient): records why, as an
 * extension library's host->backend->set_error does. ABI 1.7. */
MX_API int mx_custom_op_set_error(int32_t code, const char* message);

/* ---------------------------------------------------------------- autograd */

/* grad_req values (MXNet's numbers). */
#define MX_GRAD_NULL 0
#define MX_GRAD_WRITE 1
#define MX_GRAD_ADD 3

/* Thread-local switches; *prev (may be NULL) receives the previous value. */
MX_API int mx_autograd_set_recording(int32_t is_recording, int32_t* prev);
MX_API int mx_autograd_set_training(int32_t is_training, int32_t* prev);
MX_API int mx_autograd_is_recording(int32_t* out);
MX_API int mx_autograd_is_training(int32_t* out);

/* Marks arrays as variables: backward() writes (MX_GRAD_WRITE) or adds (MX_GRAD_ADD) their
 * gradients into grads[i], which must match their shape and dtype (ignored for MX_GRAD_NULL). */
MX_API int mx_autograd_mark_variables(uint32_t num, const mx_ndarray_t* vars, const int32_t* grad_reqs,
                                      const mx_ndarray_t* grads);
/* Backpropagates sum_i(heads[i] * head_grads[i]) (head_grads NULL, or an entry NULL: ones) into
 * the marked variables. Without retain_graph the recorded graph is freed. With create_graph the
 * gradient computation is recorded too (for gradients of gradients). */
MX_API int mx_autograd_backward(uint32_t num_heads, const mx_ndarray_t* heads, const mx_ndarray_t* head_grads,
                                int32_t retain_graph, int32_t create_graph, int32_t is_training);
/* Like backward, but returns the gradients with respect to vars as new arrays in *out_grads
 * (thread-local array of num_vars handles, each the caller's to free). */
MX_API int mx_autograd_grad(uint32_t num_heads, const mx_ndarray_t* heads, const mx_ndarray_t* head_grads,
                            uint32_t num_vars, const mx_ndarray_t* vars, int32_t retain_graph, int32_t create_graph,
                            int32_t is_training, mx_ndarray_t** out_grads);
/* The gradient buffer of a marked variable as a new handle (to free), or NULL if none. */
MX_API int mx_ndarray_get_grad(mx_ndarray_t arr, mx_ndarray_t* out);
/* Whether backward has written arr's gradient since this flag was last cleared (MXNet's
 * _fresh_grad; Trainer warns about stale gradients with it). set < 0: queries it into *out;
 * set 0 / 1: stores it, and *out (may be NULL) receives the value before. An array not on the
 * tape reads 0, and storing into one is an error. ABI 1.8. */
MX_API int mx_ndarray_fresh_grad(mx_ndarray_t arr, int32_t set, int32_t* out);

/* A user-defined gradient (mx.autograd.Function), called by backward with one gradient per
 * recorded output (new handles, the callee's to free, as mx_autograd_grad's) and num_igrads slots,
 * NULL on entry, one per recorded input: the callee stores a new handle there (NULL: no gradient),
 * which the library takes over and frees, also when the call fails. Returns 0, or -1 after
 * mx_custom_op_set_error said why. Runs on the thread that called mx_autograd_backward or
 * mx_autograd_grad, with recording off. */
typedef int (*mx_autograd_function_backward)(uint32_t num_ograds, const mx_ndarray_t* ograds, uint32_t num_igrads,
                                             mx_ndarray_t* igrads, void* user_data);
/* Releases a user function's state. */
typedef void (*mx_autograd_function_free)(void* user_data);
/* Records outputs (computed from inputs with recording off) as the outputs of one tape node whose
 * gradient bwd computes. The library owns user_data from this call on: del (may be NULL) gets it
 * exactly once, when the node is destroyed (after a backward without retain_graph, or once the
 * outputs and all computed from them are freed), at once if nothing is recorded (not recording,
 * or no input on the tape) or the call fails, and on whichever thread drops the node (the
 * caller's, unless arrays are handed to other threads). An output already on the tape is an
 * error. create_graph through the node is not supported (as MXNet). ABI 1.8. */
MX_API int mx_autograd_record_function(uint32_t num_inputs, const mx_ndarray_t* inputs, uint32_t num_outputs,
                                       const mx_ndarray_t* outputs, mx_autograd_function_backward bwd,
                                       mx_autograd_function_free del, void* user_data);
/* The recorded graph that computed arr as a new symbol (free with mx_symbol_free): marked variables
 * are "var<n>" (n counts marks since the process started, as MXNet), arrays read but not on the
 * tape "null<k>", ops "node_<k>". -1 if arr is not on the tape, the graph was freed by backward,
 * or it holds a user function (no symbol form). ABI 1.8. */
struct mx_symbol; /* mx_symbol_t, of the symbol API below */
MX_API int mx_autograd_get_symbol(mx_ndarray_t arr, struct mx_symbol** out);

/* ---------------------------------------------------------------- data iterators (ABI 1.2) */

typedef struct mx_dataiter* mx_dataiter_t;

/* Names of the data iterators (MNISTIter, CSVIter, ...); they live as long as the library. */
MX_API int mx_dataiter_list(uint32_t* out_num, const char*** out_names);

/* An iterator's params, as mx_op_info describes an op's. Strings live as long as the library. */
typedef struct mx_dataiter_info {
  uint32_t struct_size; /* set by the caller */
  const char* name;
  const char* doc;
  uint32_t num_params;
  const char* const* param_names;
  const char* const* param_types;
  const char* const* param_defaults; /* "" for required params */
  const char* const* param_docs;
} mx_dataiter_info;

MX_API int mx_dataiter_get_info(const char* name, mx_dataiter_info* out);

/* Creates an iterator from string params (MXNet's names) and starts prefetching. Unknown or
 * invalid params, and unreadable or malformed files, fail here with a message naming them. */
MX_API int mx_dataiter_create(const char* name, uint32_t num_params, const char** keys, const char** vals,
                              mx_dataiter_t* out);
MX_API int mx_dataiter_free(mx_dataiter_t it);
/* Advances to the next batch: *out_has_next is 0 at the end of the epoch. Errors met while
 * preparing the batch (a corrupt record, a bad row) are returned here. */
MX_API int mx_dataiter_next(mx_dataiter_t it, int32_t* out_has_next);
/* Starts the next epoch. */
MX_API int mx_dataiter_reset(mx_dataiter_t it);
/* The current batch's data / label as new handles (the caller frees them). */
MX_API int mx_dataiter_get_data(mx_dataiter_t it, mx_ndarray_t* out);
MX_API int mx_dataiter_get_label(mx_dataiter_t it, mx_ndarray_t* out);
/* Number of trailing samples of the current batch that are padding. */
MX_API int mx_dataiter_get_pad(mx_dataiter_t it, int32_t* out_pad);
/* Sample ids of the current batch; the array is valid until the next call on `it`. */
MX_API int mx_dataiter_get_index(mx_dataiter_t it, const uint64_t** out_index, uint64_t* out_size);

/* ---------------------------------------------------------------- RecordIO (ABI 1.2) */

typedef struct mx_recordio_writer* mx_recordio_writer_t;
typedef struct mx_recordio_reader* mx_recordio_reader_t;

/* dmlc RecordIO (.rec). idx_path may be NULL; with one, write_keyed also records "key\toffset". */
MX_API int mx_recordio_writer_create(const char* path, const char* idx_path, mx_recordio_writer_t* out);
MX_API int mx_recordio_writer_write(mx_recordio_writer_t w, const void* data, uint64_t size);
MX_API int mx_recordio_writer_write_keyed(mx_recordio_writer_t w, int64_t key, const void* data, uint64_t size);
MX_API int mx_recordio_writer_tell(mx_recordio_writer_t w, uint64_t* out_pos);
/* Flushes and closes; a failure to flush is reported (the handle is freed either way). */
MX_API int mx_recordio_writer_free(mx_recordio_writer_t w);

MX_API int mx_recordio_reader_create(const char* path, mx_recordio_reader_t* out);
/* The next record: *out_data / *out_size stay valid until the next call on r; at the end of the
 * file *out_data is NULL and *out_size 0. A malformed file fails with its byte offset. */
MX_API int mx_recordio_reader_read(mx_recordio_reader_t r, const void** out_data, uint64_t* out_size);
MX_API int mx_recordio_reader_seek(mx_recordio_reader_t r, uint64_t pos);
MX_API int mx_recordio_reader_tell(mx_recordio_reader_t r, uint64_t* out_pos);
MX_API int mx_recordio_reader_free(mx_recordio_reader_t r);

/* MXNet's image record: a 24-byte header (flag, label, id, id2), then `flag` float labels when
 * flag > 0 (label is then unused), then the encoded image. */
typedef struct mx_image_record_header {
  uint32_t struct_size; /* set by the caller */
  uint32_t flag;
  float label;
  uint64_t id;
  uint64_t id2;
} mx_image_record_header;

/* Splits a record: *out_labels (num_labels floats: `label` when flag is 0) and the payload stay
 * valid until the next call on this thread. */
MX_API int mx_recordio_unpack_image(const void* record, uint64_t size, mx_image_record_header* out_header,
                                    const float** out_labels, uint32_t* out_num_labels, const void** out_payload,
                                    uint64_t* out_payload_size);
/* Builds a record from a header, labels (more than one sets flag to their number) and a payload;
 * *out_record stays valid until the next call on this thread. */
MX_API int mx_recordio_pack_image(const mx_image_record_header* header, const float* labels, uint32_t num_labels,
                                  const void* payload, uint64_t payload_size, const void** out_record,
                                  uint64_t* out_size);

/* An .idx file's entries in file order (arrays valid until the next call on this thread). */
MX_API int mx_recordio_read_index(const char* idx_path, uint64_t* out_num, const int64_t** out_keys,
                                  const uint64_t** out_offsets);

/* ---------------------------------------------------------------- symbols (ABI 1.3) */

typedef struct mx_symbol* mx_symbol_t;

/* Strings and string arrays returned below stay valid until the next call on this thread. */

MX_API int mx_symbol_create_variable(const char* name, mx_symbol_t* out);
/* An op with params and no inputs yet; mx_symbol_compose names it and connects its inputs.
 * Unknown ops, unknown params and invalid values fail here. */
MX_API int mx_symbol_create_atomic(const char* op_name, uint32_t num_params, const char** keys, const char** vals,
                                   mx_symbol_t* out);
/* Names the atomic symbol's node (name NULL or "": an automatic name such as fullyconnected0) and
 * connects inputs: positionally when keys is NULL, else by input name. Inputs not given become
 * variables named "<name>_<input>" (fc1_weight, fc1_bias). */
MX_API int mx_symbol_compose(mx_symbol_t sym, const char* name, uint32_t num_args, const char** keys,
                             const mx_symbol_t* args);
MX_API int mx_symbol_create_group(uint32_t num, const mx_symbol_t* symbols, mx_symbol_t* out);
MX_API int mx_symbol_copy(mx_symbol_t sym, mx_symbol_t* out);
MX_API int mx_symbol_free(mx_symbol_t sym);

MX_API int mx_symbol_list_arguments(mx_symbol_t sym, uint32_t* out_num, const char*** out_names);
MX_API int mx_symbol_list_outputs(mx_symbol_t sym, uint32_t* out_num, const char*** out_names);
MX_API int mx_symbol_list_auxiliary_states(mx_symbol_t sym, uint32_t* out_num, const char*** out_names);
MX_API int mx_symbol_list_inputs(mx_symbol_t sym, uint32_t* out_num, const char*** out_names);
MX_API int mx_symbol_get_internals(mx_symbol_t sym, mx_symbol_t* out);
MX_API int mx_symbol_get_children(mx_symbol_t sym, mx_symbol_t* out);
MX_API int mx_symbol_get_output(mx_symbol_t sym, uint32_t index, mx_symbol_t* out);
MX_API int mx_symbol_get_num_outputs(mx_symbol_t sym, uint32_t* out);
/* The node name of a single-output symbol; *out_success is 0 for a group. */
MX_API int mx_symbol_get_name(mx_symbol_t sym, const char** out_name, int32_t* out_success);

/* Attributes of a single-output symbol's node (lr_mult, __shape__, ...; get also sees params). */
MX_API int mx_symbol_set_attr(mx_symbol_t sym, const char* key, const char* value);
MX_API int mx_symbol_get_attr(mx_symbol_t sym, const char* key, const char** out_value, int32_t* out_found);
/* Key / value pairs: out_kv[2 * i] is a key, out_kv[2 * i + 1] its value. */
MX_API int mx_symbol_list_attr(mx_symbol_t sym, uint32_t* out_num, const char*** out_kv);

/* Shape inference, complete or partial (MXNet's infer_shape / infer_shape_partial). Known shapes
 * are given by argument or auxiliary-state name: shape i has ndims[i] dims, taken in turn from
 * dims. A dim of 0 means "unknown" (MXNet 1.x): the known dims are kept and the rest inferred,
 * forward and backward through the graph (a 0 in a variable's __shape__ or in the shape of
 * _zeros / _ones / _full in the graph means the same; a 0 in Reshape's shape keeps its meaning,
 * "copy the input's dim"). Results follow list_arguments, list_outputs and list_auxiliary_states:
 * a partially known shape has 0 for each unknown dim, as in (0, 5); a wholly unknown shape has
 * ndim -1. *out_complete is 1 when every argument, auxiliary state and output is fully known.
 * Without `partial`, anything not fully known is an error naming it and what is known of it. A
 * contradiction is an error naming the node, its op, the input or output and both shapes. Arrays
 * are valid until the next call on this thread. */
MX_API int mx_symbol_infer_shape(mx_symbol_t sym, uint32_t num_known, const char** keys, const uint32_t* ndims,
                                 const int64_t* dims, int32_t partial, uint32_t* out_num_args,
                                 const int32_t** out_arg_ndims, const int64_t* const** out_arg_dims,
                                 uint32_t* out_num_outputs, const int32_t** out_output_ndims,
                                 const int64_t* const** out_output_dims, uint32_t* out_num_aux,
                                 const int32_t** out_aux_ndims, const int64_t* const** out_aux_dims,
                                 int32_t* out_complete);
/* The same for dtypes (MX_* flags; -1 unknown). */
MX_API int mx_symbol_infer_type(mx_symbol_t sym, uint32_t num_known, const char** keys, const int32_t* dtypes,
                                int32_t partial, uint32_t* out_num_args, const int32_t** out_arg_types,
                                uint32_t* out_num_outputs, const int32_t** out_output_types, uint32_t* out_num_aux,
                                const int32_t** out_aux_types, int32_t* out_complete);

/* MXNet 1.x JSON (the -symbol.json of a checkpoint). Loading also reads the older param / attr
 * node keys; unknown ops and malformed documents fail with a message naming the node. */
MX_API int mx_symbol_to_json(mx_symbol_t sym, const char** out_json);
MX_API int mx_symbol_from_json(const char* json, mx_symbol_t* out);
MX_API int mx_symbol_save(mx_symbol_t sym, const char* path);
MX_API int mx_symbol_load(const char* path, mx_symbol_t* out);

/* ---------------------------------------------------------------- executors (ABI 1.4) */

/* A symbol bound to arrays: inference, the gradient pass and memory planning run once at bind;
 * forward / backward push the planned graph to the engine (asynchronously, like any op). */
typedef struct mx_executor* mx_executor_t;

/* args and grad_reqs follow list_arguments, aux list_auxiliary_states. arg_grads may be NULL (no
 * gradients) or hold NULL where grad_req is null; grad_reqs NULL means null for all. The
 * executor keeps its own references to the arrays. grad_reqs: MX_GRAD_NULL / WRITE / ADD. Errors name the argument and shapes. */
MX_API int mx_executor_bind(mx_symbol_t sym, int32_t device_type, int32_t device_id, uint32_t num_args,
                            const mx_ndarray_t* args, const mx_ndarray_t* arg_grads, const int32_t* grad_reqs,
                            uint32_t num_aux, const mx_ndarray_t* aux, mx_executor_t* out);
/* Allocates zeroed arguments, gradients and auxiliary states. Shapes by name as in
 * mx_symbol_infer_shape (the rest inferred; a 0 dim is unknown there too, and a dim still unknown
 * after inference is an error naming the argument and its partial shape); dtypes by name (the
 * rest inferred, else float32); grad_reqs by argument name, default_grad_req for the others. */
MX_API int mx_executor_simple_bind(mx_symbol_t sym, int32_t device_type, int32_t device_id, uint32_t num_shapes,
                                   const char** shape_keys, const uint32_t* shape_ndims, const int64_t* shape_dims,
                                   uint32_t num_dtypes, const char** dtype_keys, const int32_t* dtypes,
                                   int32_t default_grad_req, uint32_t num_reqs, const char** req_keys,
                                   const int32_t* reqs, mx_executor_t* out);
/* Auxiliary states (BatchNorm's moving statistics) are updated only when is_train is set. */
MX_API int mx_executor_forward(mx_executor_t ex, int32_t is_train);
/* Head gradients, one per output (NULL entries, or num 0: ones). Gradients are written into or
 * added to the gradient arrays per grad_req. */
MX_API int mx_executor_backward(mx_executor_t ex, uint32_t num_head_grads, const mx_ndarray_t* head_grads);

/* The executor's arrays as new handles (each the caller's to free; NULL for an argument without
 * gradient). The handle array is valid until the next call on this thread. */
#define MX_EXECUTOR_OUTPUTS 0
#define MX_EXECUTOR_ARGS 1
#define MX_EXECUTOR_GRADS 2
#define MX_EXECUTOR_AUX 3
MX_API int mx_executor_arrays(mx_executor_t ex, int32_t which, uint32_t* out_num, mx_ndarray_t** out_arrays);

/* A new executor for new shapes (by argument name; others inferred or kept), sharing this one's
 * memory where it fits. Arrays that would grow are an error unless allow_up_sizing. */
MX_API int mx_executor_reshape(mx_executor_t ex, uint32_t num_shapes, const char** shape_keys,
                               const uint32_t* shape_ndims, const int64_t* shape_dims, int32_t allow_up_sizing,
                               mx_executor_t* out);

typedef struct mx_executor_memory_stats {
  uint32_t struct_size;     /* set by the caller */
  uint64_t planned_bytes;   /* internal buffers after memory planning */
  uint64_t unplanned_bytes; /* the same values with a buffer each */
  uint64_t external_bytes;  /* outputs and head gradients the executor owns */
  uint32_t inplace_count;   /* outputs written over their input */
  uint32_t num_buffers;
  uint32_t num_segments;    /* engine pushes of one forward + backward */
} mx_executor_memory_stats;
MX_API int mx_executor_memory_stats_get(mx_executor_t ex, mx_executor_memory_stats* out);
MX_API int mx_executor_free(mx_executor_t ex);

/* Monitoring (MXNet's MXExecutorSetMonitorCallbackEX). While cb is set, forward and backward call
 * cb(name, arr, user_data) on the thread that called them, before they return, node by node in
 * execution order: for each visible output of each node, name "<node>_output" ("<node>_output<k>"
 * for several outputs, as mx_symbol_list_outputs names them); with monitor_all also, before the
 * node, each of its inputs as "<node>_<input name>" ("<node>_arg<i>" for variadic ops) and a
 * variable input under its own name too. name is valid during the call. arr is a new handle the
 * callee owns (frees with mx_ndarray_free): a copy of the value the node wrote, pushed right after
 * it (later nodes reuse its buffer), computed asynchronously like any op (reading it waits). A
 * monitored executor pushes one engine op per node instead of bulked segments. cb NULL removes the
 * callback: no cost afterwards. Executors made by mx_executor_reshape start without one. ABI 1.8. */
typedef void (*mx_executor_monitor_callback)(const char* name, mx_ndarray_t arr, void* user_data);
MX_API int mx_executor_set_monitor_callback(mx_executor_t ex, mx_executor_monitor_callback cb, void* user_data,
                                            int32_t monitor_all);

/* A symbol called like an op (MXNet's CachedOp, the hybridize path). flags: static_alloc,
 * static_shape ("True" / "False"). Inputs follow list_inputs. While autograd records, the graph
 * is recorded op by op, so backward reaches the inputs. Outputs: thread-local array of new
 * handles, as mx_imperative_invoke. */
typedef struct mx_cached_op* mx_cached_op_t;
MX_API int mx_cached_op_create(mx_symbol_t sym, uint32_t num_flags, const char** keys, const char** vals,
                               mx_cached_op_t* out);
MX_API int mx_cached_op_invoke(mx_cached_op_t op, uint32_t num_inputs, const mx_ndarray_t* inputs,
                               uint32_t* out_num, mx_ndarray_t** out_outputs);
MX_API int mx_cached_op_free(mx_cached_op_t op);

/* ---------------------------------------------------------------- KVStore (ABI 1.6) */

/* Parameter synchronisation (MXNet's KVStore). Types: "local" and "device" (several devices of this
 * process: cpu(0) … cpu(7) are logical CPU devices, each with its own engine worker pool),
 * "dist_sync" and "dist_async" (processes started by tools/launch.py over mpirun; needs the MPI
 * transport libmx_kvstore_mpi.so, else create fails naming what is missing), "nccl" (GPU arrays
 * of this process summed with NCCL; needs libmx_kvstore_nccl.so, built with the CUDA backend) and
 * "dist_device_sync" (NCCL across processes; not built yet: MX_ERR_UNSUPPORTED).
 *
 * Keys are strings: all integers written in decimal ("3") or all other strings, per store. In
 * init / push / pull a key may repeat: a pushed key's values are summed, a pulled key fills every
 * output given for it. Push and pull are asynchronous engine ops with a priority (higher first):
 * a push reads its values after their producers finished; a pull's outputs are ready when their
 * waits return. A lost peer (dist_*) fails the pending ops: waits on their arrays return -1 naming
 * the lost rank. A key pushed before init, or an array whose shape or dtype differs from init (or
 * between workers at init), is -1 with MX_ERR_NOT_FOUND / MX_ERR_SHAPE_MISMATCH naming the key and
 * both shapes. A store is used by one thread at a time. */
typedef struct mx_kvstore* mx_kvstore_t;
MX_API int mx_kvstore_create(const char* type, mx_kvstore_t* out);
MX_API int mx_kvstore_free(mx_kvstore_t kv);
/* The type given at create; valid while kv lives. */
MX_API int mx_kvstore_get_type(mx_kvstore_t kv, const char** out);
/* This worker's rank in [0, num_workers) (0 for local types). */
MX_API int mx_kvstore_get_rank(mx_kvstore_t kv, int32_t* out);
MX_API int mx_kvstore_get_num_workers(mx_kvstore_t kv, int32_t* out);
/* Returns once every worker has called it (after this worker's earlier pushes ran). */
MX_API int mx_kvstore_barrier(mx_kvstore_t kv);

/* One value per key; for dist_* worker 0's values win and every worker gets them. */
MX_API int mx_kvstore_init(mx_kvstore_t kv, int32_t num, const char* const* keys, const mx_ndarray_t* values);
MX_API int mx_kvstore_push(mx_kvstore_t kv, int32_t num, const char* const* keys, const mx_ndarray_t* values,
                           int32_t priority);
MX_API int mx_kvstore_pull(mx_kvstore_t kv, int32_t num, const char* const* keys, const mx_ndarray_t* outs,
                           int32_t priority);
/* push then pull, as one call. */
MX_API int mx_kvstore_pushpull(mx_kvstore_t kv, int32_t num_values, const char* const* value_keys,
                               const mx_ndarray_t* values, int32_t num_outs, const char* const* out_keys,
                               const mx_ndarray_t* outs, int32_t priority);
/* init then pull. */
MX_API int mx_kvstore_broadcast(mx_kvstore_t kv, int32_t num_values, const char* const* value_keys,
                                const mx_ndarray_t* values, int32_t num_outs, const char* const* out_keys,
                                const mx_ndarray_t* outs, int32_t priority);

/* updater(key, received, stored, user_data): folds the merged value received for key into the
 * stored one (usually by invoking an update op with stored as output). Called on the thread that
 * pushes, once per key per push call. received and stored are new handles the callee owns (it frees
 * them). A non-zero return fails that push with the callee's mx_get_last_error-style message if it
 * set one. Replaces any optimizer set before; not available for dist_async (use set_optimizer). */
typedef int (*mx_kvstore_updater)(const char* key, mx_ndarray_t received, mx_ndarray_t stored, void* user_data);
MX_API int mx_kvstore_set_updater(mx_kvstore_t kv, mx_kvstore_updater updater, void* user_data);
/* A store-side optimizer: "sgd" (params learning_rate, momentum, wd, rescale_grad, clip_gradient) or
 * "adam" (also beta1, beta2, epsilon); for dist_async it runs on the servers. */
MX_API int mx_kvstore_set_optimizer(mx_kvstore_t kv, const char* name, int32_t num_params, const char* const* keys,
                                    const char* const* vals);
/* type "2bit" (threshold > 0; MXNet's scheme, residuals kept per key) or "none". Before the first init;
 * not for "local" (as in MXNet). */
MX_API int mx_kvstore_set_gradient_compression(mx_kvstore_t kv, const char* type, double threshold);
/* The store-side optimizer's states (.params format). */
MX_API int mx_kvstore_save_optimizer_states(mx_kvstore_t kv, const char* path);
MX_API int mx_kvstore_load_optimizer_states(mx_kvstore_t kv, const char* path);
/* In a process the launcher started as a dist_async server: serves keys until every worker is done,
 * then returns 0; -1 if this process is a worker or a worker was lost (naming it). */
MX_API int mx_kvstore_run_server(void);

/* ---------------------------------------------------------------- profiler (ABI 1.9) */

/* MXNet's profiler, one per process. Every call is thread-safe.
 * Configuration, as MXNet's profiler.set_config: each call starts from the defaults and applies the
 * given keys. Keys: profile_all, profile_symbolic, profile_imperative (engine ops), profile_memory
 * (storage alloc/free), profile_api (kvstore calls and data iterators; also recorded with either op
 * key), aggregate_stats (keep statistics for mx_profiler_dumps) as "true"/"false"/"1"/"0" in any
 * case; filename (the trace mx_profiler_dump writes, default "profile.json"); continuous_dump,
 * dump_period and profile_process ("worker") are accepted and have no effect. -1 with
 * MX_ERR_INVALID_ARGUMENT naming an unknown key or a bad value; nothing is applied then. */
MX_API int mx_profiler_set_config(int32_t num, const char* const* keys, const char* const* vals);
/* run 1: start recording ("run"); 0: stop ("stop"), keeping the events until they are dumped. */
MX_API int mx_profiler_set_state(int32_t run);
/* *out_run: 1 while the state is "run"; *out_paused: 1 while paused (either may be NULL). */
MX_API int mx_profiler_get_state(int32_t* out_run, int32_t* out_paused);
/* paused 1 suspends recording (the state stays "run"); 0 resumes it. */
MX_API int mx_profiler_pause(int32_t paused);
/* Writes the events recorded so far to the configured filename as Chrome trace JSON (Trace Event
 * Format; open it in chrome://tracing or ui.perfetto.dev), atomically. finished 1: the events are
 * consumed (the next dump holds only later ones); 0: they are kept for the next dump as well.
 * -1 with MX_ERR_IO naming the file if it cannot be written. */
MX_API int mx_profiler_dump(int32_t finished);
/* MXNet's aggregate statistics as text: format "table" (NULL: "table") or "json"; sort_by "total"
 * (NULL: "total"), "avg", "min", "max" or "count"; ascending 0 sorts largest first. Rows appear
 * only while aggregate_stats is set. reset 1 clears the statistics after printing them.
 * *out stays valid until the next mx_profiler_dumps on the same thread. */
MX_API int mx_profiler_dumps(int32_t reset, const char* format, const char* sort_by, int32_t ascending,
                             const char** out);
/* The profiler's clock: nanoseconds of a steady clock since an arbitrary point of this process.
 * Spans given to mx_profiler_record_span use it. */
MX_API int mx_profiler_clock_ns(uint64_t* out_ns);
/* User events of a domain (MXNet's profiler.Domain; the domain is the trace's category and the
 * table's section), recorded only while recording: a span [begin_ns, end_ns) of the calling thread
 * (profiler.Task / Frame / Event), a counter's new value (profiler.Counter), an instant marker with
 * scope "global", "process" or "thread" (profiler.Marker; -1 naming another scope). */
MX_API int mx_profiler_record_span(const char* domain, const char* name, uint64_t begin_ns, uint64_t end_ns);
MX_API int mx_profiler_record_counter(const char* domain, const char* name, int64_t value);
MX_API int mx_profiler_record_marker(const char* domain, const char* name, const char* scope);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MX_C_API_H_ */
