/* Collectives between the GPUs of one process for the `nccl` KVStore: a plugin loaded at run time
 * (libmx_kvstore_nccl.so, over NCCL and the CUDA runtime), so libmx.so includes no CUDA or NCCL
 * header and links neither.
 *
 * C only, like transport.h: the plugin includes this header and abi/include/mx/c_api.h (dtype
 * codes), never another core header. It exports one symbol:
 *     int mx_kv_device_comm_init(mx_kv_device_comm* out);
 * which fills the table (struct_size first; the loader rejects another abi_major and never calls a
 * slot beyond the struct_size the plugin declared).
 *
 * Streams. `caller_stream` is the stream handle the engine hands an op on a GPU (RunContext::stream):
 * the mx CUDA backend's mx_stream_t (backends/cuda/cuda_backend.h, mxcuda::Stream), which the plugin
 * unwraps; the store checks that the GPUs are served by that backend. A collective never blocks the
 * host: it makes its own per-device streams wait for caller_stream, enqueues the NCCL group there,
 * and makes caller_stream wait for them, so whatever is recorded on caller_stream afterwards (the
 * engine's completion event) covers the collective. caller_stream NULL: the call returns once the
 * collective finished.
 *
 * Errors: a slot returns 0 or -1; after -1, last_error() gives the message (thread-local, valid
 * until the next call on that thread). Thread safety: create/destroy from any thread; the
 * collectives of one comm from one thread at a time (the engine's communication worker). */
#ifndef MX_KVSTORE_DEVICE_COMM_H_
#define MX_KVSTORE_DEVICE_COMM_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MX_KV_DEVICE_COMM_ABI_MAJOR 1
#define MX_KV_DEVICE_COMM_ABI_MINOR 0

typedef struct mx_kv_device_comm {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  const char* name;    /* "nccl" */
  const char* version; /* e.g. "NCCL 2.28.9 (CUDA runtime 13000)" */
  const char* (*last_error)(void);

  /* A communicator over ndev GPUs of this process (ncclCommInitAll); rank i is device_ids[i]
   * (distinct). Creates one stream per device for the collectives. */
  int (*create)(int32_t ndev, const int32_t* device_ids, void** out_comm);
  /* Waits for the comm's pending collectives, then frees it; NULL is a no-op. */
  int (*destroy)(void* comm);

  /* In-place elementwise sum over the comm's devices: bufs[i] (count elements of dtype) on
   * device_ids[i], n the comm's ndev. dtype: MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16,
   * MX_INT32, MX_INT64, MX_INT8, MX_UINT8. caller_stream is on device_ids[0] (see Streams). */
  int (*allreduce)(void* comm, int32_t n, void* const* bufs, int64_t count, int32_t dtype, void* caller_stream);
  /* A broadcast slot can follow at the end (minor version) when a store needs one. */
} mx_kv_device_comm;

typedef int (*mx_kv_device_comm_init_fn)(mx_kv_device_comm* out);

#ifdef __cplusplus
}
#endif

#endif /* MX_KVSTORE_DEVICE_COMM_H_ */
