// The C API's handle table (core/c_api/handle_table.h) on its own: a stale handle never matches
// again, even once its slot's generation has gone all the way round, and a lookup that races a
// free and a reissue of its slot returns nothing rather than the new object.
// (tests/robustness/handles_test.cc covers the same table through the C API.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "c_api/handle_table.h"

namespace mx::capi {
namespace {

constexpr uint32_t kGenBits = 24;

uint32_t index_of(uintptr_t h) { return uint32_t(h); }
uint32_t generation_of(uintptr_t h) { return uint32_t(h >> 32) & ((1u << kGenBits) - 1); }

TEST(HandleTable, AStaleHandleNeverMatchesAgainEvenAfterItsSlotsGenerationWraps) {
  int obj = 0;
  const uintptr_t first = handle_add(Kind::kNDArray, &obj);
  const uint32_t slot = index_of(first), first_gen = generation_of(first);
  handle_remove(first, Kind::kNDArray, "test");
  // Cycle that one slot through every generation. Other free slots come back too (the free list
  // is FIFO): they are kept, so that only ours keeps cycling.
  std::vector<uintptr_t> kept;
  uint64_t reuses = 0;
  bool retired = false;
  while (!retired) {
    const uintptr_t h = handle_add(Kind::kNDArray, &obj);
    if (index_of(h) != slot) {
      kept.push_back(h);
      ASSERT_LT(kept.size(), 100000u) << "the slot never came back";
      continue;
    }
    ++reuses;
    ASSERT_NE(generation_of(h), first_gen) << "the slot's generation came round again after " << reuses << " reuses";
    ASSERT_EQ(handle_find(first, Kind::kNDArray), nullptr) << "a stale handle matched after " << reuses << " reuses";
    const bool last = generation_of(h) == (1u << kGenBits) - 1;
    handle_remove(h, Kind::kNDArray, "test");
    if (last) {
      // Freed at its last generation: the slot must not be issued again.
      const uintptr_t next = handle_add(Kind::kNDArray, &obj);
      EXPECT_NE(index_of(next), slot);
      kept.push_back(next);
      retired = true;
    }
  }
  EXPECT_EQ(handle_find(first, Kind::kNDArray), nullptr);
  for (uintptr_t h : kept) handle_remove(h, Kind::kNDArray, "test");
}

TEST(HandleTable, ALookupRacingAFreeAndAReissueNeverSeesTheNewObject) {
  // One thread frees and reissues handles, alternating kinds; others look the stale and the live
  // handles up. A lookup returns the object of the handle it was given, or nothing.
  struct Obj {
    Kind kind;
  };
  constexpr int kRounds = 20000;
  static Obj arrays[2] = {{Kind::kNDArray}, {Kind::kNDArray}}, symbols[2] = {{Kind::kSymbol}, {Kind::kSymbol}};
  std::atomic<uintptr_t> current{handle_add(Kind::kNDArray, &arrays[0])};
  std::atomic<bool> done{false};
  std::atomic<int64_t> wrong{0};
  auto reader = [&] {
    while (!done.load()) {
      const uintptr_t h = current.load();
      const Kind k = Kind(uint32_t(h >> 56));
      if (void* p = handle_find(h, k); p && static_cast<Obj*>(p)->kind != k) ++wrong;
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) readers.emplace_back(reader);
  for (int r = 0; r < kRounds; ++r) {
    const uintptr_t old = current.load();
    const Kind k = r % 2 ? Kind::kNDArray : Kind::kSymbol;
    Obj* next = r % 2 ? &arrays[r / 2 % 2] : &symbols[r / 2 % 2];
    handle_remove(old, Kind(uint32_t(old >> 56)), "test");
    current.store(handle_add(k, next));
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(wrong.load(), 0);
  const uintptr_t last = current.load();
  handle_remove(last, Kind(uint32_t(last >> 56)), "test");
}

}  // namespace
}  // namespace mx::capi
