// Errors in the dependency engine (core/engine/engine.h states the rules): a failed op's error
// reaches every op and every wait that depends on it whatever the timing, ops that read a failed
// var never run, and the threaded engine is observably identical to the naive one — both are
// checked against a sequential model of the rules written here, on random graphs with failures.
// Plus one user of the engine, the executor, whose grouped ops must not keep a failure alive.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "base/error.h"
#include "engine/engine.h"
#include "executor/executor.h"
#include "ndarray/ndarray.h"
#include "plugin/registry.h"
#include "symbol/symbol.h"

namespace mx::engine {
namespace {

std::string outcome(const std::function<void()>& f) {
  try {
    f();
    return "ok";
  } catch (const Error& e) {
    return str_cat("error ", e.code(), ": ", e.what());
  } catch (const std::exception& e) {
    return str_cat("foreign exception: ", e.what());
  }
}

std::vector<Var*> vars_of(std::initializer_list<Var*> v) { return v; }

class EngineErrors : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { set_type(GetParam(), 4); }
  void TearDown() override {
    outcome([] { get().wait_all(); });
    set_type("threaded", 1);
  }
};

// ---- the lost error: a reader queued behind a failed writer must fail, even when waits on the
// failed var (on this and other threads) return before the reader has run. In odd rounds that
// order is certain: every worker is busy and a higher-priority op is queued ahead of the reader
// until the waits have returned; in even rounds the reader races with the waits.

TEST(LostError, ReaderBehindAFailedWriterFailsWhateverTheConcurrentWaits) {
  const int kWorkers = 4, kRounds = 200, kWaiters = 2;
  set_type("threaded", kWorkers);
  Engine& eng = get();
  const std::string kWriterFailed = str_cat("error ", MX_ERR_INTERNAL, ": writer failed");
  int reader_ran = 0, error_lost = 0, waits_without_error = 0;
  for (int round = 0; round < kRounds; ++round) {
    Var* v = new_var();
    Var* u = new_var();
    std::vector<Var*> busy_vars;
    std::atomic<bool> go{false}, release{false}, ran{false};
    std::atomic<int> busy{0};
    auto push_busy = [&](int priority) {
      busy_vars.push_back(new_var());
      PushOptions opts;
      opts.priority = priority;
      eng.push(
          [&](RunContext&) {
            ++busy;
            while (!release.load()) std::this_thread::yield();
          },
          cpu(), {}, vars_of({busy_vars.back()}), opts);
    };
    // The writer holds v until the reader and the waiters are all queued behind it.
    eng.push(
        [&](RunContext&) {
          while (!go.load()) std::this_thread::yield();
          throw Error(MX_ERR_INTERNAL, "writer failed");
        },
        cpu(), {}, vars_of({v}));
    eng.push([&](RunContext&) { ran = true; }, cpu(), vars_of({v}), vars_of({u}));
    for (int i = 0; i < kWorkers - 1; ++i) push_busy(0);  // every other worker
    while (busy.load() < kWorkers - 1) std::this_thread::yield();
    const int ahead = round % 2;
    if (ahead) push_busy(1);  // takes the writer's worker when it is done, before the reader
    std::atomic<int> waiter_errors{0};
    std::vector<std::thread> waiters;
    for (int t = 0; t < kWaiters; ++t)
      waiters.emplace_back([&] {
        if (outcome([&] { eng.wait_for_var(v); }) == kWriterFailed) ++waiter_errors;
      });
    while (eng.pending() < 2 + kWorkers - 1 + ahead + kWaiters) std::this_thread::yield();
    go = true;
    const std::string main_wait = outcome([&] { eng.wait_for_var(v); });
    for (auto& t : waiters) t.join();
    release = true;  // the reader runs only now, after every wait on v has returned
    const std::string reader_wait = outcome([&] { eng.wait_for_var(u); });
    reader_ran += ran;
    error_lost += reader_wait != kWriterFailed;
    waits_without_error += (main_wait != kWriterFailed) + (kWaiters - waiter_errors);
    eng.delete_var(v, nullptr);
    eng.delete_var(u, nullptr);
    for (Var* b : busy_vars) eng.delete_var(b, nullptr);
    outcome([&] { eng.wait_all(); });
  }
  EXPECT_EQ(reader_ran, 0) << "an op reading a failed var ran its function, in " << reader_ran << " of " << kRounds
                           << " rounds";
  EXPECT_EQ(error_lost, 0) << "the reader's output lost the error in " << error_lost << " of " << kRounds
                           << " rounds";
  EXPECT_EQ(waits_without_error, 0) << "waits on the failed var that did not report its error: "
                                    << waits_without_error << " of " << kRounds * (kWaiters + 1);
  set_type("threaded", 1);
}

// ---- the rules, one at a time, on both engines

TEST_P(EngineErrors, EveryWaitOnAFailedVarReportsItUntilTheVarIsWrittenAgain) {
  Engine& eng = get();
  Var* a = new_var();
  Var* b = new_var();
  eng.push([](RunContext&) { throw Error(MX_ERR_INVALID_ARGUMENT, "boom"); }, cpu(), {}, vars_of({a}));
  eng.push([](RunContext&) { FAIL() << "reads a failed var"; }, cpu(), vars_of({a}), vars_of({b}));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(outcome([&] { eng.wait_for_var(a); }), str_cat("error ", MX_ERR_INVALID_ARGUMENT, ": boom"));
    EXPECT_EQ(outcome([&] { eng.wait_for_var(b, true); }), str_cat("error ", MX_ERR_INVALID_ARGUMENT, ": boom"));
  }
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), "ok") << "a wait already reported it";
  // Writing a var without reading it replaces the failed contents.
  eng.push([](RunContext&) {}, cpu(), {}, vars_of({a}));
  EXPECT_EQ(outcome([&] { eng.wait_for_var(a); }), "ok");
  EXPECT_EQ(outcome([&] { eng.wait_for_var(b); }), str_cat("error ", MX_ERR_INVALID_ARGUMENT, ": boom"));
  eng.delete_var(a, nullptr);
  eng.delete_var(b, nullptr);
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), "ok");
}

TEST_P(EngineErrors, ReadModifyWriteOfAFailedVarDoesNotRun) {
  Engine& eng = get();
  Var* a = new_var();
  Var* g = new_var();
  std::atomic<int> ran{0};
  eng.push([](RunContext&) { throw Error(MX_ERR_INTERNAL, "update failed"); }, cpu(), {}, vars_of({a}));
  // a listed as read and write (an in-place update such as sgd_update's weight).
  eng.push([&](RunContext&) { ++ran; }, cpu(), vars_of({a, g}), vars_of({a}));
  EXPECT_EQ(outcome([&] { eng.wait_for_var(a); }), str_cat("error ", MX_ERR_INTERNAL, ": update failed"));
  EXPECT_EQ(ran.load(), 0) << "an in-place update computed with a failed var";
  eng.delete_var(a, nullptr);
  eng.delete_var(g, nullptr);
}

TEST_P(EngineErrors, WaitAllReportsTheEarliestPushedFailure) {
  Engine& eng = get();
  Var* a = new_var();
  Var* b = new_var();
  Var* c = new_var();
  // The first-pushed failure completes last on the threaded engine.
  eng.push(
      [](RunContext&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        throw Error(MX_ERR_INTERNAL, "first pushed");
      },
      cpu(), {}, vars_of({a}));
  eng.push([](RunContext&) { throw Error(MX_ERR_IO, "second pushed"); }, cpu(), {}, vars_of({b}));
  eng.push([](RunContext&) { throw Error(MX_ERR_IO, "third pushed"); }, cpu(), {}, vars_of({c}));
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), str_cat("error ", MX_ERR_INTERNAL, ": first pushed"));
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), "ok") << "one wait_all covers every failure before it";
  // Reported by a wait: wait_all skips it and reports the next one.
  eng.push([](RunContext&) { throw Error(MX_ERR_INTERNAL, "seen"); }, cpu(), {}, vars_of({a}));
  eng.push([](RunContext&) { throw Error(MX_ERR_IO, "unseen"); }, cpu(), {}, vars_of({b}));
  EXPECT_EQ(outcome([&] { eng.wait_for_var(a); }), str_cat("error ", MX_ERR_INTERNAL, ": seen"));
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), str_cat("error ", MX_ERR_IO, ": unseen"));
  for (Var* v : {a, b, c}) eng.delete_var(v, nullptr);
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), "ok");
}

TEST_P(EngineErrors, AWaitOnAnotherThreadReportsTheErrorToo) {
  Engine& eng = get();
  Var* a = new_var();
  eng.push([](RunContext&) { throw Error(MX_ERR_INTERNAL, "from main"); }, cpu(), {}, vars_of({a}));
  std::string seen_by_other;
  std::thread([&] { seen_by_other = outcome([&] { eng.wait_for_var(a); }); }).join();
  EXPECT_EQ(seen_by_other, str_cat("error ", MX_ERR_INTERNAL, ": from main"));
  EXPECT_EQ(outcome([&] { eng.wait_for_var(a); }), str_cat("error ", MX_ERR_INTERNAL, ": from main")) << "every waiter sees it";
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), "ok") << "the other thread's wait reported it";
  eng.delete_var(a, nullptr);
}

TEST_P(EngineErrors, WaitToOverwriteDropsTheErrorButWaitAllStillReportsIt) {
  Engine& eng = get();
  Var* a = new_var();
  Var* b = new_var();
  eng.push([](RunContext&) { throw Error(MX_ERR_INTERNAL, "lost work"); }, cpu(), {}, vars_of({a}));
  EXPECT_NO_THROW(eng.wait_to_overwrite(a));  // the caller replaces a's contents from the host
  eng.push([](RunContext&) {}, cpu(), vars_of({a}), vars_of({b}));
  EXPECT_EQ(outcome([&] { eng.wait_for_var(b); }), "ok");
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), str_cat("error ", MX_ERR_INTERNAL, ": lost work"))
      << "no wait reported the failure";
  eng.delete_var(a, nullptr);
  eng.delete_var(b, nullptr);
}

TEST_P(EngineErrors, ThousandsOfFailuresWithoutWaitAllStillReportTheEarliestUnseen) {
  // The engine bounds what it remembers between wait_alls; the answer must not change.
  Engine& eng = get();
  Var* a = new_var();
  for (int i = 0; i < 3500; ++i) {
    eng.push([i](RunContext&) { throw Error(MX_ERR_INTERNAL, str_cat("failure ", i)); }, cpu(), {}, vars_of({a}));
    if (i % 2 == 0 || i < 500) outcome([&] { eng.wait_for_var(a); });  // all reported but 1500 odd ones
  }
  EXPECT_EQ(outcome([&] { eng.wait_all(); }), str_cat("error ", MX_ERR_INTERNAL, ": failure 501"));
  eng.delete_var(a, nullptr);
}

TEST_P(EngineErrors, FailuresBeyondWhatTheEngineKeepsStillMakeWaitAllFail) {
  // 1100 failures on separate vars; waits report the first 1024 (as many as the engine keeps
  // between wait_alls). The last 76 were reported by nothing: wait_all must not say "ok".
  Engine& eng = get();
  std::vector<Var*> vars;
  for (int i = 0; i < 1100; ++i) {
    vars.push_back(new_var());
    eng.push([i](RunContext&) { throw Error(MX_ERR_INTERNAL, str_cat("failure ", i)); }, cpu(), {}, vars_of({vars.back()}));
  }
  for (int i = 0; i < 1024; ++i) outcome([&] { eng.wait_for_var(vars[size_t(i)]); });
  const std::string all = outcome([&] { eng.wait_all(); });
  EXPECT_NE(all, "ok");
  EXPECT_NE(all.find("failure 1024"), std::string::npos) << all << " (should be the earliest unreported)";
  for (Var* v : vars) eng.delete_var(v, nullptr);
}

TEST_P(EngineErrors, TheEarliestRootCauseWinsAmongFailedInputs) {
  Engine& eng = get();
  Var* a = new_var();
  Var* b = new_var();
  Var* c = new_var();
  eng.push([](RunContext&) { throw Error(MX_ERR_INTERNAL, "a failed"); }, cpu(), {}, vars_of({a}));
  eng.push([](RunContext&) { throw Error(MX_ERR_INTERNAL, "b failed"); }, cpu(), {}, vars_of({b}));
  eng.push([](RunContext&) {}, cpu(), vars_of({b, a}), vars_of({c}));
  EXPECT_EQ(outcome([&] { eng.wait_for_var(c); }), str_cat("error ", MX_ERR_INTERNAL, ": a failed"));
  for (Var* v : {a, b, c}) eng.delete_var(v, nullptr);
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineErrors, ::testing::Values("naive", "threaded"));

// ---- users of the engine: errors must not outlive the work that failed

// The executor pushes several nodes as one engine op: the entries made inside it must not count
// as inputs, or the error a failed run left on them would stop every later run.
TEST(EngineErrorsUsers, AFailedExecutorRunDoesNotStopTheNextOne) {
  plugin::runtime_init();
  auto op = [](const char* name, std::vector<sym::Symbol> in) {
    sym::Symbol s = sym::Symbol::atomic(name, 0, nullptr, nullptr);
    s.compose(std::string(name) + "0", in, {});
    return s;
  };
  // gather_nd, then two more nodes in the same engine op (the default bulk size is 15).
  sym::Symbol out = op("relu", {op("sigmoid", {op("gather_nd", {sym::Symbol::variable("data"),
                                                                 sym::Symbol::variable("idx")})})});
  NDArray data({2, 2}, MX_FLOAT32, cpu()), idx({1, 2}, MX_FLOAT32, cpu());
  const float d[] = {1, 2, 3, 4}, bad[] = {0, 5}, good[] = {0, 1};
  data.copy_from_host(d, sizeof d);
  idx.copy_from_host(bad, sizeof bad);
  auto ex = exec::Executor::bind(out, cpu(), {data, idx}, {}, {}, {});
  float got[4] = {};
  ex->forward(false);
  EXPECT_THROW(ex->outputs()[0].copy_to_host(got, sizeof got), Error) << "row 5 of data is out of range";
  idx.copy_from_host(good, sizeof good);  // rows 0 and 1: all of data
  ex->forward(false);
  ASSERT_NO_THROW(ex->outputs()[0].copy_to_host(got, sizeof got));
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(got[i], 1.0f / (1.0f + std::exp(-d[i]))) << i;
  outcome([] { get().wait_all(); });
}

// An array whose producer failed reports it on every read until something replaces it: a host copy
// over the whole array does (as MXNet's x[:] = numpy), a copy into a view of part of it does not.
TEST(EngineErrorsUsers, AHostCopyOverAWholeFailedArrayRepairsItACopyIntoAViewDoesNot) {
  for (const char* type : {"naive", "threaded"}) {
    set_type(type, 2);
    NDArray x({4}, MX_FLOAT32, cpu());
    get().push([](RunContext&) { throw Error(MX_ERR_INTERNAL, "producer failed"); }, cpu(), {}, vars_of({x.var()}));
    float got[4] = {};
    const std::string failed = str_cat("error ", MX_ERR_INTERNAL, ": producer failed");
    EXPECT_EQ(outcome([&] { x.copy_to_host(got, sizeof got); }), failed) << type;
    EXPECT_EQ(outcome([&] { x.copy_to_host(got, sizeof got); }), failed) << type << ": and again";
    const float two[] = {7, 8};
    EXPECT_EQ(outcome([&] { x.slice(1, 3).copy_from_host(two, sizeof two); }), failed) << type;
    const float four[] = {1, 2, 3, 4};
    EXPECT_EQ(outcome([&] { x.copy_from_host(four, sizeof four); }), "ok") << type;
    EXPECT_EQ(outcome([&] { x.copy_to_host(got, sizeof got); }), "ok") << type;
    for (int i = 0; i < 4; ++i) EXPECT_EQ(got[i], four[i]) << type << " " << i;
    EXPECT_EQ(outcome([] { get().wait_all(); }), "ok") << type << ": the reads reported it already";
  }
  set_type("threaded", 1);
}

// ---- property: random graphs with injected failures, naive == threaded == sequential model

struct Step {
  enum Kind { kOp, kWait, kWaitAll } kind = kOp;
  std::vector<int> reads, writes;  // kOp; a var in both is read-modify-write
  int32_t fail_code = 0;           // kOp: throws mx::Error with this code (after a garbage write)
  bool slow = false;               // kOp: yields a while, so queues build up behind it
  int var = 0;                     // kWait
  bool for_write = false;          // kWait
};

std::vector<Step> random_graph(uint64_t seed, int n_vars) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return int(rng() % uint64_t(n)); };
  const int32_t codes[] = {MX_ERR_INTERNAL, MX_ERR_INVALID_ARGUMENT, MX_ERR_OUT_OF_MEMORY, MX_ERR_IO};
  std::vector<Step> prog(size_t(40 + pick(80)));
  for (Step& s : prog) {
    const int k = pick(100);
    if (k < 16) {
      s.kind = Step::kWait;
      s.var = pick(n_vars);
      s.for_write = pick(2);
    } else if (k < 19) {
      s.kind = Step::kWaitAll;
    } else {
      for (int i = pick(4); i > 0; --i) s.reads.push_back(pick(n_vars));
      for (int i = 1 + pick(2); i > 0; --i) s.writes.push_back(pick(n_vars));
      if (!s.reads.empty() && pick(5) == 0) s.writes.push_back(s.reads[0]);  // in-place update
      if (pick(100) < 12) s.fail_code = codes[pick(4)];
      s.slow = pick(8) == 0;
    }
  }
  return prog;
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

std::string failure_message(size_t step) { return str_cat("op ", step, " failed"); }

// What an op that runs does to host memory (shared by the engines and the model).
void compute(size_t step, const Step& s, std::vector<uint64_t>& mem) {
  uint64_t h = step;
  for (int r : s.reads) h = mix(h, mem[size_t(r)]);
  for (size_t k = 0; k < s.writes.size(); ++k) mem[size_t(s.writes[k])] = mix(h, k);
}

// Everything a program can observe: each wait's outcome, which ops ran, each var's final outcome
// and (when it holds no error) value.
using Observed = std::vector<std::string>;

void observe_end(Observed& out, const std::vector<uint8_t>& ran, const std::vector<std::string>& final_vars) {
  std::string r = "ran:";
  for (size_t i = 0; i < ran.size(); ++i)
    if (ran[i]) r += str_cat(" ", i);
  out.push_back(r);
  out.insert(out.end(), final_vars.begin(), final_vars.end());
}

Observed run_on_engine(const std::vector<Step>& prog, int n_vars) {
  Engine& eng = get();
  const bool threaded = eng.type() == std::string("threaded");  // slow ops only reorder its work
  Observed out;
  std::vector<uint64_t> mem(static_cast<size_t>(n_vars));
  for (size_t i = 0; i < mem.size(); ++i) mem[i] = i + 1;
  std::unique_ptr<std::atomic<uint8_t>[]> ran(new std::atomic<uint8_t>[prog.size()]());
  std::vector<Var*> vars;
  for (int i = 0; i < n_vars; ++i) vars.push_back(new_var());
  for (size_t i = 0; i < prog.size(); ++i) {
    const Step& s = prog[i];
    if (s.kind == Step::kWait) {
      out.push_back(str_cat("wait v", s.var, s.for_write ? " for write: " : ": ",
                            outcome([&] { eng.wait_for_var(vars[size_t(s.var)], s.for_write); })));
    } else if (s.kind == Step::kWaitAll) {
      out.push_back("wait_all: " + outcome([&] { eng.wait_all(); }));
    } else {
      std::vector<Var*> r, w;
      for (int x : s.reads) r.push_back(vars[size_t(x)]);
      for (int x : s.writes) w.push_back(vars[size_t(x)]);
      eng.push(
          [&mem, &s, &ran, i, threaded](RunContext&) {
            if (s.slow && threaded) std::this_thread::sleep_for(std::chrono::microseconds(100));
            if (s.fail_code) {
              mem[size_t(s.writes[0])] = 0xbad0000 + i;  // half-done work: must never be observed
              throw Error(s.fail_code, failure_message(i));
            }
            compute(i, s, mem);
            ran[i] = 1;
          },
          cpu(), r, w);
    }
  }
  out.push_back("final wait_all: " + outcome([&] { eng.wait_all(); }));
  std::vector<std::string> final_vars;
  for (int v = 0; v < n_vars; ++v) {
    std::string o = outcome([&] { eng.wait_for_var(vars[size_t(v)]); });
    if (o == "ok") o = str_cat(mem[size_t(v)]);
    final_vars.push_back(str_cat("v", v, " = ", o));
  }
  for (Var* v : vars) eng.delete_var(v, nullptr);
  out.push_back("after the final waits: " + outcome([&] { eng.wait_all(); }));
  std::vector<uint8_t> ran_copy(prog.size());
  for (size_t i = 0; i < prog.size(); ++i) ran_copy[i] = ran[i];
  observe_end(out, ran_copy, final_vars);
  return out;
}

// The rules of core/engine/engine.h, executed sequentially.
Observed run_model(const std::vector<Step>& prog, int n_vars) {
  struct Failure {
    size_t step;  // push order of the op that threw
    int32_t code;
    bool reported = false;
  };
  std::vector<Failure> failures;
  std::vector<int> since_wait_all;  // failures raised since the last wait_all
  std::vector<int> error(static_cast<size_t>(n_vars), -1);  // failure each var holds
  std::vector<uint64_t> mem(static_cast<size_t>(n_vars));
  for (size_t i = 0; i < mem.size(); ++i) mem[i] = i + 1;
  std::vector<uint8_t> ran(prog.size(), 0);
  Observed out;
  auto describe = [&](int f) {
    return str_cat("error ", failures[size_t(f)].code, ": ", failure_message(failures[size_t(f)].step));
  };
  auto wait_var = [&](int v) {
    const int f = error[size_t(v)];
    if (f < 0) return std::string("ok");
    failures[size_t(f)].reported = true;
    return describe(f);
  };
  auto wait_all = [&] {
    int best = -1;
    for (int f : since_wait_all)
      if (!failures[size_t(f)].reported && (best < 0 || failures[size_t(f)].step < failures[size_t(best)].step))
        best = f;
    since_wait_all.clear();
    if (best < 0) return std::string("ok");
    failures[size_t(best)].reported = true;
    return describe(best);
  };
  for (size_t i = 0; i < prog.size(); ++i) {
    const Step& s = prog[i];
    if (s.kind == Step::kWait) {
      out.push_back(str_cat("wait v", s.var, s.for_write ? " for write: " : ": ", wait_var(s.var)));
    } else if (s.kind == Step::kWaitAll) {
      out.push_back("wait_all: " + wait_all());
    } else {
      // An op whose inputs failed does not run and carries the earliest root cause among them.
      int f = -1;
      for (int r : s.reads) {
        const int e = error[size_t(r)];
        if (e >= 0 && (f < 0 || failures[size_t(e)].step < failures[size_t(f)].step)) f = e;
      }
      if (f < 0 && s.fail_code) {
        failures.push_back(Failure{i, s.fail_code});
        f = int(failures.size()) - 1;
        since_wait_all.push_back(f);
      }
      if (f < 0) {
        compute(i, s, mem);
        ran[i] = 1;
      }
      for (int w : s.writes) error[size_t(w)] = f;
    }
  }
  out.push_back("final wait_all: " + wait_all());
  std::vector<std::string> final_vars;
  for (int v = 0; v < n_vars; ++v) {
    std::string o = wait_var(v);
    if (o == "ok") o = str_cat(mem[size_t(v)]);
    final_vars.push_back(str_cat("v", v, " = ", o));
  }
  out.push_back("after the final waits: " + wait_all());
  observe_end(out, ran, final_vars);
  return out;
}

std::string first_difference(const Observed& got, const Observed& want) {
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    const std::string g = i < got.size() ? got[i] : "(nothing)", w = i < want.size() ? want[i] : "(nothing)";
    if (g != w) return str_cat("observation ", i, ": got '", g, "', expected '", w, "'");
  }
  return "";
}

TEST(EngineErrorsProperty, RandomGraphsWithFailuresMatchTheModelOnBothEngines) {
  const int kGraphs = 300;
  struct Graph {
    std::vector<Step> prog;
    int n_vars;
    Observed model;
  };
  std::vector<Graph> graphs;
  for (int g = 0; g < kGraphs; ++g) {
    std::mt19937_64 rng(1000 + g);
    const int n_vars = 4 + int(rng() % 33);  // few vars: long chains of propagation
    auto prog = random_graph(rng(), n_vars);
    graphs.push_back(Graph{prog, n_vars, run_model(prog, n_vars)});
  }
  std::vector<Observed> naive;
  for (const char* type : {"naive", "threaded"}) {
    set_type(type, 4);
    int engines_differ = 0, model_differs = 0;  // failures shown: 5 of each at most
    for (int g = 0; g < kGraphs; ++g) {
      const Observed got = run_on_engine(graphs[size_t(g)].prog, graphs[size_t(g)].n_vars);
      if (naive.size() < size_t(kGraphs)) {
        naive.push_back(got);
      } else if (const std::string diff = first_difference(got, naive[size_t(g)]); !diff.empty()) {
        if (++engines_differ <= 5)
          ADD_FAILURE() << "graph " << g << " (seed " << 1000 + g << "): the threaded engine differs from the naive one: "
                        << diff;
      }
      if (const std::string diff = first_difference(got, graphs[size_t(g)].model); !diff.empty())
        if (++model_differs <= 5)
          ADD_FAILURE() << "graph " << g << " (seed " << 1000 + g << "): the " << type
                        << " engine differs from the model: " << diff;
    }
    EXPECT_EQ(engines_differ, 0) << "graphs where the threaded engine differs from the naive one";
    EXPECT_EQ(model_differs, 0) << "graphs where the " << type << " engine differs from the model";
  }
  set_type("threaded", 1);
}

}  // namespace
}  // namespace mx::engine
