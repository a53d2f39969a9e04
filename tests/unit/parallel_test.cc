// The CPU backend's intra-op pool (backends/cpu/parallel.cc, compiled into this test with a fake
// host table asking for 4 threads, more than CI's 2 cores) against a sequential reference: every
// index in exactly one chunk, chunks contiguous and covering [0, n), small and nested loops inline,
// concurrent callers, exceptions, zero sizes, and many back-to-back loops (a lost wake-up hangs
// and ctest's timeout fails it). ctest runs it twice: helpers polling before they block (the
// default) and blocking at once (MX_CPU_POOL_SPIN_US=0).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "../../backends/cpu/parallel.h"
#include "../../backends/common/plugin.h"

namespace {

constexpr int kThreads = 4;

int32_t four_threads() { return kThreads; }

struct FakeHost : ::testing::Environment {
  void SetUp() override {
    static mx_host_api host{};
    host.struct_size = sizeof(host);
    host.intra_op_threads = four_threads;
    mx_impl::g_host = &host;
  }
};
const auto* const kHost = ::testing::AddGlobalTestEnvironment(new FakeHost);

struct Chunk {
  int64_t begin, end;
  std::thread::id thread;
};

// Runs parallel_for and returns its chunks sorted by begin, after checking each index was visited
// exactly once (the sequential reference: one visit per index of [0, n)).
std::vector<Chunk> chunks_of(int64_t n, int64_t min_parallel) {
  std::vector<std::atomic<int>> visits(size_t(std::max<int64_t>(n, 0)));
  std::mutex mu;
  std::vector<Chunk> chunks;
  mxcpu::parallel_for(n, min_parallel, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) visits[size_t(i)].fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lk(mu);
    chunks.push_back({b, e, std::this_thread::get_id()});
  });
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(visits[size_t(i)].load(), 1) << "index " << i << " of " << n;
  std::sort(chunks.begin(), chunks.end(), [](const Chunk& x, const Chunk& y) { return x.begin < y.begin; });
  int64_t next = 0;
  for (const Chunk& c : chunks) {
    EXPECT_EQ(c.begin, next) << "chunks of " << n << " are not contiguous";
    EXPECT_LT(c.begin, c.end) << "empty chunk called";
    next = c.end;
  }
  EXPECT_EQ(next, std::max<int64_t>(n, 0));
  return chunks;
}

TEST(ParallelFor, EveryIndexExactlyOnce) {
  EXPECT_EQ(mxcpu::parallel_threads(), kThreads);
  for (int64_t n : {1, 2, 3, 4, 5, 7, 64, 1000, 100003}) {
    const auto chunks = chunks_of(n, 1);
    EXPECT_EQ(int64_t(chunks.size()), std::min<int64_t>(n, kThreads)) << "n = " << n;
  }
}

// Chunks are claimed by whichever thread is free: with chunks long enough for the helpers to wake,
// they take some (a few tries: the machine may be loaded).
TEST(ParallelFor, HelpersTakeChunks) {
  size_t most = 0;
  for (int attempt = 0; attempt < 5 && most < 2; ++attempt) {
    std::mutex mu;
    std::set<std::thread::id> threads;
    mxcpu::parallel_for(kThreads, 1, [&](int64_t, int64_t) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard<std::mutex> lk(mu);
      threads.insert(std::this_thread::get_id());
    });
    most = std::max(most, threads.size());
  }
  EXPECT_GE(most, 2u);
}

TEST(ParallelFor, ZeroAndNegativeSizesCallNothing) {
  for (int64_t n : {0, -1, -100}) {
    int calls = 0;
    mxcpu::parallel_for(n, 1, [&](int64_t, int64_t) { ++calls; });
    EXPECT_EQ(calls, 0) << "n = " << n;
  }
}

TEST(ParallelFor, BelowMinParallelRunsInlineAsOneChunk) {
  const auto chunks = chunks_of(999, 1000);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].begin, 0);
  EXPECT_EQ(chunks[0].end, 999);
  EXPECT_EQ(chunks[0].thread, std::this_thread::get_id());
  EXPECT_EQ(chunks_of(1000, 1000).size(), size_t(kThreads));
}

TEST(ParallelFor, NestedCallsRunInlineOnTheirThread) {
  std::vector<std::atomic<int>> visits(64 * 100);
  std::atomic<int> inner_calls{0}, wrong_thread{0};
  mxcpu::parallel_for(64, 1, [&](int64_t b, int64_t e) {
    const auto me = std::this_thread::get_id();
    for (int64_t row = b; row < e; ++row)
      mxcpu::parallel_for(100, 1, [&](int64_t ib, int64_t ie) {
        inner_calls.fetch_add(1);
        if (std::this_thread::get_id() != me || ib != 0 || ie != 100) wrong_thread.fetch_add(1);
        for (int64_t i = ib; i < ie; ++i) visits[size_t(row * 100 + i)].fetch_add(1);
      });
  });
  EXPECT_EQ(inner_calls.load(), 64);
  EXPECT_EQ(wrong_thread.load(), 0);
  for (size_t i = 0; i < visits.size(); ++i) ASSERT_EQ(visits[i].load(), 1) << i;
}

// Callers on several threads at once (engine workers): each loop exact, whether it got the pool
// or ran inline because another loop held it.
TEST(ParallelFor, ConcurrentCallers) {
  constexpr int kCallers = 4, kLoops = 300;
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t)
    callers.emplace_back([&, t] {
      for (int l = 0; l < kLoops; ++l) {
        const int64_t n = 1 + (t * 7919 + l * 104729) % 5000;
        std::vector<int64_t> out(size_t(n), -1);
        mxcpu::parallel_for(n, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) out[size_t(i)] = i * i + t;
        });
        for (int64_t i = 0; i < n; ++i)
          if (out[size_t(i)] != i * i + t) {
            failures.fetch_add(1);
            break;
          }
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ParallelFor, ExceptionReachesTheCallerAfterEveryChunk) {
  for (int64_t bad : {int64_t(0), int64_t(999)}) {  // thrown by the caller's chunk, then a helper's
    std::atomic<int64_t> done{0};
    try {
      mxcpu::parallel_for(1000, 1, [&](int64_t b, int64_t e) {
        if (b <= bad && bad < e) throw std::runtime_error("chunk failed");
        done.fetch_add(e - b);
      });
      ADD_FAILURE() << "no exception, bad index " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "chunk failed");
    }
    EXPECT_EQ(done.load(), 1000 - 1000 / kThreads) << "the other chunks finished before the rethrow";
  }
  chunks_of(1000, 1);  // the pool still works
  // Every chunk throwing: one exception, no terminate.
  EXPECT_THROW(mxcpu::parallel_for(100, 1, [](int64_t, int64_t) { throw std::logic_error("all"); }),
               std::logic_error);
  // Inline (below min_parallel): the exception passes through as it is.
  EXPECT_THROW(mxcpu::parallel_for(10, 100, [](int64_t, int64_t) { throw std::logic_error("inline"); }),
               std::logic_error);
}

// Many tiny loops back to back, with and without gaps: helpers go through polling and blocking
// over and over. A lost wake-up hangs here.
TEST(ParallelFor, ManyBackToBackLoops) {
  int64_t total = 0;
  for (int l = 0; l < 10000; ++l) {
    std::atomic<int64_t> sum{0};
    mxcpu::parallel_for(kThreads, 1, [&](int64_t b, int64_t e) { sum.fetch_add(e - b); });
    total += sum.load();
    if (l % 1000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // helpers block
  }
  EXPECT_EQ(total, int64_t(10000) * kThreads);
}

}  // namespace
