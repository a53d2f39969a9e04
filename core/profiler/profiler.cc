// Recording (per-thread buffers), configuration and state of the process-wide profiler.
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <set>

#include "base/error.h"
#include "profiler/events.h"

namespace mx::profiler {
namespace detail {
std::atomic<uint32_t> g_flags{0};
}  // namespace detail

namespace {

// Control state: changed by set_config / set_state / pause, under g_ctl_mu.
std::mutex g_ctl_mu;
Config g_config;
bool g_running = false, g_paused = false;

// dump() and dumps() one at a time: each consumes buffer events by index, and a trim by the other
// between dump()'s copy and its consume would shift those indices (dumped past the end).
std::mutex g_consume_mu;

// Every buffer ever registered; never destroyed (threads may record during static teardown).
std::mutex g_reg_mu;
auto* g_buffers = new std::vector<std::shared_ptr<ThreadBuffer>>();
// User domain names, interned so events can point at them.
auto* g_domains = new std::set<std::string>();

void update_flags_locked() {
  const Config& c = g_config;
  const bool ops = c.profile_all || c.profile_symbolic || c.profile_imperative;
  uint32_t f = 1u << kUser;
  if (ops) f |= 1u << kOperator;
  if (c.profile_all || c.profile_memory) f |= 1u << kMemory;
  if (ops || c.profile_api) f |= (1u << kKVStore) | (1u << kIO);
  if (g_running && !g_paused) f |= kRecording;
  detail::g_flags.store(f, std::memory_order_relaxed);
}

ThreadBuffer& my_buffer() {
  thread_local std::shared_ptr<ThreadBuffer> t_buf = [] {
    auto b = std::make_shared<ThreadBuffer>();
    b->tid = int64_t(::syscall(SYS_gettid));
    std::lock_guard<std::mutex> lk(g_reg_mu);
    g_buffers->push_back(b);
    return b;
  }();
  return *t_buf;
}

// Never throws: hooks run inside engine workers and destructors; an event that cannot be stored
// (host out of memory) is dropped.
void append(Event&& e, const Lane* lane = nullptr, Device dev = {}) noexcept {
  try {
    ThreadBuffer& b = my_buffer();
    std::lock_guard<std::mutex> lk(b.mu);
    if (lane && b.lane.empty()) b.lane = str_cat(dev.str(), " ", lane->pool, " ", lane->worker);
    b.events.push_back(std::move(e));
  } catch (...) {
  }
}

const char* intern_domain(const std::string& domain) {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  return g_domains->insert(domain).first->c_str();
}

bool parse_bool(const std::string& key, const std::string& v) {
  std::string s = v;
  for (char& ch : s) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  if (s == "true" || s == "1") return true;
  if (s == "false" || s == "0") return false;
  fail(MX_ERR_INVALID_ARGUMENT, "profiler set_config: '", key, "' must be a boolean (True/False/1/0), got '", v,
       "'");
}

}  // namespace

const char* category_name(Category c) {
  static const char* const names[kNumCategories] = {"operator", "memory", "kvstore", "io", "user"};
  return c < kNumCategories ? names[c] : "unknown";
}

uint64_t now_ns() {
  static const auto epoch = std::chrono::steady_clock::now();
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - epoch)
                      .count());
}

void record_span(Category c, const char* name, Device dev, uint64_t begin_ns, uint64_t end_ns, const Lane* lane) noexcept {
  try {
    Event e;
    e.name = name ? name : "op";
    e.cat = category_name(c);
    e.category = c;
    e.on_device = true;
    e.dev = dev;
    e.begin_ns = begin_ns;
    e.dur_ns = end_ns > begin_ns ? end_ns - begin_ns : 0;
    append(std::move(e), lane, dev);
  } catch (...) {  // dropped, as append() drops
  }
}

void record_host_span(Category c, const char* name, uint64_t begin_ns, uint64_t end_ns) noexcept {
  try {
    Event e;
    e.name = name;
    e.cat = category_name(c);
    e.category = c;
    e.begin_ns = begin_ns;
    e.dur_ns = end_ns > begin_ns ? end_ns - begin_ns : 0;
    append(std::move(e));
  } catch (...) {  // dropped, as append() drops
  }
}

void record_memory(Device dev, int64_t bytes, uint64_t in_use) noexcept {
  try {
    Event e;
    e.cat = category_name(kMemory);
    e.category = kMemory;
    e.ph = 'C';
    e.on_device = true;
    e.dev = dev;
    e.begin_ns = now_ns();
    e.value = int64_t(in_use);
    e.bytes = bytes;
    append(std::move(e));
  } catch (...) {  // dropped, as append() drops
  }
}

void record_user_span(const std::string& domain, std::string name, uint64_t begin_ns, uint64_t end_ns) {
  Event e;
  e.name = std::move(name);
  e.cat = intern_domain(domain);
  e.category = kUser;
  e.begin_ns = begin_ns;
  e.dur_ns = end_ns > begin_ns ? end_ns - begin_ns : 0;
  append(std::move(e));
}

void record_user_counter(const std::string& domain, std::string name, int64_t value) {
  Event e;
  e.name = std::move(name);
  e.cat = intern_domain(domain);
  e.category = kUser;
  e.ph = 'C';
  e.begin_ns = now_ns();
  e.value = value;
  append(std::move(e));
}

void record_user_marker(const std::string& domain, std::string name, const std::string& scope) {
  char s;
  if (scope == "global") s = 'g';
  else if (scope == "process") s = 'p';
  else if (scope == "thread" || scope == "task" || scope == "marker") s = 't';
  else
    fail(MX_ERR_INVALID_ARGUMENT, "profiler marker '", name, "': scope must be global, process or thread, got '",
         scope, "'");
  Event e;
  e.name = std::move(name);
  e.cat = intern_domain(domain);
  e.category = kUser;
  e.ph = 'i';
  e.scope = s;
  e.begin_ns = now_ns();
  append(std::move(e));
}

std::string event_name(const Event& e) {
  if (e.category == kMemory) return "Memory: " + e.dev.str();
  return e.name;
}

std::vector<std::shared_ptr<ThreadBuffer>> all_buffers() {
  std::lock_guard<std::mutex> lk(g_reg_mu);
  return *g_buffers;
}

void trim(ThreadBuffer& b, bool keep_for_aggregate) {
  const size_t n = keep_for_aggregate ? std::min(b.dumped, b.aggregated) : b.dumped;
  if (n == 0) return;
  b.events.erase(b.events.begin(), b.events.begin() + std::ptrdiff_t(n));
  b.dumped -= n;
  b.aggregated = b.aggregated > n ? b.aggregated - n : 0;
}

Config config() {
  std::lock_guard<std::mutex> lk(g_ctl_mu);
  return g_config;
}

void set_config(const std::vector<std::pair<std::string, std::string>>& kvs) {
  Config c;  // MXNet: every call starts from the defaults
  for (const auto& [k, v] : kvs) {
    if (k == "profile_all") c.profile_all = parse_bool(k, v);
    else if (k == "profile_symbolic") c.profile_symbolic = parse_bool(k, v);
    else if (k == "profile_imperative") c.profile_imperative = parse_bool(k, v);
    else if (k == "profile_memory") c.profile_memory = parse_bool(k, v);
    else if (k == "profile_api") c.profile_api = parse_bool(k, v);
    else if (k == "aggregate_stats") c.aggregate_stats = parse_bool(k, v);
    else if (k == "continuous_dump") c.continuous_dump = parse_bool(k, v);
    else if (k == "filename") {
      if (v.empty()) fail(MX_ERR_INVALID_ARGUMENT, "profiler set_config: 'filename' is empty");
      c.filename = v;
    } else if (k == "dump_period") {
      char* end = nullptr;
      const double p = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0' || !(p > 0))
        fail(MX_ERR_INVALID_ARGUMENT, "profiler set_config: 'dump_period' must be a positive number, got '", v, "'");
      c.dump_period = p;
    } else if (k == "profile_process") {
      if (v != "worker")
        fail(MX_ERR_INVALID_ARGUMENT, "profiler set_config: 'profile_process' must be 'worker' (no servers are ",
             "profiled), got '", v, "'");
    } else {
      fail(MX_ERR_INVALID_ARGUMENT, "profiler set_config: unknown key '", k,
           "' (known: profile_all, profile_symbolic, profile_imperative, profile_memory, profile_api, filename, ",
           "aggregate_stats, continuous_dump, dump_period, profile_process)");
    }
  }
  std::lock_guard<std::mutex> lk(g_ctl_mu);
  g_config = c;
  update_flags_locked();
}

void set_state(bool run) {
  std::lock_guard<std::mutex> lk(g_ctl_mu);
  g_running = run;
  if (!run) g_paused = false;
  update_flags_locked();
}

void pause(bool paused) {
  std::lock_guard<std::mutex> lk(g_ctl_mu);
  g_paused = paused;
  update_flags_locked();
}

bool running() {
  std::lock_guard<std::mutex> lk(g_ctl_mu);
  return g_running;
}

bool paused() {
  std::lock_guard<std::mutex> lk(g_ctl_mu);
  return g_paused;
}

void dump(bool finished) {
  // One dump at a time: two would share the temporary file and consume the same events.
  std::lock_guard<std::mutex> consume_lock(g_consume_mu);
  const Config c = config();
  // Copy the events out under each buffer's lock; write without holding any.
  std::vector<Event> copies;
  std::vector<TaggedEvent> tagged;
  std::map<int64_t, std::string> lanes;
  std::vector<std::pair<ThreadBuffer*, size_t>> taken;
  const auto buffers = all_buffers();
  std::vector<int64_t> tids;
  for (const auto& b : buffers) {
    std::lock_guard<std::mutex> lk(b->mu);
    const size_t end = b->events.size();
    copies.insert(copies.end(), b->events.begin() + std::ptrdiff_t(b->dumped), b->events.end());
    tids.insert(tids.end(), end - b->dumped, b->tid);
    if (!b->lane.empty()) lanes[b->tid] = b->lane;
    taken.emplace_back(b.get(), end);
  }
  tagged.reserve(copies.size());
  for (size_t i = 0; i < copies.size(); ++i) tagged.push_back({&copies[i], tids[i]});
  std::stable_sort(tagged.begin(), tagged.end(),
                   [](const TaggedEvent& a, const TaggedEvent& b) { return a.event->begin_ns < b.event->begin_ns; });
  write_chrome_trace(c.filename, tagged, lanes);  // throws before anything is consumed
  if (!finished) return;
  for (auto& [b, end] : taken) {
    std::lock_guard<std::mutex> lk(b->mu);
    b->dumped = std::max(b->dumped, end);
    trim(*b, c.aggregate_stats);
  }
}

std::string dumps(bool reset, const std::string& format, const std::string& sort_by, bool ascending) {
  if (format != "table" && format != "json")
    fail(MX_ERR_INVALID_ARGUMENT, "profiler dumps: format must be 'table' or 'json', got '", format, "'");
  if (sort_by != "total" && sort_by != "avg" && sort_by != "min" && sort_by != "max" && sort_by != "count")
    fail(MX_ERR_INVALID_ARGUMENT, "profiler dumps: sort_by must be total, avg, min, max or count, got '", sort_by,
         "'");
  const Config c = config();
  std::lock_guard<std::mutex> consume_lock(g_consume_mu);
  if (c.aggregate_stats) {
    for (const auto& b : all_buffers()) {
      std::lock_guard<std::mutex> lk(b->mu);
      for (size_t i = b->aggregated; i < b->events.size(); ++i) aggregate_fold(b->events[i]);
      b->aggregated = b->events.size();
      trim(*b, true);
    }
  }
  std::string out = aggregate_print(format, sort_by, ascending);
  if (reset) aggregate_reset();
  return out;
}

}  // namespace mx::profiler
