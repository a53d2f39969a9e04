// Shared by the two halves of libmx_kvstore_mpi.so: mpi_transport.cc (state, waiting, heartbeats,
// init/finalize, the exported table) and mpi_ops.cc (the collectives and point-to-point slots).
//
// Locking: every MPI call of the plugin is made under one mutex (State::mpi_mu), so the plugin is
// correct with MPI_THREAD_SERIALIZED and the heartbeat thread never races a caller inside MPI.
// A blocking slot starts a non-blocking MPI call and polls it with MPI_Test, releasing the mutex
// between polls, so heartbeats keep flowing and a lost peer ends the wait.
#ifndef MX_KVSTORE_MPI_INTERNAL_H_
#define MX_KVSTORE_MPI_INTERNAL_H_

// The C API only: mpi.h would otherwise pull in the C++ bindings (libmpi_cxx, not linked).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport.h"

namespace mx::kvmpi {

using Clock = std::chrono::steady_clock;

enum Phase { kNew, kReady, kClosed };

struct State {
  std::mutex init_mu;            // serialises init and finalize
  std::mutex mpi_mu;             // held around every MPI call after init
  std::atomic<int> phase{kNew};  // set under both mutexes, after the fields below are filled
  bool we_initialized_mpi = false;
  int rank = 0, world = 1, num_workers = 1, num_servers = 0, tag_ub = 32767;
  double timeout_s = 0, heartbeat_s = 0;
  int64_t max_chunk = INT_MAX;       // elements per MPI call (< 2^31; MX_KVSTORE_MPI_CHUNK lowers it)
  MPI_Comm workers = MPI_COMM_NULL;  // the workers only (MPI_COMM_NULL on a server)
  MPI_Comm p2p = MPI_COMM_NULL;      // world's ranks, for send/probe/recv
  MPI_Comm hb = MPI_COMM_NULL;       // world's ranks, heartbeats only
  MPI_Op f16_sum = MPI_OP_NULL, bf16_sum = MPI_OP_NULL;

  // Liveness, written by the heartbeat thread under mpi_mu. After `lost` no MPI call is made.
  bool lost = false;
  std::string lost_cause;      // "lost rank 2 (no heartbeat for 3.1 s)"
  std::vector<char> departed;  // per world rank: said bye (finalized)
  std::vector<Clock::time_point> departed_at;
  std::thread heartbeat;
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop = false;

  // Messages that probe took off MPI's queue (MPI_Improbe) and recv has not received yet, under
  // mpi_mu. A thread's probes see its own claims only, so concurrent probers get distinct messages.
  struct Claim {
    int src, tag;
    int64_t bytes;
    MPI_Message msg;
    std::thread::id owner;
  };
  std::vector<Claim> claims;
};

State& S();

// Sets this thread's last error to "mx kvstore (rank r of n): <reason> during <what>"; returns -1.
int fail(const std::string& reason, const char* what);
// The same for an MPI error code (MPI_Error_string). Caller holds mpi_mu.
int fail_mpi(const char* fn, int code, const char* what);

// Locks mpi_mu for one step of an operation; fails if the transport is not usable (not yet
// initialized, finalized, or a peer was lost).
int enter(std::unique_lock<std::mutex>& lk, const char* what);

// Starts one MPI call under the lock.
template <class F>
int start(const char* fn, const char* what, F&& call) {
  std::unique_lock<std::mutex> lk;
  if (enter(lk, what)) return -1;
  const int code = call();
  return code == MPI_SUCCESS ? 0 : fail_mpi(fn, code, what);
}

// The peers a wait depends on: all workers (collectives), one rank, or any other rank (-1).
struct Peers {
  enum Kind { kWorkers, kOne, kAny } kind;
  int rank = -1;
  static Peers of(int r) { return r < 0 ? Peers{kAny} : Peers{kOne, r}; }
};

// Polls (under the lock) until poll() returns 1 (done) or -1 (failed, message set), or the
// transport fails, or the peers the wait needs finalized long ago. `bytes` sets how long to spin.
int poll_loop(const Peers& peers, int64_t bytes, const char* what, int (*poll)(void*), void* arg);

template <class F>
int poll_loop(const Peers& peers, int64_t bytes, const char* what, F&& poll) {
  return poll_loop(
      peers, bytes, what, [](void* f) { return (*static_cast<F*>(f))(); }, &poll);
}

// Waits for one request.
int wait(MPI_Request& req, MPI_Status* status, const Peers& peers, int64_t bytes, const char* what);

// mpi_ops.cc
void create_half_ops(State& s);
int allreduce_sum(void* buf, int64_t count, int32_t dtype, const char* what);
int allreduce_sum_into(const void* send, void* recv, int64_t count, int32_t dtype, const char* what);
int allgather(const void* send, int64_t bytes, void* recv, const char* what);
int broadcast(void* buf, int64_t bytes, int32_t root, const char* what);
int barrier(const char* what);
int send(int32_t dst, int32_t tag, const void* buf, int64_t bytes, const char* what);
int probe(int32_t src, int32_t tag, int32_t* out_src, int32_t* out_tag, int64_t* out_bytes, const char* what);
int recv(int32_t src, int32_t tag, void* buf, int64_t bytes, const char* what);

}  // namespace mx::kvmpi

#endif  // MX_KVSTORE_MPI_INTERNAL_H_
