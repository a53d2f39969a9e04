/* The distributed transport of the KVStore: a plugin loaded at run time (libmx_kvstore_mpi.so), so
 * libmx.so links no MPI and a user without MPI still has the `local` and `device` stores.
 *
 * C only, like abi/: the plugin includes this header and abi/include/mx/c_api.h (dtype codes),
 * never another core header. It exports one symbol:
 *     int mx_kv_transport_init(mx_kv_transport* out);
 * which fills the table (struct_size first; the loader rejects another abi_major and never calls a
 * slot beyond the struct_size the plugin declared).
 *
 * Processes. `init` joins the job the launcher started (mpirun): world ranks [0, num_workers) are
 * workers, [num_workers, world_size) servers (num_servers of them, from the options). Collectives
 * run among the workers only; point-to-point messages use world ranks.
 *
 * Faults. Every blocking call waits with liveness checks: each process sends a heartbeat to every
 * other one every heartbeat_s seconds from a thread of its own; a peer silent for timeout_s seconds
 * is lost, and every call waiting then (or later) fails with a message naming the lost rank(s) and
 * the operation (`what`). After a loss the transport stays failed; finalize then skips the
 * collective shutdown so the process can exit. A process that finalizes tells the others first, so
 * finishing early is not a loss; a wait that still needs a finalized rank fails timeout_s later.
 *
 * Errors: a slot returns 0 or -1; after -1, last_error() gives the message (thread-local, valid
 * until the next call on that thread). Thread safety: every slot may be called from any thread;
 * the plugin serialises its MPI calls. */
#ifndef MX_KVSTORE_TRANSPORT_H_
#define MX_KVSTORE_TRANSPORT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MX_KV_TRANSPORT_ABI_MAJOR 1
#define MX_KV_TRANSPORT_ABI_MINOR 1 /* 1: allreduce_sum_into */

typedef struct mx_kv_transport_options {
  uint32_t struct_size;  /* sizeof(mx_kv_transport_options) as the caller knows it */
  int32_t num_servers;   /* world ranks >= world_size - num_servers are servers */
  double timeout_s;      /* a peer silent this long is lost (> 0) */
  double heartbeat_s;    /* heartbeat period (> 0, < timeout_s) */
} mx_kv_transport_options;

typedef struct mx_kv_transport {
  uint32_t struct_size;
  uint16_t abi_major, abi_minor;
  const char* name;    /* "mpi" */
  const char* version; /* e.g. "Open MPI v4.1.4" */

  /* Joins the job (once per process; later calls return the same ranks). */
  int (*init)(const mx_kv_transport_options* opts, int32_t* out_rank, int32_t* out_world_size);
  /* Leaves the job (MPI_Finalize) unless a peer was lost; idempotent. Called at process exit. */
  int (*finalize)(void);
  const char* (*last_error)(void);

  /* ---- collectives among the workers (every worker calls them in the same order) */
  /* In-place elementwise sum of count elements of dtype (MX_FLOAT32, MX_FLOAT64, MX_FLOAT16,
   * MX_BFLOAT16, MX_INT32, MX_INT64, MX_INT8, MX_UINT8). */
  int (*allreduce_sum)(void* buf, int64_t count, int32_t dtype, const char* what);
  /* recv receives bytes from every worker in rank order (num_workers * bytes in all). */
  int (*allgather)(const void* send, int64_t bytes, void* recv, const char* what);
  /* buf of root (a worker rank) is copied into every worker's buf. */
  int (*broadcast)(void* buf, int64_t bytes, int32_t root, const char* what);
  int (*barrier)(const char* what);

  /* ---- point-to-point between any world ranks */
  /* Returns once buf may be reused. tag >= 0. The MPI transport takes messages (and allgather
   * contributions) of < 2^31 bytes and reports larger ones as errors; allreduce has no limit. */
  int (*send)(int32_t dst, int32_t tag, const void* buf, int64_t bytes, const char* what);
  /* Waits for a message from src (-1: any) with tag (-1: any) and reports its source, tag and size
   * without receiving it. Waits as long as the peers it could come from are alive. */
  int (*probe)(int32_t src, int32_t tag, int32_t* out_src, int32_t* out_tag, int64_t* out_bytes,
               const char* what);
  /* Receives the message a probe reported (bytes must equal its size). */
  int (*recv)(int32_t src, int32_t tag, void* buf, int64_t bytes, const char* what);

  /* ---- minor 1 */
  /* recv = the sum over the workers of their send buffers (count elements each; send and recv do
   * not overlap): the pushed value reduced without copying it first. */
  int (*allreduce_sum_into)(const void* send, void* recv, int64_t count, int32_t dtype, const char* what);
} mx_kv_transport;

typedef int (*mx_kv_transport_init_fn)(mx_kv_transport* out);

#ifdef __cplusplus
}
#endif

#endif /* MX_KVSTORE_TRANSPORT_H_ */
