// The profiler (MXNet 1.x's mx.profiler): one per process. Modules call record_* where work
// happens — the engine where an op's function runs, storage on alloc/free, the kvstore and data
// iterators around their calls — and the user dumps the events as a Chrome trace
// (chrome_trace.cc) or reads the aggregate table (aggregate.cc).
//
// Cost. With recording off, each hook is one relaxed atomic load (recording()); nothing is
// allocated or locked. With recording on, each thread appends to its own buffer (its own mutex,
// which only a dump ever contends), so threads never serialise on one another.
//
// State, as MXNet: set_state(run) starts recording, set_state(stop) stops it and keeps the events
// until dump; pause / resume suspend recording while the state stays "run".
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/device.h"

namespace mx::profiler {

// What an event is about; each category is switched on by set_config's profile_* keys.
enum Category : uint32_t {
  kOperator = 0,  // engine ops (profile_symbolic / profile_imperative)
  kMemory = 1,    // storage alloc / free (profile_memory)
  kKVStore = 2,   // kvstore calls and their engine ops (profile_api, or any op profiling)
  kIO = 3,        // data iterators (profile_api, or any op profiling)
  kUser = 4,      // user domains: tasks, frames, events, counters, markers (always, while running)
  kNumCategories
};
// "operator", "memory", "kvstore", "io", "user": the trace's "cat" and the table's section.
const char* category_name(Category c);

namespace detail {
extern std::atomic<uint32_t> g_flags;  // kRecording | (1 << category) for each enabled category
}
constexpr uint32_t kRecording = 1u << 31;

// True while events of category c are recorded: the only cost of a hook when profiling is off.
inline bool recording(Category c) {
  const uint32_t want = kRecording | (1u << c);
  return (detail::g_flags.load(std::memory_order_relaxed) & want) == want;
}

// Nanoseconds on one steady clock since the profiler's epoch (the first call in the process).
uint64_t now_ns();

// ---- recording (call only when recording(category) is true; cheap no-ops otherwise)

// The worker lane an engine op ran on: names the recording thread "cpu(0) worker 1" in the trace.
struct Lane {
  const char* pool;  // "worker", "copy worker", "comm worker"
  int worker;
};
// A completed span [begin_ns, end_ns) named `name` (static storage: an op name or a literal) on
// device dev, recorded by the calling thread.
void record_span(Category c, const char* name, Device dev, uint64_t begin_ns, uint64_t end_ns,
                 const Lane* lane = nullptr) noexcept;
// Host-side span without a device (io, kvstore calls).
void record_host_span(Category c, const char* name, uint64_t begin_ns, uint64_t end_ns) noexcept;
// A pool handed out (bytes > 0) or took back (bytes < 0) a block; in_use is the pool's total after.
void record_memory(Device dev, int64_t bytes, uint64_t in_use) noexcept;
// User events of a named domain (MXNet's profiler.Domain): span (Task / Frame / Event), counter
// value, instant marker with scope "global" / "process" / "thread".
void record_user_span(const std::string& domain, std::string name, uint64_t begin_ns, uint64_t end_ns);
void record_user_counter(const std::string& domain, std::string name, int64_t value);
void record_user_marker(const std::string& domain, std::string name, const std::string& scope);

// Records a host span from construction to destruction when its category was on at construction.
class HostSpan {
 public:
  HostSpan(Category c, const char* name) : cat_(c), name_(name), on_(recording(c)), begin_(on_ ? now_ns() : 0) {}
  ~HostSpan() {
    if (on_) record_host_span(cat_, name_, begin_, now_ns());
  }
  HostSpan(const HostSpan&) = delete;
  HostSpan& operator=(const HostSpan&) = delete;

 private:
  Category cat_;
  const char* name_;
  bool on_;
  uint64_t begin_;
};

// ---- control (MXNet's profiler.set_config / set_state / pause / dump / dumps)

// Keys: profile_all, profile_symbolic, profile_imperative, profile_memory, profile_api (booleans:
// true/false/1/0, any case), filename, aggregate_stats, and MXNet's continuous_dump, dump_period,
// profile_process ("worker"), accepted and without effect (each dump writes a complete file).
// An unknown key or a bad value throws MX_ERR_INVALID_ARGUMENT naming both; nothing is applied then.
void set_config(const std::vector<std::pair<std::string, std::string>>& config);
void set_state(bool run);
void pause(bool paused);
bool running();
bool paused();

// Writes the events recorded so far as a Chrome trace to the configured filename, atomically
// (a temporary file renamed over it). finished: the events are consumed (the next dump starts
// after them); otherwise they stay for the next dump too. Throws MX_ERR_IO naming the file.
void dump(bool finished);
// MXNet's aggregate statistics: format "table" or "json"; sort_by "total", "avg", "min", "max",
// "count". reset clears the statistics after printing them. Empty of rows unless aggregate_stats.
std::string dumps(bool reset, const std::string& format, const std::string& sort_by, bool ascending);

}  // namespace mx::profiler
