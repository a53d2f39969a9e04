// The dependency engine (MXNet's ThreadedEnginePerDevice semantics).
//
// Every piece of mutable state (an NDArray's storage) has a Var. An op is pushed with the vars it
// reads and the vars it writes; it runs once every earlier writer of its reads, and every earlier
// reader and writer of its writes, has completed. Ops run on per-device worker pools; copy ops
// have their own pool with a priority queue. An exception thrown by an op is stored on the vars
// it writes (and propagates to ops that read them) and is rethrown by wait_for_var / wait_all.
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

namespace mx::engine {

struct Var;

// Per-worker state that other modules hang off a worker (temp space); destroyed with the worker.
struct WorkerData {
  virtual ~WorkerData() = default;
};

struct RunContext {
  Device device;
  void* stream = nullptr;  // backend stream of this worker; nullptr on synchronous devices
  int worker = 0;          // index within the worker's pool
  std::unique_ptr<WorkerData>* worker_data = nullptr;
};

enum class FnProperty : uint8_t {
  kNormal,  // compute on the device's worker pool
  kCopy,    // data movement: the device's copy pool, ordered by priority
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
};

struct PushOptions {
  FnProperty prop = FnProperty::kNormal;
  int priority = 0;  // higher runs first among ready ops of the same queue
  const char* name = "op";
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* type() const = 0;

  // Pushes fn. A var listed in both reads and writes counts as a write; duplicates are ignored.
  virtual void push(Fn fn, Device dev, std::span<Var* const> reads, std::span<Var* const> writes,
                    const PushOptions& opts = {}) = 0;
  // Blocks until every pending write to var has finished, then rethrows (once) an error stored
  // on it. With for_write, also waits for pending reads.
  virtual void wait_for_var(Var* var, bool for_write = false) = 0;
  // Blocks until all pushed ops have finished; rethrows the first error raised since the last
  // wait_all.
  virtual void wait_all() = 0;
  // Runs on_delete after every pending op on var, then frees the var. Never throws.
  virtual void delete_var(Var* var, std::function<void()> on_delete) = 0;
  // Ops pushed and not yet completed.
  virtual int64_t pending() const = 0;
};

Var* new_var();

// The process-wide engine: "threaded" unless MX_ENGINE_TYPE=naive.
Engine& get();
// Replaces the engine after waiting for all work; threads is the CPU worker count of a new
// threaded engine (0: MX_CPU_WORKER_NTHREADS or 1). Not to be called while others push.
void set_type(const std::string& type, int cpu_threads = 0);

// Registers the plugin layer's streams (before any async device is used).
void set_device_streams(DeviceStreams* streams);
DeviceStreams* device_streams();

}  // namespace mx::engine
