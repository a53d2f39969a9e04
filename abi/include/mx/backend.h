/* mx device-plugin interface. A backend is a shared library that includes only abi/ headers and
 * exports exactly one symbol:
 *
 *     int mx_backend_init(const mx_host_api* host, mx_backend_api* out);
 *
 * The host zero-fills *out, sets out->struct_size to the size it knows and calls the entry. The
 * plugin fills the slots it implements, sets out->struct_size to the size IT was built with (the
 * host never reads a slot past that), abi_major/abi_minor to MX_BACKEND_ABI_MAJOR/MINOR, and
 * returns 0 (or -1 after host->set_error). The host rejects a different abi_major.
 *
 * Conventions for every slot returning int: 0 ok, -1 error after host->set_error(code, message).
 * Plugins must not let C++ exceptions escape (the host still guards against it).
 *
 * Several plugins may serve one device type (ABI 1.3). The first plugin in discovery order that
 * has memory slots (alloc/free/copy) and devices owns the device type's memory, streams and
 * copies. A plugin that leaves alloc, free and copy NULL is a kernel-only plugin: its kernels run
 * on the owning plugin's memory and streams. ctx->stream is then the owner's opaque mx_stream_t:
 * such kernels enqueue on ctx->native_stream instead (the owner's cudaStream_t as an integer on
 * kDLCUDA; 0 on synchronous devices such as kDLCPU, where they run on the calling thread). Per op the host uses the kernel of the plugin with the
 * highest kernel_priority that has one; a create() that fails with MX_ERR_UNSUPPORTED (this
 * dtype, layout or attribute is not served) hands the call to the next plugin, any other failure
 * is the op's error. Users override priorities with MX_BACKEND_PRIORITY="dnnl=100,cpu=0" or
 * mx_backend_set_priority; mx_op_get_info and mx-info report which plugin serves each op.
 * Tensors cross the border as DLTensor (compact row-major unless strides are given). */
#ifndef MX_BACKEND_H_
#define MX_BACKEND_H_

#include <stddef.h>
#include <stdint.h>

#include <dlpack/dlpack.h>

#include "mx/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MX_BACKEND_ABI_MAJOR 1
#define MX_BACKEND_ABI_MINOR 3 /* 1: mx_kernel_ctx.is_train; 2: mx_kernel.workspace_bytes, stream_from_native;
                                   3: kernel_priority, kernel-only plugins, MX_ERR_UNSUPPORTED fallback */
#define MX_BACKEND_ENTRY_SYMBOL "mx_backend_init"

typedef void* mx_stream_t; /* a backend's in-order work queue (cudaStream_t, …) */
typedef void* mx_event_t;  /* a marker recorded on a stream (cudaEvent_t, …) */

/* ---------------------------------------------------------------- host services */

#define MX_LOG_DEBUG 0
#define MX_LOG_INFO 1
#define MX_LOG_WARNING 2
#define MX_LOG_ERROR 3

typedef struct mx_host_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  /* Writes a line to the host's log. */
  void (*log)(int32_t level, const char* backend_name, const char* message);
  /* Records the reason of the failure the calling slot is about to return -1 for. code is an
   * MX_ERR_* category (see c_api.h); message should name the op, shapes or call that failed. */
  void (*set_error)(int32_t code, const char* message);
  /* Threads a backend may use inside one kernel (respects the host's worker configuration). */
  int32_t (*intra_op_threads)(void);
} mx_host_api;

/* ---------------------------------------------------------------- kernels */

/* What a kernel's create() sees: the op, its attributes already validated and completed with
 * defaults by the host's schema (canonical string forms), and the tensors it will run on
 * (data pointers are NULL: shapes, dtypes and device only). */
typedef struct mx_kernel_args {
  uint32_t struct_size;
  const char* op_name;
  int32_t num_attrs;
  const char* const* attr_keys;
  const char* const* attr_vals;
  int32_t num_inputs;
  const DLTensor* inputs;
  int32_t num_outputs;
  const DLTensor* outputs;
  int32_t device_id;
} mx_kernel_args;

/* What a kernel's run() gets from the host on each call. */
typedef struct mx_kernel_ctx {
  uint32_t struct_size;
  int32_t device_id;
  mx_stream_t stream;    /* the stream to enqueue work on (NULL: synchronous device) */
  void* temp_space;      /* scratch of temp_bytes, owned by the worker, valid during run() */
  uint64_t temp_bytes;
  uint64_t rng_seed;     /* Philox key, see mx/philox.h */
  uint64_t rng_offset;   /* first Philox counter block reserved for this call */
  /* ABI 1.1: 1 when the op runs in training mode (autograd's training flag at push time).
   * Read it only when struct_size covers it; older hosts mean "not training". */
  int32_t is_train;
  /* ABI 1.3: ctx->stream in the device's native API (cudaStream_t as an integer), for kernels of
   * kernel-only plugins and extension libraries, which cannot read the owner's mx_stream_t; 0 on
   * synchronous devices or when the owner cannot tell (no stream_native slot). */
  uint64_t native_stream;
} mx_kernel_ctx;

typedef struct mx_kernel {
  uint32_t struct_size;
  const char* op_name;
  /* Parses attributes and prepares a plan for these shapes; *out_state is passed to run and
   * destroy. Called once per (attrs, shapes, dtypes, device), not per call. */
  int (*create)(const mx_kernel_args* args, void** out_state);
  /* Runs (or enqueues on ctx->stream) the op. Must be safe to call from several threads with
   * the same state. */
  int (*run)(void* state, const mx_kernel_ctx* ctx, const DLTensor* inputs, int32_t num_inputs,
             DLTensor* outputs, int32_t num_outputs);
  void (*destroy)(void* state);
  /* ABI 1.2, optional (NULL, or a struct_size that does not cover it: none). Device scratch that
   * run() on this state needs (a cuDNN algorithm's workspace, …): the host then passes at least
   * that many bytes as ctx->temp_space, from its pooled temp space of the worker's device. */
  uint64_t (*workspace_bytes)(void* state);
} mx_kernel;

/* ---------------------------------------------------------------- the backend table */

typedef struct mx_device_props {
  uint32_t struct_size;
  char name[256];
  uint64_t total_memory;
  uint64_t free_memory;
  int32_t supports_async;
  int32_t supports_events;
  int32_t supports_pinned;
} mx_device_props;

typedef struct mx_backend_api {
  uint32_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;

  /* identity */
  const char* name;       /* "cpu", "cuda" */
  int32_t device_type;    /* DLDeviceType served: kDLCPU, kDLCUDA */
  const char* version;    /* plugin version, e.g. "0.1.0 (CUDA runtime 13.0)" */

  /* devices: count may be 0, then *reason says why (static or plugin-owned string) */
  int (*device_count)(int32_t* out_count, const char** out_reason);
  int (*device_props)(int32_t device_id, mx_device_props* out);

  /* memory: alignment is at least 64 bytes (256 on GPUs) */
  int (*alloc)(int32_t device_id, uint64_t bytes, uint64_t alignment, void** out_ptr);
  void (*free)(int32_t device_id, void* ptr);
  int (*alloc_pinned)(uint64_t bytes, void** out_ptr); /* NULL if the device has none */
  void (*free_pinned)(void* ptr);

  /* copies between any two tensors this backend can address (host <-> device, device <->
   * device), enqueued on stream (NULL: default stream, synchronous to the caller) */
  int (*copy)(const DLTensor* src, DLTensor* dst, mx_stream_t stream);

  /* streams and events */
  int (*stream_create)(int32_t device_id, mx_stream_t* out);
  int (*stream_destroy)(mx_stream_t stream);
  int (*stream_sync)(mx_stream_t stream);
  int (*event_create)(int32_t device_id, mx_event_t* out);
  int (*event_destroy)(mx_event_t event);
  int (*event_record)(mx_event_t event, mx_stream_t stream);
  int (*stream_wait_event)(mx_stream_t stream, mx_event_t event); /* no host blocking */
  int (*event_query)(mx_event_t event, int32_t* out_done);
  int (*event_sync)(mx_event_t event);

  /* kernels: NULL if the backend has no kernel for op_name */
  const mx_kernel* (*find_kernel)(const char* op_name);
  /* every op name this backend has a kernel for; array and strings owned by the plugin */
  int (*list_kernels)(int32_t* out_num, const char* const** out_names);

  /* ABI 1.2, optional (NULL: streams cannot be borrowed). Wraps a stream of the device's native
   * API (cudaStream_t as an integer; 1 and 2 are CUDA's legacy and per-thread default streams, as
   * in DLPack) as an mx_stream_t for event_record / stream_wait_event, so a DLPack producer or
   * consumer's stream can be ordered with mx's work. stream_destroy releases the wrapper and
   * leaves the native stream alone. */
  int (*stream_from_native)(int32_t device_id, uint64_t native_stream, mx_stream_t* out);

  /* ABI 1.3, optional (0 when struct_size does not cover it). Rank of this plugin's kernels among
   * the plugins serving device_type; the built-in backends declare 0, an accelerated library that
   * should take over the ops it has declares more (the oneDNN plugin: 100). */
  int32_t kernel_priority;

  /* ABI 1.3, optional (NULL: none). The native handle of one of this plugin's streams
   * (cudaStream_t as an integer), passed to other plugins' kernels as mx_kernel_ctx.native_stream. */
  int (*stream_native)(mx_stream_t stream, uint64_t* out_native);
} mx_backend_api;

typedef int (*mx_backend_init_fn)(const mx_host_api* host, mx_backend_api* out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MX_BACKEND_H_ */
