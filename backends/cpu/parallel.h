// Intra-op parallelism for CPU kernels: a persistent pool of (threads - 1) helpers; the calling
// worker takes the first chunk itself. Small loops run inline (not worth a wake-up), and nested
// calls from inside a chunk run inline too (no oversubscription, no deadlock).
#pragma once

#include <cstdint>
#include <functional>

namespace mxcpu {

// Calls fn(begin, end) over [0, n) in contiguous chunks, in parallel when n >= min_parallel.
void parallel_for(int64_t n, int64_t min_parallel, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace mxcpu
