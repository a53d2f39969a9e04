// The profile as Chrome's Trace Event Format (chrome://tracing, https://ui.perfetto.dev):
//   {"traceEvents": [{"name", "cat", "ph": "X", "ts", "dur", "pid", "tid", "args"}, ...],
//    "displayTimeUnit": "ms"}
// Times are microseconds. Each device is a process (pid 1, 2, ... named "cpu(0)", "gpu(0)") whose
// threads are the engine's worker lanes; host-side events (io, kvstore calls, user domains) are the
// process "host" (pid 0). Memory is a counter track "Memory: cpu(0)" (bytes in use) per device.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "base/error.h"
#include "profiler/events.h"

namespace mx::profiler {
namespace {

using json = nlohmann::ordered_json;

double us(uint64_t ns) { return double(ns) / 1000.0; }

int64_t device_key(const Device& d) { return int64_t(d.type) * (int64_t(1) << 32) + d.id; }

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = str_cat(path, ".tmp.", ::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail(MX_ERR_IO, "profiler dump: cannot write '", path, "': ", std::strerror(errno));
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    fail(MX_ERR_IO, "profiler dump: cannot write '", path, "': ", std::strerror(ok ? errno : err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    fail(MX_ERR_IO, "profiler dump: cannot write '", path, "': ", std::strerror(e));
  }
}

}  // namespace

void write_chrome_trace(const std::string& path, const std::vector<TaggedEvent>& events,
                        const std::map<int64_t, std::string>& lanes) {
  // Processes: host first, then devices in a stable order.
  std::map<int64_t, Device> devices;
  for (const TaggedEvent& t : events)
    if (t.event->on_device) devices.emplace(device_key(t.event->dev), t.event->dev);
  std::map<int64_t, int> pid_of;
  int next_pid = 1;
  for (const auto& [key, dev] : devices) pid_of[key] = next_pid++;
  auto pid = [&](const Event& e) { return e.on_device ? pid_of.at(device_key(e.dev)) : 0; };

  json trace = json::array();
  auto meta = [&](const char* what, int p, int64_t tid, json args) {
    json m;
    m["name"] = what;
    m["ph"] = "M";
    m["pid"] = p;
    m["tid"] = tid;
    m["args"] = std::move(args);
    trace.push_back(std::move(m));
  };
  meta("process_name", 0, 0, {{"name", "host"}});
  meta("process_sort_index", 0, 0, {{"sort_index", 0}});
  for (const auto& [key, dev] : devices) {
    meta("process_name", pid_of[key], 0, {{"name", dev.str()}});
    meta("process_sort_index", pid_of[key], 0, {{"sort_index", pid_of[key]}});
  }
  std::set<std::pair<int, int64_t>> threads;
  for (const TaggedEvent& t : events)
    if (t.event->ph != 'C') threads.emplace(pid(*t.event), t.tid);
  for (const auto& [p, tid] : threads) {
    auto it = lanes.find(tid);
    meta("thread_name", p, tid, {{"name", it != lanes.end() ? it->second : str_cat("thread ", tid)}});
  }

  for (const TaggedEvent& t : events) {
    const Event& e = *t.event;
    json j;
    j["name"] = event_name(e);
    j["cat"] = e.cat;
    j["ph"] = std::string(1, e.ph);
    j["ts"] = us(e.begin_ns);
    if (e.ph == 'X') j["dur"] = us(e.dur_ns);
    j["pid"] = pid(e);
    j["tid"] = t.tid;
    if (e.ph == 'i') j["s"] = std::string(1, e.scope);
    if (e.ph == 'C') {
      j["args"] = e.category == kMemory ? json{{"bytes_in_use", e.value}} : json{{e.name, e.value}};
    } else if (e.on_device) {
      j["args"] = {{"device", e.dev.str()}};
    } else {
      j["args"] = json::object();
    }
    trace.push_back(std::move(j));
  }
  json doc;
  doc["traceEvents"] = std::move(trace);
  doc["displayTimeUnit"] = "ms";
  // Names are the user's: invalid UTF-8 is replaced, never a failed dump.
  write_file_atomically(path, doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
}

}  // namespace mx::profiler
