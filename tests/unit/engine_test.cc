// Engine: random programs of >= 100,000 ops over random read/write var sets must end in exactly
// the state sequential execution gives; errors propagate along dependencies and surface at waits.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/error.h"
#include "engine/engine.h"

namespace mx::engine {
namespace {

struct ProgramOp {
  std::vector<int> reads, writes;
};

std::vector<ProgramOp> random_program(int n_ops, int n_vars, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<ProgramOp> prog{size_t(n_ops)};
  for (auto& op : prog) {
    const int nr = int(rng() % 4), nw = 1 + int(rng() % 2);
    for (int i = 0; i < nr; ++i) op.reads.push_back(int(rng() % uint64_t(n_vars)));
    for (int i = 0; i < nw; ++i) op.writes.push_back(int(rng() % uint64_t(n_vars)));
  }
  return prog;
}

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

// The op's effect: every written var becomes a non-commutative function of the op id, its old
// value and the values of everything read, so any reordering changes the final state.
void apply(size_t id, const ProgramOp& op, std::vector<uint64_t>& state) {
  uint64_t h = id;
  for (int r : op.reads) h = mix(h, state[size_t(r)]);
  for (int w : op.writes) h = mix(h, state[size_t(w)]);
  for (size_t k = 0; k < op.writes.size(); ++k) state[size_t(op.writes[k])] = mix(h, k);
}

// Sequential reference, written independently of the engine. A var listed twice in writes, or
// in both reads and writes, is handled exactly as apply() does on the engine.
std::vector<uint64_t> run_sequential(const std::vector<ProgramOp>& prog, int n_vars) {
  std::vector<uint64_t> state(static_cast<size_t>(n_vars), 0);
  for (size_t i = 0; i < state.size(); ++i) state[i] = i;
  for (size_t i = 0; i < prog.size(); ++i) apply(i, prog[i], state);
  return state;
}

std::vector<uint64_t> run_on_engine(Engine& eng, const std::vector<ProgramOp>& prog, int n_vars) {
  std::vector<uint64_t> state(static_cast<size_t>(n_vars), 0);
  for (size_t i = 0; i < state.size(); ++i) state[i] = i;
  std::vector<Var*> vars;
  for (int i = 0; i < n_vars; ++i) vars.push_back(new_var());
  for (size_t i = 0; i < prog.size(); ++i) {
    std::vector<Var*> r, w;
    for (int x : prog[i].reads) r.push_back(vars[size_t(x)]);
    for (int x : prog[i].writes) w.push_back(vars[size_t(x)]);
    eng.push([&state, &prog, i](RunContext&) { apply(i, prog[i], state); }, cpu(), r, w);
  }
  eng.wait_all();
  for (Var* v : vars) eng.delete_var(v, nullptr);
  eng.wait_all();
  return state;
}

int num_ops() {
  const char* v = std::getenv("MX_TEST_ENGINE_OPS");
  return v && *v ? std::atoi(v) : 100000;
}

class EngineTypes : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { set_type(GetParam(), 4); }
  void TearDown() override { set_type("threaded", 1); }
};

TEST_P(EngineTypes, RandomProgramMatchesSequentialExecution) {
  const int n_vars = 64;
  const int n_ops = num_ops();
  ASSERT_GE(n_ops, 100000) << "the property test must push at least 100,000 ops";
  auto prog = random_program(n_ops, n_vars, 42);
  EXPECT_EQ(run_on_engine(get(), prog, n_vars), run_sequential(prog, n_vars));
}

TEST_P(EngineTypes, FewVarsHighContention) {
  // Few vars: long read chains and write-after-read hazards on every var.
  auto prog = random_program(20000, 3, 7);
  EXPECT_EQ(run_on_engine(get(), prog, 3), run_sequential(prog, 3));
}

TEST_P(EngineTypes, ErrorIsStoredOnWrittenVarsAndPropagates) {
  Engine& eng = get();
  Var* a = new_var();
  Var* b = new_var();
  Var* c = new_var();
  std::atomic<bool> dependent_ran{false};
  eng.push([](RunContext&) { throw Error(MX_ERR_INVALID_ARGUMENT, "boom in op A"); }, cpu(), {}, std::vector<Var*>{a});
  eng.push([&](RunContext&) { dependent_ran = true; }, cpu(), std::vector<Var*>{a}, std::vector<Var*>{b});
  eng.push([](RunContext&) {}, cpu(), {}, std::vector<Var*>{c});  // unrelated: unaffected
  try {
    eng.wait_for_var(b);
    FAIL() << "wait_for_var(b) should rethrow the error of the op that b depends on";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "boom in op A");
    EXPECT_EQ(e.code(), MX_ERR_INVALID_ARGUMENT);
  }
  EXPECT_FALSE(dependent_ran) << "an op reading a failed var must not run";
  EXPECT_THROW(eng.wait_for_var(b), Error) << "an error stays on the var until it is written again";
  EXPECT_NO_THROW(eng.wait_for_var(c));
  EXPECT_THROW(eng.wait_for_var(a), Error);
  EXPECT_NO_THROW(eng.wait_all()) << "errors already observed are not reported again";

  // A successful rewrite clears the error; wait_all reports unobserved ones.
  eng.push([](RunContext&) {}, cpu(), {}, std::vector<Var*>{a});
  EXPECT_NO_THROW(eng.wait_for_var(a));
  eng.push([](RunContext&) { throw std::runtime_error("second"); }, cpu(), {}, std::vector<Var*>{c});
  EXPECT_THROW(eng.wait_all(), std::runtime_error);
  EXPECT_NO_THROW(eng.wait_all());
  for (Var* v : {a, b, c}) eng.delete_var(v, nullptr);
  eng.wait_all();
}

TEST_P(EngineTypes, WaitToWriteWaitsForReaders) {
  Engine& eng = get();
  Var* a = new_var();
  std::atomic<int> reads_done{0};
  for (int i = 0; i < 8; ++i)
    eng.push(
        [&](RunContext&) {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          ++reads_done;
        },
        cpu(), std::vector<Var*>{a}, {});
  eng.wait_for_var(a, /*for_write=*/true);
  EXPECT_EQ(reads_done.load(), 8);
  eng.delete_var(a, nullptr);
  eng.wait_all();
}

TEST_P(EngineTypes, DeleteRunsAfterPendingOps) {
  Engine& eng = get();
  Var* a = new_var();
  std::vector<int> order;
  std::mutex mu;
  for (int i = 0; i < 5; ++i)
    eng.push(
        [&, i](RunContext&) {
          std::lock_guard<std::mutex> lk(mu);
          order.push_back(i);
        },
        cpu(), {}, std::vector<Var*>{a});
  eng.delete_var(a, [&] {
    std::lock_guard<std::mutex> lk(mu);
    order.push_back(-1);
  });
  eng.wait_all();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, -1}));
}

INSTANTIATE_TEST_SUITE_P(Engines, EngineTypes, ::testing::Values("threaded", "naive"));

TEST(ThreadedEngine, ReadersRunConcurrently) {
  set_type("threaded", 4);
  Engine& eng = get();
  Var* a = new_var();
  std::atomic<int> inside{0}, peak{0};
  for (int i = 0; i < 8; ++i)
    eng.push(
        [&](RunContext&) {
          int now = ++inside;
          int p = peak.load();
          while (now > p && !peak.compare_exchange_weak(p, now)) {
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          --inside;
        },
        cpu(), std::vector<Var*>{a}, {});
  eng.wait_all();
  EXPECT_GT(peak.load(), 1) << "reads of the same var should overlap on a 4-worker pool";
  eng.delete_var(a, nullptr);
  eng.wait_all();
  set_type("threaded", 1);
}

TEST(ThreadedEngine, CopyQueueHonoursPriority) {
  // On a single-worker pool, ready ops run highest priority first.
  set_type("threaded", 1);
  Engine& eng = get();
  Var* gate = new_var();
  std::vector<int> order;
  std::mutex mu;
  std::atomic<bool> release{false};
  eng.push([&](RunContext&) { while (!release) std::this_thread::yield(); }, cpu(), {}, std::vector<Var*>{gate});
  std::vector<Var*> vars;
  for (int p : {1, 5, 3}) {
    Var* v = new_var();
    vars.push_back(v);
    PushOptions o;
    o.priority = p;
    eng.push(
        [&, p](RunContext&) {
          std::lock_guard<std::mutex> lk(mu);
          order.push_back(p);
        },
        cpu(), {}, std::vector<Var*>{v}, o);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let all three become ready
  release = true;
  eng.wait_all();
  EXPECT_EQ(order, (std::vector<int>{5, 3, 1}));
  for (Var* v : vars) eng.delete_var(v, nullptr);
  eng.delete_var(gate, nullptr);
  eng.wait_all();
}

}  // namespace
}  // namespace mx::engine
