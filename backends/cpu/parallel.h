// Intra-op parallelism for CPU kernels: a persistent pool of (threads - 1) helpers; the calling
// worker takes the first chunk itself. Small loops run inline (not worth a wake-up), and nested
// calls from inside a chunk run inline too (no oversubscription, no deadlock); a call made while
// another worker's loop holds the pool waits for it (run inline, it would be cut differently and
// its results would vary bitwise with the timing).
//
// Waking a blocked helper costs tens of microseconds (a futex wake and a reschedule), more than a
// small op takes, so helpers poll for the next loop a short bounded while before they block, and
// the caller polls for the helpers' chunks before it blocks (the idea of OpenMP's KMP_BLOCKTIME).
// MX_CPU_POOL_SPIN_US sets that while (default kDefaultSpinUs; 0 blocks at once).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

namespace mxcpu {

// A non-owning reference to a callable fn(begin, end): two words, no allocation, unlike
// std::function. Valid while the callable lives (parallel_for's parameter outlives the call).
class ChunkFn {
 public:
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, ChunkFn>>>
  ChunkFn(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert implicitly, as to std::function
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, int64_t b, int64_t e) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e); }) {}
  void operator()(int64_t begin, int64_t end) const { call_(obj_, begin, end); }

 private:
  void* obj_;
  void (*call_)(void*, int64_t, int64_t);
};

// Microseconds a helper or the caller polls before blocking, unless MX_CPU_POOL_SPIN_US says.
constexpr int kDefaultSpinUs = 30;

// Calls fn(begin, end) over [0, n) in contiguous chunks, in parallel when n >= min_parallel. Each
// index is in exactly one chunk; nothing is called when n <= 0. An exception thrown by a chunk is
// rethrown here once every chunk has finished (the first one caught, if several threw).
void parallel_for(int64_t n, int64_t min_parallel, ChunkFn fn);

// Threads a parallel loop uses (the pool's helpers plus the caller); 1 means every loop is inline.
int parallel_threads();

}  // namespace mxcpu
