// The profiler's internals shared by recording (profiler.cc), the Chrome trace writer
// (chrome_trace.cc) and the aggregate statistics (aggregate.cc).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "profiler/profiler.h"

namespace mx::profiler {

struct Event {
  std::string name;  // memory events: empty ("Memory: <device>" is derived when written)
  const char* cat = "";  // category_name() or an interned user domain: lives for the process
  Category category = kOperator;
  char ph = 'X';  // Chrome phase: 'X' complete span, 'C' counter, 'i' instant marker
  char scope = 't';  // 'i': 'g' global, 'p' process, 't' thread
  bool on_device = false;  // dev is meaningful (else a host event)
  Device dev;
  uint64_t begin_ns = 0, dur_ns = 0;
  int64_t value = 0;  // 'C': the counter (memory: bytes in use after the event)
  int64_t bytes = 0;  // memory: bytes handed out (> 0) or taken back (< 0)
};

// One thread's events, appended by that thread only. mu is contended only while a dump or dumps
// reads the buffer. Buffers outlive their threads (a finished prefetch thread's events stay).
struct ThreadBuffer {
  std::mutex mu;
  std::vector<Event> events;
  size_t dumped = 0;      // events before this were consumed by dump(finished=true)
  size_t aggregated = 0;  // events before this were folded into the aggregate statistics
  int64_t tid = 0;        // OS thread id
  std::string lane;       // "cpu(0) worker 0" once the engine ran an op here; else empty
};

// Every thread's buffer that has ever recorded, in order of first use.
std::vector<std::shared_ptr<ThreadBuffer>> all_buffers();
// Drops events both consumed by dump and (when aggregate statistics are kept) folded into them.
// Called with b.mu held.
void trim(ThreadBuffer& b, bool keep_for_aggregate);

// The current configuration (a copy, read under the control lock).
struct Config {
  bool profile_all = false, profile_symbolic = true, profile_imperative = true, profile_memory = true,
       profile_api = true;
  std::string filename = "profile.json";
  bool aggregate_stats = false;
  bool continuous_dump = false;  // accepted; each dump writes a complete file
  double dump_period = 1.0;      // accepted; no background dumps
  std::string profile_process = "worker";
};
Config config();

// Lane label of device dev ("cpu(0)") and events' names as shown ("Memory: cpu(0)").
std::string event_name(const Event& e);

// Writes events (tid-tagged) as Chrome's Trace Event Format JSON to path, atomically.
struct TaggedEvent {
  const Event* event;
  int64_t tid;
};
void write_chrome_trace(const std::string& path, const std::vector<TaggedEvent>& events,
                        const std::map<int64_t, std::string>& lanes);

// The aggregate statistics (aggregate.cc): fold new events, print, reset.
void aggregate_fold(const Event& e);
std::string aggregate_print(const std::string& format, const std::string& sort_by, bool ascending);
void aggregate_reset();

}  // namespace mx::profiler
