// Iteration over an output while reading inputs broadcast to it (stride 0 on broadcast axes).
// Dims are collapsed where every operand stays contiguous across them, so the common cases
// (same shape, scalar, row/column vector) run as one or two tight loops.
#pragma once

#include <cstdint>

#include "../cpu_backend.h"

namespace mxcpu {

inline constexpr int kMaxDims = 16;

struct BroadcastPlan {
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t stride[2][kMaxDims];  // element strides of operand 0 and 1 (0 on broadcast axes)
};

// Strides for reading `in` broadcast to the output's shape `out` (in right-aligned to out).
inline void broadcast_strides(const DLTensor& in, const DLTensor& out, int64_t* strides) {
  int64_t s = 1;
  for (int d = out.ndim - 1; d >= 0; --d) {
    const int k = d - (out.ndim - in.ndim);
    const int64_t dim = k >= 0 ? in.shape[k] : 1;
    strides[d] = dim == 1 ? 0 : s;
    s *= dim;
  }
}

// Plan over out with up to two broadcast inputs (b may be null). False if out has too many dims.
inline bool make_plan(const DLTensor* a, const DLTensor* b, const DLTensor& out, BroadcastPlan& p) {
  if (out.ndim > kMaxDims) return false;
  int64_t sa[kMaxDims], sb[kMaxDims];
  broadcast_strides(*a, out, sa);
  if (b) broadcast_strides(*b, out, sb);
  else for (int d = 0; d < out.ndim; ++d) sb[d] = 0;
  p.ndim = 0;
  for (int d = 0; d < out.ndim; ++d) {
    if (out.shape[d] == 1) continue;  // contributes nothing
    if (p.ndim > 0) {
      const int j = p.ndim - 1;
      if (p.stride[0][j] == sa[d] * out.shape[d] && p.stride[1][j] == sb[d] * out.shape[d]) {
        p.shape[j] *= out.shape[d];  // merge into the previous dim
        p.stride[0][j] = sa[d];
        p.stride[1][j] = sb[d];
        continue;
      }
    }
    p.shape[p.ndim] = out.shape[d];
    p.stride[0][p.ndim] = sa[d];
    p.stride[1][p.ndim] = sb[d];
    ++p.ndim;
  }
  if (p.ndim == 0) {  // a single element
    p.ndim = 1;
    p.shape[0] = 1;
    p.stride[0][0] = p.stride[1][0] = 0;
  }
  return true;
}

// Calls inner(out_offset, a_offset, b_offset, n, a_step, b_step) for each innermost run, starting
// at the given offsets.
template <typename Inner>
void for_each_run(const BroadcastPlan& p, Inner&& inner, int64_t out = 0, int64_t oa = 0, int64_t ob = 0) {
  const int last = p.ndim - 1;
  int64_t idx[kMaxDims] = {0};
  const int64_t n = p.shape[last];
  for (;;) {
    inner(out, oa, ob, n, p.stride[0][last], p.stride[1][last]);
    out += n;
    int d = last - 1;
    for (; d >= 0; --d) {
      oa += p.stride[0][d];
      ob += p.stride[1][d];
      if (++idx[d] < p.shape[d]) break;
      oa -= p.stride[0][d] * p.shape[d];
      ob -= p.stride[1][d] * p.shape[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace mxcpu

namespace mxcpu {

// for_each_run over the slab [lo, hi) of the plan's first dim (a part of the run if it is the
// only dim): parallel loops hand each thread one slab.
template <typename Inner>
void for_each_run_part(const BroadcastPlan& p, int64_t lo, int64_t hi, Inner&& inner) {
  if (p.ndim == 1) {
    inner(lo, lo * p.stride[0][0], lo * p.stride[1][0], hi - lo, p.stride[0][0], p.stride[1][0]);
    return;
  }
  BroadcastPlan q = p;
  q.shape[0] = hi - lo;
  int64_t rest = 1;
  for (int d = 1; d < p.ndim; ++d) rest *= p.shape[d];
  for_each_run(q, inner, lo * rest, lo * p.stride[0][0], lo * p.stride[1][0]);
}

// Elements of one slab of the plan's first dim.
inline int64_t slab_size(const BroadcastPlan& p) {
  int64_t rest = 1;
  for (int d = 1; d < p.ndim; ++d) rest *= p.shape[d];
  return rest;
}

}  // namespace mxcpu
