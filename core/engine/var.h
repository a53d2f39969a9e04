// Engine internals shared by the threaded and the naive engine: vars, op blocks, the
// exception and event bookkeeping done when an op starts and completes.
#pragma once

#include <atomic>
#include <exception>
#include <string>
#include <memory>
#include <mutex>
#include <vector>

#include "base/block_pool.h"
#include "base/small_vec.h"
#include "engine/engine.h"

namespace mx::engine {

struct OprBlock;

// The failure of an op whose function threw, as stored on vars: plain data, so threads share no
// exception object (whose refcount would live in uninstrumented libstdc++); waiters throw a fresh
// mx::Error from it. Ops that did not run because an input had failed share their input's.
struct OpError {
  OpError(int32_t c, std::string m, uint64_t s) : code(c), message(std::move(m)), seq(s) {}
  const int32_t code;
  const std::string message;
  const uint64_t seq;                 // push order of the op that threw: the earliest one wins
  std::atomic<bool> reported{false};  // a wait has thrown it (wait_all then skips it)
};
using ErrorRef = std::shared_ptr<OpError>;

// Most ops touch a handful of vars: keep them inline.
using VarList = SmallVec<Var*, 6>;

// An event recorded on an async device stream, returned to its pool when the last user drops it.
struct Event {
  Device dev;
  void* handle = nullptr;
  void* stream = nullptr;  // stream it was recorded on
};
using EventRef = std::shared_ptr<Event>;

struct PendingDep {
  OprBlock* op = nullptr;
  bool write = false;
  bool heap = false;  // allocated separately (the op had more deps than inline nodes)
  PendingDep* next = nullptr;
};

// Tiny test-and-test-and-set lock: var critical sections are a few instructions long.
class SpinLock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!flag_.exchange(true, std::memory_order_acquire)) return;
      while (flag_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
    }
  }
  void unlock() noexcept { flag_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> flag_{false};
};

struct Var {
  // One per array, made and freed at a tiny op's rate: recycled like op blocks.
  static void* operator new(size_t) { return BlockPool<sizeof(Var)>::alloc(); }
  static void operator delete(void* p) { BlockPool<sizeof(Var)>::free(p); }

  SpinLock mu;
  // FIFO of ops waiting for this var; head is the oldest.
  PendingDep* head = nullptr;
  PendingDep* tail = nullptr;
  int running_reads = 0;
  bool running_write = false;
  // Set when the op that wrote it last failed (or did not run because an input had failed);
  // cleared only by the next successful write (or wait_to_overwrite), never by a wait.
  ErrorRef error;
  // Async devices: completion of the last write and of the reads since then.
  EventRef write_event;
  std::vector<EventRef> read_events;
};

struct OprBlock {
  // Made by the pushing thread, freed by a worker: recycled, never malloc'ed per op.
  static void* operator new(size_t) { return BlockPool<sizeof(OprBlock)>::alloc(); }
  static void operator delete(void* p) { BlockPool<sizeof(OprBlock)>::free(p); }

  std::atomic<int> wait{0};
  Fn fn;
  Device dev;
  PushOptions opts;
  bool inline_run = false;  // tiny host callback (wait, delete): run where it becomes ready
  bool deletes_var = false;
  bool waits_only = false;  // wait_for_var: observes the var, never takes or sets its error
  uint32_t read_writes = 0;  // writes[0, read_writes) were also listed as reads (in the bools' padding)
  uint64_t seq = 0;          // push order (next_seq)
  VarList reads, writes;
  ErrorRef error;
  // Queue nodes for this op's waits on its vars: one per var at most, so usually inline.
  static constexpr size_t kInlineDeps = 8;
  PendingDep dep_nodes[kInlineDeps];
  size_t used_nodes = 0;
};

// Removes duplicates and vars that also appear in writes (a read-write counts as a write, and
// goes first in out_writes). Returns how many writes are read-writes.
uint32_t normalise_deps(std::span<Var* const> reads, std::span<Var* const> writes, VarList& out_reads,
                        VarList& out_writes);

// Push order shared by every engine: errors are compared by it, so "earliest" means pushed first.
uint64_t next_seq();

// Before running op: picks up the earliest-pushed error among the vars it reads (read-writes
// included), and orders it after async work on its vars — on `stream` by device-side waits, or
// on the host (stream == nullptr) by synchronising events.
void prepare_run(OprBlock* op, void* stream);
// Runs op->fn unless an input already failed; stores a thrown exception on the op.
void execute(OprBlock* op, RunContext& ctx);
// After op ran on `stream` of an async device: records an event and attaches it to its vars.
void record_completion(OprBlock* op, void* stream);
// Stores the op's outcome on the vars it writes; notes an error its own function threw for
// wait_all.
void store_outcome(OprBlock* op);
// Host-synchronises the async work still touching var (its writes; its reads too with for_write).
void sync_host(Var* var, bool for_write);
// After a wait: sync_host, then throws the error stored on var (which stays there) and marks it
// reported.
void finish_wait(Var* var, bool for_write);
// finish_wait for a reader on `stream` (wait_for_var_on_stream): a device-side wait instead of a
// host sync, then var's error as finish_wait.
void finish_wait_on_stream(Var* var, void* stream);
// wait_to_overwrite, with write access to var: forgets its error.
void drop_error(Var* var);

// True once any op has run on an async stream: until then no var carries events and the
// per-op event bookkeeping is skipped.
bool events_in_use();

// Errors thrown by ops since the last wait_all; wait_all rethrows the earliest-pushed one that
// no wait has reported, and forgets the rest.
void note_failure(ErrorRef e);
ErrorRef take_unreported_failure();
// fork(): the failure list's lock, held across fork() by the forking thread (engine.cc).
void lock_errors_for_fork();
void unlock_errors_after_fork();
// Throws mx::Error carrying e (no-op for null).
void throw_error(const ErrorRef& e);

}  // namespace mx::engine
