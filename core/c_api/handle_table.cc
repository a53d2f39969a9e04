#include "c_api/handle_table.h"

#include <cinttypes>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>

#include "base/error.h"
#include "engine/engine.h"

namespace mx::capi {
namespace handle_detail {

std::atomic<Slot*> g_segments[kNumSegments];

namespace {

constexpr uint32_t kGenMask = (1u << 24) - 1;

struct Table {
  std::mutex mu;
  std::atomic<uint32_t> next_fresh{0};  // slots [0, next_fresh) have been issued at least once
  std::deque<uint32_t> free;     // freed slots, oldest first
  uint64_t live[uint32_t(Kind::kLast) + 1] = {};
};

Table& table() {
  static auto* t = new Table();  // never destroyed: handles may be freed during static teardown
  return *t;
}

// fork(): the forking thread holds the table's lock across it, so a child never inherits it held
// by another thread (one freeing an NDArray at that instant) that the child lacks.
void lock_table_for_fork() { table().mu.lock(); }
void unlock_table_after_fork() { table().mu.unlock(); }
[[maybe_unused]] const bool g_fork_hooks =
    (engine::add_fork_hooks({lock_table_for_fork, unlock_table_after_fork, unlock_table_after_fork}), true);

std::string hex(uintptr_t h) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "0x%016" PRIxPTR, h);
  return buf;
}

}  // namespace

void invalid(uintptr_t h, Kind k, const char* fn) {
  const char* want = kind_name(k);
  if (h == 0) fail(MX_ERR_INVALID_ARGUMENT, fn, ": ", want, " handle is NULL");
  const uint32_t tag = uint32_t(h >> 32);
  const uint32_t kind = tag >> 24;
  if (kind == 0 || kind > uint32_t(Kind::kLast))
    fail(MX_ERR_INVALID_HANDLE, fn, ": ", hex(h), " is not a handle issued by mx (expected ", want,
         " handle; uninitialised or corrupted?)");
  if (kind != uint32_t(k))
    fail(MX_ERR_INVALID_HANDLE, fn, ": handle ", hex(h), " is ", kind_name(Kind(kind)), " handle, expected ", want,
         " handle");
  Slot* s = slot_at(uint32_t(h));
  if (!s || uint32_t(h) >= table().next_fresh.load(std::memory_order_relaxed))
    fail(MX_ERR_INVALID_HANDLE, fn, ": ", want, " handle ", hex(h), " was never issued by mx");
  fail(MX_ERR_INVALID_HANDLE, fn, ": ", want, " handle ", hex(h), " was already freed (double free or use after free)");
}

}  // namespace handle_detail

using namespace handle_detail;

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kNDArray: return "an array";
    case Kind::kSymbol: return "a symbol";
    case Kind::kExecutor: return "an executor";
    case Kind::kCachedOp: return "a cached-op";
    case Kind::kDataIter: return "a data-iterator";
    case Kind::kRecordWriter: return "a RecordIO-writer";
    case Kind::kRecordReader: return "a RecordIO-reader";
    case Kind::kKVStore: return "a kvstore";
  }
  return "an unknown";
}

uintptr_t handle_add(Kind k, void* obj) {
  Table& t = table();
  std::lock_guard<std::mutex> lk(t.mu);
  uint32_t index;
  if (!t.free.empty()) {
    index = t.free.front();
    t.free.pop_front();
  } else {
    index = t.next_fresh.load(std::memory_order_relaxed);
    if (index == UINT32_MAX) fail(MX_ERR_OUT_OF_MEMORY, "handle table full: 2^32 - 1 handles are live");
    std::atomic<Slot*>& seg = g_segments[index >> kSegmentBits];
    if (!seg.load(std::memory_order_relaxed)) seg.store(new Slot[size_t(1) << kSegmentBits], std::memory_order_release);
    t.next_fresh.store(index + 1, std::memory_order_relaxed);
  }
  Slot* s = slot_at(index);
  const uint32_t gen = s->tag.load(std::memory_order_relaxed) & kGenMask;
  // Fences before the object is stored: a lookup that reads this object then sees the tag that
  // invalidated the slot's previous handle (handle_find).
  std::atomic_thread_fence(std::memory_order_release);
  s->obj.store(obj, std::memory_order_relaxed);
  const uint32_t tag = uint32_t(k) << 24 | gen;
  s->tag.store(tag, std::memory_order_release);
  ++t.live[uint32_t(k)];
  return uintptr_t(tag) << 32 | index;
}

void* handle_remove(uintptr_t h, Kind k, const char* fn) {
  Table& t = table();
  std::lock_guard<std::mutex> lk(t.mu);
  void* obj = handle_get(h, k, fn);  // under the lock: of two racing frees, one fails cleanly
  Slot* s = slot_at(uint32_t(h));
  const uint32_t next_gen = ((s->tag.load(std::memory_order_relaxed) & kGenMask) + 1) & kGenMask;
  s->tag.store(next_gen, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_release);
  s->obj.store(nullptr, std::memory_order_relaxed);
  // A generation that wrapped to 0 would let handles of the slot's first life match again: the
  // slot is retired instead of reused.
  if (next_gen != 0) t.free.push_back(uint32_t(h));
  --t.live[uint32_t(k)];
  return obj;
}

uint64_t handle_count(Kind k) {
  Table& t = table();
  std::lock_guard<std::mutex> lk(t.mu);
  return t.live[uint32_t(k)];
}

}  // namespace mx::capi
