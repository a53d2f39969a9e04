// MXNet's aggregate statistics (profiler.dumps): per category ("operator", "kvstore", "io", a user
// domain) and event name, the count and total / min / max / average time of its spans; per
// device, the count and min / max / average of the memory in use ("Device Storage"). Counters and
// markers of user domains appear only in the trace.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>

#include "profiler/events.h"

namespace mx::profiler {
namespace {

struct Stat {
  uint64_t count = 0;
  double total = 0;  // ms (spans) or kB (memory): summed for the average
  double min = std::numeric_limits<double>::infinity();
  double max = 0;
  void add(double v) {
    ++count;
    total += v;
    min = std::min(min, v);
    max = std::max(max, v);
  }
  double avg() const { return count ? total / double(count) : 0; }
};
using Rows = std::map<std::string, Stat>;

std::mutex g_mu;
std::map<std::string, Rows> g_time;  // section (category or domain) -> name -> stat
Rows g_memory;                       // "Memory: cpu(0)" -> kB in use

std::vector<std::pair<std::string, Stat>> sorted(const Rows& rows, const std::string& by, bool ascending) {
  std::vector<std::pair<std::string, Stat>> v(rows.begin(), rows.end());
  auto key = [&](const Stat& s) {
    if (by == "avg") return s.avg();
    if (by == "min") return s.min;
    if (by == "max") return s.max;
    if (by == "count") return double(s.count);
    return s.total;
  };
  std::stable_sort(v.begin(), v.end(), [&](const auto& a, const auto& b) {
    return ascending ? key(a.second) < key(b.second) : key(a.second) > key(b.second);
  });
  return v;
}

std::string fixed4(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string pad_left(const std::string& s, size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }
std::string pad_right(const std::string& s, size_t w) { return s.size() >= w ? s : std::string(w - s.size(), ' ') + s; }

void table_section(std::ostringstream& os, const std::string& title, const char* const* heads,
                   const std::vector<std::pair<std::string, Stat>>& rows, bool memory) {
  os << title << "\n=================\n";
  os << pad_left("Name", 40);
  for (int i = 0; heads[i]; ++i) os << pad_right(heads[i], 17);
  os << "\n" << pad_left("----", 40);
  for (int i = 0; heads[i]; ++i) os << pad_right(std::string(std::string(heads[i]).size(), '-'), 17);
  os << "\n";
  for (const auto& [name, s] : rows) {
    os << pad_left(name, 40) << pad_right(std::to_string(s.count), 17);
    if (!memory) os << pad_right(fixed4(s.total), 17);
    os << pad_right(fixed4(s.min), 17) << pad_right(fixed4(s.max), 17) << pad_right(fixed4(s.avg()), 17) << "\n";
  }
  os << "\n";
}

}  // namespace

void aggregate_fold(const Event& e) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (e.category == kMemory) g_memory[event_name(e)].add(double(e.value) / 1000.0);
  else if (e.ph == 'X') g_time[e.cat][e.name].add(double(e.dur_ns) / 1e6);
}

void aggregate_reset() {
  std::lock_guard<std::mutex> lk(g_mu);
  g_time.clear();
  g_memory.clear();
}

std::string aggregate_print(const std::string& format, const std::string& sort_by, bool ascending) {
  std::lock_guard<std::mutex> lk(g_mu);
  if (format == "json") {
    using json = nlohmann::ordered_json;
    json mem = json::object(), time = json::object();
    for (const auto& [name, s] : sorted(g_memory, sort_by, ascending))
      mem[name] = {{"Count", s.count}, {"Min", s.min}, {"Max", s.max}, {"Avg", s.avg()}};
    for (const auto& [section, rows] : g_time) {
      json sec = json::object();
      for (const auto& [name, s] : sorted(rows, sort_by, ascending))
        sec[name] = {{"Total", s.total}, {"Count", s.count}, {"Min", s.min}, {"Max", s.max}, {"Avg", s.avg()}};
      time[section] = std::move(sec);
    }
    json doc;
    doc["Memory"] = {{"Device Storage", std::move(mem)}};
    doc["Time"] = std::move(time);
    doc["Unit"] = {{"Time", "ms"}, {"Memory", "kB"}};
    return doc.dump(4, ' ', false, json::error_handler_t::replace);
  }
  std::ostringstream os;
  os << "\nProfile Statistics:\n\tNote the difference in units for different entries.\n";
  static const char* const mem_heads[] = {"Total Count", "Min Use  (kB)", "Max Use  (kB)", "Avg Use  (kB)", nullptr};
  static const char* const time_heads[] = {"Total Count",   "Time (ms)",     "Min Time (ms)",
                                           "Max Time (ms)", "Avg Time (ms)", nullptr};
  if (!g_memory.empty()) table_section(os, "Device Storage", mem_heads, sorted(g_memory, sort_by, ascending), true);
  for (const auto& [section, rows] : g_time) table_section(os, section, time_heads, sorted(rows, sort_by, ascending), false);
  return os.str();
}

}  // namespace mx::profiler
