// Grains of the CPU backend's elementwise loops: from how many elements a loop is worth a parallel
// loop (parallel_for's min_parallel). A cheap op (load, add / compare / max, store: well under a
// nanosecond per element, memory-bound) gains little from a second thread below ~100k elements; a
// libm op (exp, tanh, pow: a few ns per element) pays sooner. Set with bench/bench_small_ops.py at
// LeNet / MLP shapes (batch 128) on the shared 2-core machine, where a second thread often finds
// its core taken: 128x256 .. 128x800 cheap ops run inline (with the old pool and grains, 2^15 / 2^16,
// they were 1.3-4x slower at 2 threads than at 1), 128x50x8x8 and 128x20x24x24 in parallel; exp at
// 128x128 .. 128x256 measured no faster, often slower, at 2 threads from 2^13, hence 2^15.
#pragma once

#include <cstdint>

#include "cpu_backend.h"

namespace mxcpu {

constexpr int64_t kGrainCheap = int64_t(1) << 17;
constexpr int64_t kGrainCostly = int64_t(1) << 15;

// Unary<F> (functors.h): costly unless an arithmetic / rounding / test op.
constexpr int64_t unary_grain(int f) {
  switch (f) {
    case kRelu: case kSoftsign: case kSqrt: case kRsqrt: case kSquare: case kAbs: case kSign: case kNegative:
    case kReciprocal: case kFloor: case kCeil: case kRound: case kIdentity: case kDegrees: case kRadians:
    case kRint: case kFix: case kTrunc: case kLogicalNot: case kIsinf: case kIsnan: case kIsfinite:
      return kGrainCheap;
    default:
      return kGrainCostly;
  }
}

// Binary<F> (functors.h): costly for the libm ones (fmod, pow, hypot, digamma).
constexpr int64_t binary_grain(int f) {
  switch (f) {
    case kMod: case kRMod: case kPow: case kRPow: case kHypot: case kGammalnGrad:
      return kGrainCostly;
    default:
      return kGrainCheap;
  }
}

}  // namespace mxcpu
