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
constexpr size_t kMaxKept = 1024;  // failures kept between wait_alls (see note_failure)
std::vector<ErrorRef> g_failures;  // thrown since the last wait_all (guarded by g_error_mu)
uint64_t g_dropped = 0;            // failures past the bound not kept since the last wait_all
ErrorRef g_dropped_first;          // the earliest-pushed of them
// Each on a cache line of its own: the pushing thread bumps g_seq on every push while workers
// read g_events_used on every run, and sharing a line made each push cost a cache miss there.
alignas(64) std::atomic<bool> g_events_used{false};
alignas(64) std::atomic<uint64_t> g_seq{0};

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

uint32_t normalise_deps(std::span<Var* const> reads, std::span<Var* const> writes, VarList& out_reads,
                        VarList& out_writes) {
  out_writes.clear();
  out_reads.clear();
  uint32_t read_writes = 0;
  for (Var* v : writes) {
    if (!v || std::find(out_writes.begin(), out_writes.end(), v) != out_writes.end()) continue;
    out_writes.push_back(v);
    // A var the op also reads (an in-place update) goes first: its error stops the op too.
    if (std::find(reads.begin(), reads.end(), v) != reads.end())
      std::swap(out_writes[read_writes++], out_writes[out_writes.size() - 1]);
  }
  for (Var* v : reads)
    if (v && std::find(out_writes.begin(), out_writes.end(), v) == out_writes.end() &&
        std::find(out_reads.begin(), out_reads.end(), v) == out_reads.end())
      out_reads.push_back(v);
  return read_writes;
}

uint64_t next_seq() { return g_seq.fetch_add(1, std::memory_order_relaxed); }

namespace {
// Stores the exception in flight as op's error (the first one stays), as execute() does.
void fail_op(OprBlock* op) {
  if (op->error) return;
  try {
    throw;
  } catch (const Error& e) {
    op->error = std::make_shared<OpError>(e.code(), e.what(), op->seq);
  } catch (const std::exception& e) {
    op->error = std::make_shared<OpError>(MX_ERR_INTERNAL, e.what(), op->seq);
  } catch (...) {
    op->error = std::make_shared<OpError>(MX_ERR_INTERNAL, str_cat("op ", op->opts.name, ": device ordering failed"),
                                          op->seq);
  }
}
}  // namespace

void prepare_run(OprBlock* op, void* stream) {
  const bool any_events = events_in_use();
  if (!op->waits_only) {
    // A var's error changes only under write access, which no one has while op holds its vars:
    // what op sees here is what sequential execution would give, whatever the timing.
    auto take_error = [op](Var* v) {
      std::lock_guard<SpinLock> lk(v->mu);
      if (v->error && (!op->error || v->error->seq < op->error->seq)) op->error = v->error;
    };
    for (Var* v : op->reads) take_error(v);
    for (uint32_t i = 0; i < op->read_writes; ++i) take_error(op->writes[i]);
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
  // A device error here (a sticky CUDA error from an earlier kernel) fails this op, not the worker.
  try {
    for (const auto& ev : waits) wait_event(ev, stream);
  } catch (...) {
    fail_op(op);
  }
}

namespace {
// Runs op->fn; stores a thrown exception on the op.
void run_fn(OprBlock* op, RunContext& ctx) {
  try {
    op->fn(ctx);
  } catch (const Error& e) {
    op->error = std::make_shared<OpError>(e.code(), e.what(), op->seq);
  } catch (const std::exception& e) {
    op->error = std::make_shared<OpError>(MX_ERR_INTERNAL, e.what(), op->seq);
  } catch (...) {
    op->error = std::make_shared<OpError>(MX_ERR_INTERNAL, str_cat("op ", op->opts.name, " threw a non-standard exception"),
                                          op->seq);
  }
}

// run_fn, timed for the profiler: out of line, so the path with the profiler off stays as it was.
[[gnu::noinline]] void run_fn_profiled(OprBlock* op, RunContext& ctx) {
  static constexpr const char* kPools[] = {"worker", "copy worker", "comm worker"};
  const uint64_t begin = profiler::now_ns();
  run_fn(op, ctx);
  const profiler::Lane lane = ctx.worker < 0 ? profiler::Lane{"pushing thread", 0}
                                             : profiler::Lane{kPools[int(op->opts.prop)], ctx.worker};
  profiler::record_span(op->opts.category, op->opts.name, op->dev, begin, profiler::now_ns(), &lane);
}
}  // namespace

void execute(OprBlock* op, RunContext& ctx) {
  if (op->error) return;
  // The profiler's hook: one relaxed load when it is off; waits and deletes are not ops.
  if (profiler::recording(op->opts.category) && !op->inline_run) [[unlikely]]
    run_fn_profiled(op, ctx);
  else
    run_fn(op, ctx);
}

void record_completion(OprBlock* op, void* stream) {
  // Recorded even when the op failed: it may have enqueued work before failing, and whoever frees
  // or overwrites its vars must wait for that work too.
  if (!stream) return;
  g_events_used.store(true, std::memory_order_release);
  DeviceStreams* ds = device_streams();
  EventRef ev;
  try {
    ev = event_pool().acquire(op->dev);
    ev->stream = stream;
    ds->event_record(op->dev, ev->handle, stream);
  } catch (...) {
    fail_op(op);
    return;
  }
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
  // Only the op that threw is a new failure; ops skipped because of it are reported with it.
  if (op->error && op->error->seq == op->seq) note_failure(op->error);
}

void sync_host(Var* var, bool for_write) {
  std::vector<EventRef> waits;
  {
    std::lock_guard<SpinLock> lk(var->mu);
    if (var->write_event) waits.push_back(var->write_event);
    if (for_write) waits.insert(waits.end(), var->read_events.begin(), var->read_events.end());
  }
  for (const auto& ev : waits) wait_event(ev, nullptr);
}

void finish_wait(Var* var, bool for_write) {
  sync_host(var, for_write);
  ErrorRef err;
  {
    std::lock_guard<SpinLock> lk(var->mu);
    err = var->error;
  }
  if (!err) return;
  err->reported.store(true, std::memory_order_relaxed);  // wait_all after this wait sees it
  throw_error(err);
}

void finish_wait_on_stream(Var* var, void* stream) {
  EventRef ev;
  ErrorRef err;
  {
    std::lock_guard<SpinLock> lk(var->mu);
    ev = var->write_event;
    err = var->error;
  }
  // A borrowed stream is never an engine stream: wait_event's "same stream" shortcut cannot apply.
  // No stream (DLPack's -1): the consumer orders itself.
  if (ev && stream) device_streams()->stream_wait_event(ev->dev, stream, ev->handle);
  if (!err) return;
  err->reported.store(true, std::memory_order_relaxed);
  throw_error(err);
}

std::shared_ptr<void> record_foreign_write(Device dev, void* stream) {
  EventRef ev = event_pool().acquire(dev);
  ev->stream = nullptr;  // not an engine stream: every op waits for it device-side
  device_streams()->event_record(dev, ev->handle, stream);
  g_events_used.store(true, std::memory_order_release);
  return ev;
}

void adopt_foreign_write(Var* var, const std::shared_ptr<void>& point) noexcept {
  std::lock_guard<SpinLock> lk(var->mu);
  var->write_event = std::static_pointer_cast<Event>(point);
  var->read_events.clear();
}

void drop_error(Var* var) {
  std::lock_guard<SpinLock> lk(var->mu);
  var->error = nullptr;
}

void lock_errors_for_fork() { g_error_mu.lock(); }
void unlock_errors_after_fork() { g_error_mu.unlock(); }

bool events_in_use() { return g_events_used.load(std::memory_order_acquire); }

void throw_error(const ErrorRef& e) {
  if (e) throw Error(e->code, e->message);
}

void note_failure(ErrorRef e) {
  // Bounded, for programs that never call wait_all: failures a wait reported no longer matter,
  // and past that only the earliest-pushed ones can be wait_all's answer.
  std::lock_guard<std::mutex> lk(g_error_mu);
  if (g_failures.size() >= kMaxKept) {
    std::erase_if(g_failures, [](const ErrorRef& f) { return f->reported.load(std::memory_order_relaxed); });
    if (g_failures.size() >= kMaxKept) {
      auto latest = std::max_element(g_failures.begin(), g_failures.end(),
                                     [](const ErrorRef& a, const ErrorRef& b) { return a->seq < b->seq; });
      if ((*latest)->seq > e->seq) std::swap(*latest, e);
      // e (now the latest) is forgotten but for its count and, if earliest, itself.
      ++g_dropped;
      if (!g_dropped_first || e->seq < g_dropped_first->seq) g_dropped_first = std::move(e);
      return;
    }
  }
  g_failures.push_back(std::move(e));
}

ErrorRef take_unreported_failure() {
  std::vector<ErrorRef> failures;
  uint64_t dropped = 0;
  ErrorRef dropped_first;
  {
    std::lock_guard<std::mutex> lk(g_error_mu);
    failures.swap(g_failures);
    dropped = std::exchange(g_dropped, 0);
    dropped_first = std::exchange(g_dropped_first, nullptr);
  }
  // Completion order depends on timing, push order does not.
  ErrorRef first;
  for (ErrorRef& e : failures)
    if (!e->reported.load(std::memory_order_relaxed) && (!first || e->seq < first->seq)) first = e;
  // A forgotten failure may be earlier than every kept one: it was dropped while the list was full
  // of failures not yet reported, and later ones were kept once waits had reported those.
  if (dropped_first && !dropped_first->reported.load(std::memory_order_relaxed) &&
      (!first || dropped_first->seq < first->seq))
    first = dropped_first;
  if (first || !dropped) return first;
  // Every kept failure and the earliest forgotten one were reported; the other forgotten ones are
  // unknown, and success would be a lie.
  return std::make_shared<OpError>(
      dropped_first->code,
      str_cat(dropped, " ops failed since the last wait_all beyond the ", kMaxKept,
              " failures the engine keeps, and some may not have been reported; the first: ", dropped_first->message),
      dropped_first->seq);
}

}  // namespace mx::engine
