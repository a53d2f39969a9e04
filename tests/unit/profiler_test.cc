// The profiler through its C API: a known program's engine ops become exactly one Chrome trace
// "X" event each, named as the op, ordered as their dependencies; the aggregate counts agree;
// pause, stop and "off" record nothing; dumps consume; errors name the key, value or file.
// References are the program itself (which ops it ran, in which dependency order) and the JSON
// parsed independently with nlohmann.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace {

using json = nlohmann::json;
using mx::test::Arr;
using mx::test::invoke1;

std::string trace_path() { return testing::TempDir() + "mx_profiler_test.json"; }

void configure(std::vector<std::pair<const char*, const char*>> kv) {
  const std::string path = trace_path();
  kv.emplace_back("filename", path.c_str());
  std::vector<const char*> keys, vals;
  for (auto& [k, v] : kv) {
    keys.push_back(k);
    vals.push_back(v);
  }
  ASSERT_MX_OK(mx_profiler_set_config(int32_t(keys.size()), keys.data(), vals.data()));
}

// Stops the profiler and forgets everything an earlier test recorded.
void fresh(std::vector<std::pair<const char*, const char*>> kv = {{"profile_all", "true"},
                                                                 {"aggregate_stats", "true"}}) {
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_profiler_set_state(0));
  configure(kv);
  ASSERT_MX_OK(mx_profiler_dump(1));
  const char* out = nullptr;
  ASSERT_MX_OK(mx_profiler_dumps(1, "table", "total", 0, &out));
}

json dump_and_read(int finished = 1) {
  EXPECT_MX_OK(mx_profiler_dump(finished));
  std::ifstream f(trace_path());
  return json::parse(f);
}

// The "X" events of category cat, in file order.
std::vector<json> spans(const json& trace, const std::string& cat = "operator") {
  std::vector<json> out;
  for (const json& e : trace.at("traceEvents"))
    if (e.at("ph") == "X" && e.at("cat") == cat) out.push_back(e);
  return out;
}

std::map<std::string, int> count_by_name(const std::vector<json>& events) {
  std::map<std::string, int> n;
  for (const json& e : events) ++n[e.at("name").get<std::string>()];
  return n;
}

Arr plus_scalar(const Arr& x, const char* s) {
  const char* k[] = {"scalar"};
  const char* v[] = {s};
  return invoke1("_plus_scalar", {x.get()}, 1, k, v);
}

Arr ones() {
  const char* k[] = {"shape"};
  const char* v[] = {"(4,8)"};
  return invoke1("_ones", {}, 1, k, v);
}

TEST(Profiler, FiveOpsAreFiveEventsInDependencyOrder) {
  fresh();
  ASSERT_MX_OK(mx_profiler_set_state(1));
  Arr a = ones();                                      // _ones
  Arr b = invoke1("elemwise_add", {a.get(), a.get()});  // reads a
  Arr c = invoke1("elemwise_mul", {b.get(), a.get()});  // reads b
  Arr d = invoke1("negative", {c.get()});               // reads c
  Arr e = plus_scalar(d, "1");                          // reads d
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_profiler_set_state(0));
  EXPECT_EQ(e.to_vector<float>()[0], -1.0f);  // -(2 * 1) + 1

  const json trace = dump_and_read();
  EXPECT_EQ(trace.at("displayTimeUnit"), "ms");
  const std::vector<json> ops = spans(trace);
  const std::vector<std::string> program = {"_ones", "elemwise_add", "elemwise_mul", "negative", "_plus_scalar"};
  ASSERT_EQ(ops.size(), program.size());
  std::map<std::string, int> want;
  for (const auto& n : program) want[n] = 1;
  EXPECT_EQ(count_by_name(ops), want);
  // Each op reads the previous one's output: it begins after that one ended.
  double prev_end = -1;
  for (size_t i = 0; i < ops.size(); ++i) {
    const json& ev = ops[i];
    EXPECT_EQ(ev.at("name"), program[i]) << "event " << i;
    EXPECT_GE(ev.at("dur").get<double>(), 0.0);
    EXPECT_GE(ev.at("ts").get<double>() + 1e-3, prev_end) << program[i] << " began before its input was written";
    prev_end = ev.at("ts").get<double>() + ev.at("dur").get<double>();
    EXPECT_EQ(ev.at("args").at("device"), "cpu(0)");
  }
  // The ops' pid is the process named cpu(0); their tid a thread named as an engine lane.
  bool device_named = false, lane_named = false;
  for (const json& m : trace.at("traceEvents")) {
    if (m.at("ph") != "M") continue;
    if (m.at("name") == "process_name" && m.at("pid") == ops[0].at("pid") && m.at("args").at("name") == "cpu(0)")
      device_named = true;
    // A tiny op runs on a worker, or on the pushing thread when its inputs are ready (inline).
    const auto lane = m.contains("args") && m.at("args").contains("name") ? m.at("args").at("name").get<std::string>() : "";
    if (m.at("name") == "thread_name" && m.at("tid") == ops[0].at("tid") &&
        (lane.rfind("cpu(0) worker", 0) == 0 || lane == "cpu(0) pushing thread 0"))
      lane_named = true;
  }
  EXPECT_TRUE(device_named);
  EXPECT_TRUE(lane_named);
  // Memory: a counter of bytes in use, at least the four 4x8 float32 outputs alive at once.
  int64_t peak = 0;
  for (const json& ev : trace.at("traceEvents"))
    if (ev.at("ph") == "C" && ev.at("cat") == "memory") peak = std::max(peak, ev.at("args").at("bytes_in_use").get<int64_t>());
  EXPECT_GE(peak, 5 * 4 * 8 * 4);

  // The aggregate statistics count the same ops.
  const char* out = nullptr;
  ASSERT_MX_OK(mx_profiler_dumps(0, "json", "count", 0, &out));
  const json agg = json::parse(out);
  for (const auto& n : program) EXPECT_EQ(agg.at("Time").at("operator").at(n).at("Count"), 1) << n;
  ASSERT_MX_OK(mx_profiler_dumps(1, "table", "total", 0, &out));
  const std::string table = out;
  EXPECT_NE(table.find("Profile Statistics"), std::string::npos);
  EXPECT_NE(table.find("elemwise_mul"), std::string::npos);
  // reset cleared them.
  ASSERT_MX_OK(mx_profiler_dumps(0, "table", "total", 0, &out));
  EXPECT_EQ(std::string(out).find("elemwise_mul"), std::string::npos);
}

TEST(Profiler, OffPausedAndStoppedRecordNothing) {
  fresh();
  Arr a = ones();  // off
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_profiler_set_state(1));
  ASSERT_MX_OK(mx_profiler_pause(1));
  Arr b = invoke1("negative", {a.get()});  // paused
  ASSERT_MX_OK(mx_ndarray_wait_all());
  int32_t run = -1, paused = -1;
  ASSERT_MX_OK(mx_profiler_get_state(&run, &paused));
  EXPECT_EQ(run, 1);
  EXPECT_EQ(paused, 1);
  ASSERT_MX_OK(mx_profiler_pause(0));
  Arr c = invoke1("elemwise_add", {a.get(), b.get()});  // recorded
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_profiler_set_state(0));
  Arr d = invoke1("elemwise_mul", {a.get(), c.get()});  // stopped: not recorded, the earlier stay
  ASSERT_MX_OK(mx_ndarray_wait_all());
  EXPECT_EQ(count_by_name(spans(dump_and_read())), (std::map<std::string, int>{{"elemwise_add", 1}}));
}

TEST(Profiler, OnlyEnabledCategoriesAreRecorded) {
  fresh({{"profile_symbolic", "false"}, {"profile_imperative", "false"}, {"profile_memory", "true"}});
  ASSERT_MX_OK(mx_profiler_set_state(1));
  Arr a = ones();
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_profiler_set_state(0));
  const json trace = dump_and_read();
  EXPECT_TRUE(spans(trace).empty());
  int memory = 0;
  for (const json& e : trace.at("traceEvents")) memory += e.value("cat", "") == "memory";
  EXPECT_GE(memory, 1);
}

TEST(Profiler, FinishedDumpConsumesOtherwiseKeeps) {
  fresh();
  ASSERT_MX_OK(mx_profiler_set_state(1));
  Arr a = ones();
  ASSERT_MX_OK(mx_ndarray_wait_all());
  EXPECT_EQ(spans(dump_and_read(0)).size(), 1u);
  EXPECT_EQ(spans(dump_and_read(1)).size(), 1u);
  EXPECT_EQ(spans(dump_and_read(1)).size(), 0u);
  ASSERT_MX_OK(mx_profiler_set_state(0));
}

TEST(Profiler, ThreadsRecordIntoTheirOwnBuffers) {
  fresh();
  ASSERT_MX_OK(mx_profiler_set_state(1));
  constexpr int kThreads = 4, kOps = 50;
  std::vector<std::thread> pushers;
  for (int t = 0; t < kThreads; ++t)
    pushers.emplace_back([] {
      Arr x = ones();
      for (int i = 0; i < kOps; ++i) x = invoke1("negative", {x.get()});
      EXPECT_MX_OK(mx_ndarray_wait_to_read(x.get()));
    });
  for (auto& t : pushers) t.join();
  const char* dom = "threads";
  uint64_t t0 = 0, t1 = 0;
  ASSERT_MX_OK(mx_profiler_clock_ns(&t0));
  ASSERT_MX_OK(mx_profiler_clock_ns(&t1));
  ASSERT_MX_OK(mx_profiler_record_span(dom, "joined", t0, t1));
  ASSERT_MX_OK(mx_profiler_record_counter(dom, "pushers", kThreads));
  ASSERT_MX_OK(mx_profiler_record_marker(dom, "done", "process"));
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_profiler_set_state(0));
  const json trace = dump_and_read();
  const auto n = count_by_name(spans(trace));
  EXPECT_EQ(n.at("negative"), kThreads * kOps);
  EXPECT_EQ(n.at("_ones"), kThreads);
  EXPECT_EQ(spans(trace, dom).size(), 1u);
  int counters = 0, markers = 0;
  for (const json& e : trace.at("traceEvents")) {
    if (e.value("cat", "") != dom) continue;
    counters += e.at("ph") == "C" && e.at("args").at("pushers") == kThreads;
    markers += e.at("ph") == "i" && e.at("s") == "p";
  }
  EXPECT_EQ(counters, 1);
  EXPECT_EQ(markers, 1);
}

TEST(Profiler, ErrorsNameTheKeyValueOrFile) {
  fresh();
  const char* bad_key[] = {"profile_everything"};
  const char* yes[] = {"true"};
  EXPECT_EQ(mx_profiler_set_config(1, bad_key, yes), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("profile_everything"), std::string::npos);
  const char* key[] = {"profile_memory"};
  const char* bad_val[] = {"maybe"};
  EXPECT_EQ(mx_profiler_set_config(1, key, bad_val), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("maybe"), std::string::npos);
  EXPECT_EQ(mx_profiler_set_state(2), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mx_profiler_record_marker("d", "m", "galaxy"), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("galaxy"), std::string::npos);
  const char* out = nullptr;
  EXPECT_EQ(mx_profiler_dumps(0, "xml", "total", 0, &out), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("xml"), std::string::npos);

  const char* fk[] = {"filename"};
  const char* fv[] = {"/nonexistent-dir/mx/profile.json"};
  ASSERT_MX_OK(mx_profiler_set_config(1, fk, fv));
  EXPECT_EQ(mx_profiler_dump(1), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO);
  EXPECT_NE(std::string(mx_get_last_error()).find("/nonexistent-dir/mx/profile.json"), std::string::npos);
  fresh();
}

}  // namespace
