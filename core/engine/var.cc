#include "engine/var.h"

#include "base/error.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace mx::engine {
namespace {

std::mutex g_error_mu;
std::atomic<bool> g_events_used{false};
ErrorRef g_first_error;

// Events are pooled per device: creating one costs microseconds on CUDA.
class EventPool {
 public:
  EventRef acquire(Device dev) {
    DeviceStreams* ds = device_streams();
    void* handle = nullptr;
    {
      std::lock_guard<std::mutex> lk(mu_);
      auto& free = free_[dev];
      if (!free.empty()) {
        handle = free.back();
        free.pop_back();
      }
    }
    if (!handle) handle = ds->event_create(dev);
    auto* ev = new Event{dev, handle, nullptr};
    return EventRef(ev, [this](Event* e) {
      {
        std::lock_guard<std::mutex> lk(mu_);
        free_[e->dev].push_back(e->handle);
      }
      delete e;
    });
  }

 private:
  std::mutex mu_;
  std::unordered_map<Device, std::vector<void*>> free_;
};

EventPool& event_pool() {
  static auto* pool = new EventPool();  // never destroyed: events may outlive static teardown
  return *pool;
}

void wait_event(const EventRef& ev, void* stream) {
  if (!ev) return;
  DeviceStreams* ds = device_streams();
  if (stream) {
    if (ev->stream != stream) ds->stream_wait_event(ev->dev, stream, ev->handle);
  } else {
    ds->event_sync(ev->dev, ev->handle);
  }
}

}  // namespace

void normalise_deps(std::span<Var* const> reads, std::span<Var* const> writes, VarList& out_reads,
                    VarList& out_writes) {
  out_writes.clear();
  out_reads.clear();
  for (Var* v : writes)
    if (v && std::find(out_writes.begin(), out_writes.end(), v) == out_writes.end()) out_writes.push_back(v);
  for (Var* v : reads)
    if (v && std::find(out_writes.begin(), out_writes.end(), v) == out_writes.end() &&
        std::find(out_reads.begin(), out_reads.end(), v) == out_reads.end())
      out_reads.push_back(v);
}

void prepare_run(OprBlock* op, void* stream) {
  const bool any_events = events_in_use();
  if (!op->waits_only) {
    for (Var* v : op->reads) {
      std::lock_guard<SpinLock> lk(v->mu);
      if (v->error && !op->error) op->error = v->error;
    }
  }
  if (!any_events) return;
  // Copy the refs under the lock, wait outside it.
  std::vector<EventRef> waits;
  for (Var* v : op->reads) {
    std::lock_guard<SpinLock> lk(v->mu);
    if (v->write_event) waits.push_back(v->write_event);
  }
  for (Var* v : op->writes) {
    std::lock_guard<SpinLock> lk(v->mu);
    if (v->write_event) waits.push_back(v->write_event);
    waits.insert(waits.end(), v->read_events.begin(), v->read_events.end());
  }
  for (const auto& ev : waits) wait_event(ev, stream);
}

void execute(OprBlock* op, RunContext& ctx) {
  if (op->error) return;
  try {
    op->fn(ctx);
  } catch (const Error& e) {
    op->error = std::make_shared<OpError>(OpError{e.code(), e.what()});
  } catch (const std::exception& e) {
    op->error = std::make_shared<OpError>(OpError{MX_ERR_INTERNAL, e.what()});
  } catch (...) {
    op->error = std::make_shared<OpError>(OpError{MX_ERR_INTERNAL, str_cat("op ", op->opts.name, " threw a non-standard exception")});
  }
}

void record_completion(OprBlock* op, void* stream) {
  if (!stream || op->error) return;
  g_events_used.store(true, std::memory_order_release);
  DeviceStreams* ds = device_streams();
  EventRef ev = event_pool().acquire(op->dev);
  ev->stream = stream;
  ds->event_record(op->dev, ev->handle, stream);
  for (Var* v : op->writes) {
    std::lock_guard<SpinLock> lk(v->mu);
    v->write_event = ev;
    v->read_events.clear();
  }
  for (Var* v : op->reads) {
    std::lock_guard<SpinLock> lk(v->mu);
    v->read_events.push_back(ev);
  }
}

void store_outcome(OprBlock* op) {
  if (op->waits_only) return;
  for (Var* v : op->writes) {
    std::lock_guard<SpinLock> lk(v->mu);
    v->error = op->error;
  }
  if (op->error) note_global_error(op->error);
}

void finish_wait(Var* var, bool for_write) {
  ErrorRef err;
  std::vector<EventRef> waits;
  {
    std::lock_guard<SpinLock> lk(var->mu);
    err = var->error;
    var->error = nullptr;
    if (var->write_event) waits.push_back(var->write_event);
    if (for_write) waits.insert(waits.end(), var->read_events.begin(), var->read_events.end());
  }
  for (const auto& ev : waits) wait_event(ev, nullptr);
  if (err) {
    // The error was observed: wait_all need not report it again.
    std::lock_guard<std::mutex> lk(g_error_mu);
    if (g_first_error == err) g_first_error = nullptr;
  }
  throw_error(err);
}

bool events_in_use() { return g_events_used.load(std::memory_order_acquire); }

void throw_error(const ErrorRef& e) {
  if (e) throw Error(e->code, e->message);
}

void note_global_error(ErrorRef e) {
  std::lock_guard<std::mutex> lk(g_error_mu);
  if (!g_first_error) g_first_error = e;
}

ErrorRef take_global_error() {
  std::lock_guard<std::mutex> lk(g_error_mu);
  return std::exchange(g_first_error, nullptr);
}

}  // namespace mx::engine
