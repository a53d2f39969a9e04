// The handle table: every handle the C API gives out is an index into this table plus the slot's
// generation and the handle's kind, never a raw pointer. A handle that was freed, never issued, or
// is of another kind is caught on every use with MX_ERR_INVALID_HANDLE instead of being
// dereferenced. The check is a few loads on the per-op path; see docs/design-notes.md.
//
// Handle value (64 bits): kind (8) | generation (24) | slot index (32). The slot keeps the kind
// and generation of its live handle; freeing bumps the generation, so a stale copy of the handle
// no longer matches. Freed slots are reused oldest first, and a slot whose 24-bit generation
// would wrap is retired (16 bytes per 2^24 frees of it), so a stale handle never matches again.
//
// Thread safety: issuing and freeing take a mutex; lookups take none (a seqlock-style read: the
// tag, the object, the tag again), so a lookup racing a free and a reissue of the slot returns
// nothing rather than another object. Freeing a handle while another thread is still inside a
// call that uses it is the caller's race, as with any free.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace mx::capi {

enum class Kind : uint8_t {
  kNDArray = 1,
  kSymbol,
  kExecutor,
  kCachedOp,
  kDataIter,
  kRecordWriter,
  kRecordReader,
  kKVStore,
  kLast = kKVStore,
};

// "array", "symbol", ... as messages name a kind.
const char* kind_name(Kind k);

namespace handle_detail {

struct Slot {
  std::atomic<uint32_t> tag{0};  // kind << 24 | generation; kind 0 while free
  std::atomic<void*> obj{nullptr};
};

// Slots live in segments of 4096 (64 KiB) that are never moved or freed, so a lookup takes no
// lock; the segment pointers are a static array (8 MiB of zero pages, touched as segments are made).
inline constexpr int kSegmentBits = 12;
inline constexpr uint32_t kNumSegments = 1u << (32 - kSegmentBits);
extern std::atomic<Slot*> g_segments[kNumSegments];

inline Slot* slot_at(uint32_t index) {
  Slot* base = g_segments[index >> kSegmentBits].load(std::memory_order_acquire);
  return base ? base + (index & ((1u << kSegmentBits) - 1)) : nullptr;
}

// Throws MX_ERR_INVALID_HANDLE with a message saying what is wrong with h.
[[noreturn]] void invalid(uintptr_t h, Kind k, const char* fn);

}  // namespace handle_detail

// Registers obj (heap-allocated; owned by the caller of handle_remove from then on) and returns
// its handle value.
uintptr_t handle_add(Kind k, void* obj);

// The object behind handle h of kind k, or nullptr if h is not a live handle of that kind.
inline void* handle_find(uintptr_t h, Kind k) {
  const uint32_t tag = uint32_t(h >> 32);
  if ((tag >> 24) != uint32_t(k)) return nullptr;
  handle_detail::Slot* s = handle_detail::slot_at(uint32_t(h));
  if (!s || s->tag.load(std::memory_order_acquire) != tag) return nullptr;
  void* obj = s->obj.load(std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_acquire);  // obj is read before the tag is read again
  return s->tag.load(std::memory_order_relaxed) == tag ? obj : nullptr;
}

// The object behind handle h of kind k; throws MX_ERR_INVALID_HANDLE naming fn and the handle
// (MX_ERR_INVALID_ARGUMENT for NULL).
inline void* handle_get(uintptr_t h, Kind k, const char* fn) {
  if (void* obj = handle_find(h, k)) [[likely]]
    return obj;
  handle_detail::invalid(h, k, fn);
}

// Invalidates h and returns its object for the caller to destroy; throws like handle_get.
void* handle_remove(uintptr_t h, Kind k, const char* fn);

// Live handles of kind k (tests, leak reports).
uint64_t handle_count(Kind k);

}  // namespace mx::capi
