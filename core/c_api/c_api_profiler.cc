// The C API of the profiler (core/profiler): configuration, state, dumps and user events.
#include <string>
#include <utility>
#include <vector>

#include "c_api/border.h"
#include "profiler/profiler.h"

using namespace mx::capi;
namespace prof = mx::profiler;

namespace {

thread_local std::string t_dumps;

void need_flag(int32_t v, const char* fn, const char* what) {
  if (v != 0 && v != 1) mx::fail(MX_ERR_INVALID_ARGUMENT, fn, ": ", what, " must be 0 or 1, got ", v);
}

}  // namespace

int mx_profiler_set_config(int32_t num, const char* const* keys, const char* const* vals) {
  API_BEGIN();
  if (num < 0) mx::fail(MX_ERR_INVALID_ARGUMENT, "mx_profiler_set_config: num is negative (", num, ")");
  if (num > 0) {
    need(keys, "mx_profiler_set_config", "keys");
    need(vals, "mx_profiler_set_config", "vals");
  }
  std::vector<std::pair<std::string, std::string>> config;
  for (int32_t i = 0; i < num; ++i) {
    need(keys[i], "mx_profiler_set_config", "a key");
    need(vals[i], "mx_profiler_set_config", "a value");
    config.emplace_back(keys[i], vals[i]);
  }
  prof::set_config(config);
  API_END();
}

int mx_profiler_set_state(int32_t run) {
  API_BEGIN();
  need_flag(run, "mx_profiler_set_state", "run");
  prof::set_state(run == 1);
  API_END();
}

int mx_profiler_get_state(int32_t* out_run, int32_t* out_paused) {
  API_BEGIN();
  if (out_run) *out_run = prof::running() ? 1 : 0;
  if (out_paused) *out_paused = prof::paused() ? 1 : 0;
  API_END();
}

int mx_profiler_pause(int32_t paused) {
  API_BEGIN();
  need_flag(paused, "mx_profiler_pause", "paused");
  prof::pause(paused == 1);
  API_END();
}

int mx_profiler_dump(int32_t finished) {
  API_BEGIN();
  need_flag(finished, "mx_profiler_dump", "finished");
  prof::dump(finished == 1);
  API_END();
}

int mx_profiler_dumps(int32_t reset, const char* format, const char* sort_by, int32_t ascending, const char** out) {
  API_BEGIN();
  need(out, "mx_profiler_dumps", "out");
  need_flag(reset, "mx_profiler_dumps", "reset");
  t_dumps = prof::dumps(reset == 1, format ? format : "table", sort_by ? sort_by : "total", ascending != 0);
  *out = t_dumps.c_str();
  API_END();
}

int mx_profiler_clock_ns(uint64_t* out_ns) {
  API_BEGIN();
  need(out_ns, "mx_profiler_clock_ns", "out_ns");
  *out_ns = prof::now_ns();
  API_END();
}

int mx_profiler_record_span(const char* domain, const char* name, uint64_t begin_ns, uint64_t end_ns) {
  API_BEGIN();
  need(domain, "mx_profiler_record_span", "domain");
  need(name, "mx_profiler_record_span", "name");
  if (end_ns < begin_ns)
    mx::fail(MX_ERR_INVALID_ARGUMENT, "mx_profiler_record_span: '", name, "' ends (", end_ns, " ns) before it begins (",
             begin_ns, " ns)");
  if (prof::recording(prof::kUser)) prof::record_user_span(domain, name, begin_ns, end_ns);
  API_END();
}

int mx_profiler_record_counter(const char* domain, const char* name, int64_t value) {
  API_BEGIN();
  need(domain, "mx_profiler_record_counter", "domain");
  need(name, "mx_profiler_record_counter", "name");
  if (prof::recording(prof::kUser)) prof::record_user_counter(domain, name, value);
  API_END();
}

int mx_profiler_record_marker(const char* domain, const char* name, const char* scope) {
  API_BEGIN();
  need(domain, "mx_profiler_record_marker", "domain");
  need(name, "mx_profiler_record_marker", "name");
  need(scope, "mx_profiler_record_marker", "scope");
  const std::string s = scope;
  if (s != "global" && s != "process" && s != "thread")
    mx::fail(MX_ERR_INVALID_ARGUMENT, "mx_profiler_record_marker: '", name,
             "': scope must be global, process or thread, got '", s, "'");
  if (prof::recording(prof::kUser)) prof::record_user_marker(domain, name, scope);
  API_END();
}
