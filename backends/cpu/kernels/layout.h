// Raw-byte helpers of the families that move data without looking at its values: the
// (outer, axis, inner) view (slicing.cc: Concat, stack, slice_axis; shape.cc: repeat;
// indexing.cc: take, pick) and the identity kernel (elemwise.cc: _copy, BlockGrad; shape.cc:
// Reshape, Flatten, expand_dims, squeeze: the same bytes under a new shape).
#pragma once

#include <cstdint>
#include <cstring>

#include "../cpu_backend.h"

namespace mxcpu {

inline int norm_axis(int64_t axis, int ndim) { return int(axis < 0 ? axis + ndim : axis); }

// Block view of t around `axis`: outer = prod(shape[:axis]), inner = prod(shape[axis+1:]).
inline void blocks(const DLTensor& t, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = inner = 1;
  for (int d = 0; d < axis; ++d) outer *= t.shape[d];
  len = axis < t.ndim ? t.shape[axis] : 1;
  for (int d = axis + 1; d < t.ndim; ++d) inner *= t.shape[d];
}

// out = in, byte for byte (nothing to do when the output aliases the input).
inline int copy_create(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}
inline int copy_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const int64_t bytes = numel(in[0]) * ((in[0].dtype.bits + 7) / 8);
  if (data_of(in[0]) != data_of(out[0])) std::memcpy(data_of(out[0]), data_of(in[0]), size_t(bytes));
  return 0;
}
inline void no_destroy(void*) {}

}  // namespace mxcpu
