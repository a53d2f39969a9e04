// The dependency engine (MXNet's ThreadedEnginePerDevice semantics).
//
// Every piece of mutable state (an NDArray's storage) has a Var. An op is pushed with the vars it
// reads and the vars it writes; it runs once every earlier writer of its reads, and every earlier
// reader and writer of its writes, has completed. Ops run on per-device worker pools; copy ops
// have their own pool with a priority queue.
//
// Errors. Both engines give exactly what running the ops one by one in push order would give,
// whatever the timing and the number of workers (tests/robustness/engine_errors_test.cc):
// - An op whose function throws fails: its error is stored on every var it writes.
// - An op that reads a var holding an error (as a read, or as a read-write: a var listed in both)
//   does not run its function; it stores that error on what it writes. Among several failed
//   inputs, the error of the earliest-pushed failing op wins.
// - A var keeps its error until an op writes it successfully (or wait_to_overwrite); waits never
//   clear it. So every reader and every wait, on any thread, sees it, whenever it runs.
// - wait_for_var throws the var's error (as mx::Error, same category and message) to whichever
//   thread waits, every time, and marks that failure reported.
// - wait_all throws the error of the earliest-pushed op that threw since the previous wait_all
//   and that no wait has reported yet; it then forgets every failure up to now (the vars keep
//   theirs). A failure is thus reported by wait_all at most once, and not at all once any wait,
//   on any thread, has thrown it.
// Waits and pushes of different threads are ordered by the caller's own synchronisation; whatever
// that order is, the rules above apply to it.
//
// Devices whose work is asynchronous (GPU streams) are ordered with the backend's events: an op
// "completes" for the engine once its work is enqueued; the next op on another stream waits on
// the recorded event on the device, and host-side consumers synchronise on it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/device.h"
#include "profiler/profiler.h"

namespace mx::engine {

struct Var;

// Per-worker state that other modules hang off a worker (temp space); destroyed with the worker.
struct WorkerData {
  virtual ~WorkerData() = default;
};

struct RunContext {
  Device device;
  void* stream = nullptr;  // backend stream of this worker; nullptr on synchronous devices
  int worker = 0;          // index within the worker's pool; -1: the pushing thread (a tiny inline op)
  std::unique_ptr<WorkerData>* worker_data = nullptr;
};

enum class FnProperty : uint8_t {
  kNormal,  // compute on the device's worker pool
  kCopy,    // data movement: the device's copy pool, ordered by priority
  kComm,    // communication that may block on other processes (KVStore): a one-thread pool per
            // device of its own, so compute and copies go on while it waits for the peers
};

using Fn = std::function<void(RunContext&)>;

// Backend streams and events, supplied by the plugin layer for devices that run asynchronously.
class DeviceStreams {
 public:
  virtual ~DeviceStreams() = default;
  virtual bool is_async(Device dev) = 0;
  virtual void* stream_create(Device dev) = 0;
  virtual void stream_destroy(Device dev, void* stream) = 0;
  virtual void stream_sync(Device dev, void* stream) = 0;
  virtual void* event_create(Device dev) = 0;
  virtual void event_destroy(Device dev, void* event) = 0;
  virtual void event_record(Device dev, void* event, void* stream) = 0;
  virtual void stream_wait_event(Device dev, void* stream, void* event) = 0;
  virtual void event_sync(Device dev, void* event) = 0;
  // A stream of the device's native API (cudaStream_t as an integer; DLPack's 1 and 2 are CUDA's
  // legacy and per-thread default streams) borrowed for stream_wait_event / event_record; release
  // it with stream_destroy, which leaves the native stream alone. Throws MX_ERR_UNSUPPORTED when
  // the backend cannot borrow streams.
  virtual void* stream_from_native(Device dev, uint64_t native) = 0;
};

struct PushOptions {
  FnProperty prop = FnProperty::kNormal;
  int priority = 0;  // higher runs first among ready ops of the same queue
  const char* name = "op";  // valid until the op has run (errors and the profiler copy it)
  profiler::Category category = profiler::kOperator;  // of its profiler events (kvstore ops: kKVStore)
  // A tiny host op (a 1-element add from Python): when every var it uses is free at push time,
  // the threaded engine runs it right there on the pushing thread instead of handing it to a
  // worker, which costs more than the op. Ordering and errors are as for any op (it runs only
  // once granted; a throw is stored on its writes). Only for synchronous devices, and for ops
  // that issue no engine ops of their own.
  bool may_run_inline = false;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* type() const = 0;

  // Pushes fn. A var listed in both reads and writes counts as a write; duplicates are ignored.
  virtual void push(Fn fn, Device dev, std::span<Var* const> reads, std::span<Var* const> writes,
                    const PushOptions& opts = {}) = 0;
  // Blocks until every pending write to var has finished, then throws the error stored on it
  // (it stays there). With for_write, also waits for pending reads.
  virtual void wait_for_var(Var* var, bool for_write = false) = 0;
  // wait_for_var(var) for a reader outside mx that works on `stream` of async device dev (a DLPack
  // consumer): instead of blocking the host on var's pending device work, makes that stream wait
  // for it. Blocks only until the writes are enqueued; throws var's error as wait_for_var does.
  virtual void wait_for_var_on_stream(Var* var, Device dev, void* stream) = 0;
  // For a caller about to overwrite all of var's contents outside the engine (a host copy):
  // waits like wait_for_var(var, true), then drops var's error instead of throwing it, as a
  // successful write would (the failure is still reported by wait_all if no wait reported it).
  virtual void wait_to_overwrite(Var* var) = 0;
  // Blocks until all pushed ops have finished; throws the earliest-pushed failure not yet
  // reported (see Errors above).
  virtual void wait_all() = 0;
  // Runs on_delete after every pending op on var, then frees the var. Never throws.
  virtual void delete_var(Var* var, std::function<void()> on_delete) = 0;
  // Frees var now and returns true when no op is pending or running on it and no device work is
  // left on it (the caller then releases what it guards itself); otherwise false, var untouched.
  // Only var's owner calls it, so no push can race it. Never throws.
  virtual bool delete_var_if_idle(Var* var) { return false; }
  // Ops pushed and not yet completed.
  virtual int64_t pending() const = 0;

  // fork() (see add_fork_hooks): prepare quiesces the engine (waits for all pushed work, parks
  // pushers of other threads, stops the worker threads) and holds its locks; parent resumes;
  // child resets the per-process state so the single-threaded child can push again.
  virtual void fork_prepare() {}
  virtual void fork_parent() {}
  virtual void fork_child() {}
};

Var* new_var();

// The process-wide engine: "threaded" unless MX_ENGINE_TYPE=naive.
Engine& get();
// Inside an extension's or custom op's kernel (a Python CustomOp's forward), ops the kernel itself
// issues run synchronously on the calling thread: the worker running the kernel cannot wait for
// work queued behind it. While an InlineScope lives on a thread, get() there is a naive engine.
// Arrays the kernel did not make (its captured globals) must not have pending work.
class InlineScope {
 public:
  InlineScope();
  ~InlineScope();
  InlineScope(const InlineScope&) = delete;
  InlineScope& operator=(const InlineScope&) = delete;

 private:
  Engine* saved_;
};

// The process-wide engine even inside an InlineScope: deleting a var goes there, so memory is
// returned only after work the threaded engine still has on it (an array a custom op drops).
Engine& process_engine();

// Replaces the engine after waiting for all work; threads is the CPU worker count of a new
// threaded engine (0: MX_CPU_WORKER_NTHREADS or 1). Not to be called while others push.
void set_type(const std::string& type, int cpu_threads = 0);

// For memory written outside mx on `stream` of async device dev (a DLPack producer): an event
// recorded there now (may throw), then made the last write of a var no op has used yet (nothrow),
// so every later op on the var waits for that point of the stream.
std::shared_ptr<void> record_foreign_write(Device dev, void* stream);
void adopt_foreign_write(Var* fresh_var, const std::shared_ptr<void>& point) noexcept;

// Fork safety, as MXNet 1.x's engine (pthread_atfork, registered once with the engine): before
// fork() the engine waits for all pushed work and stops its workers, then every registered hook's
// prepare takes its module's locks (so no lock is copied into the child held by a thread the child
// lacks); after fork() both processes release them (hooks in reverse order) and the child starts
// fresh worker pools on its next push, so mx works in DataLoader worker processes. A child forked
// after an async (GPU) device was used refuses that device with MX_ERR_UNSUPPORTED.
struct ForkHooks {
  void (*prepare)();
  void (*parent)();
  void (*child)();
};
void add_fork_hooks(const ForkHooks& hooks);

// Registers the plugin layer's streams (before any async device is used).
void set_device_streams(DeviceStreams* streams);
DeviceStreams* device_streams();

}  // namespace mx::engine
