// The shape family (core/op/defs/shape.cc): Reshape, Flatten, expand_dims, squeeze (the same
// bytes under a new shape), transpose (a strided read, see strided.h), tile and repeat (slabs of
// raw bytes).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../cpu_backend.h"
#include "layout.h"
#include "strided.h"

namespace mxcpu {
namespace {

// ---------------------------------------------------------------- transpose

struct TransposePlan {
  int bytes;
  BroadcastPlan plan;  // operand 0: the input read with permuted strides
};

int transpose_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  if (x.ndim > kMaxDims) return error(MX_ERR_UNSUPPORTED, "transpose: more than 16 dims on cpu");
  int64_t in_stride[kMaxDims];
  int64_t s = 1;
  for (int d = x.ndim - 1; d >= 0; --d) {
    in_stride[d] = s;
    s *= x.shape[d];
  }
  std::vector<int64_t> axes = attr_ints(attr(args, "axes"));
  if (axes.empty())
    for (int d = x.ndim - 1; d >= 0; --d) axes.push_back(d);
  auto* t = new TransposePlan{};
  t->bytes = (x.dtype.bits + 7) / 8;
  t->plan.ndim = x.ndim ? x.ndim : 1;
  for (int d = 0; d < x.ndim; ++d) {
    t->plan.shape[d] = x.shape[axes[size_t(d)]];
    t->plan.stride[0][d] = in_stride[axes[size_t(d)]];
    t->plan.stride[1][d] = 0;
  }
  if (x.ndim == 0) {
    t->plan.shape[0] = 1;
    t->plan.stride[0][0] = t->plan.stride[1][0] = 0;
  }
  *out = t;
  return 0;
}

template <typename T>
void transpose_t(const BroadcastPlan& p, const T* x, T* y) {
  for_each_run(p, [&](int64_t oo, int64_t oa, int64_t, int64_t n, int64_t sa, int64_t) {
    for (int64_t i = 0; i < n; ++i) y[oo + i] = x[oa + i * sa];
  });
}

int transpose_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const TransposePlan& t = *static_cast<const TransposePlan*>(state);
  const void* x = data_of(in[0]);
  void* y = data_of(out[0]);
  switch (t.bytes) {
    case 1: transpose_t(t.plan, static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y)); break;
    case 2: transpose_t(t.plan, static_cast<const uint16_t*>(x), static_cast<uint16_t*>(y)); break;
    case 4: transpose_t(t.plan, static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y)); break;
    case 8: transpose_t(t.plan, static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y)); break;
  }
  return 0;
}

void transpose_destroy(void* s) { delete static_cast<TransposePlan*>(s); }

// ---------------------------------------------------------------- tile

// out[i...] = in[i % d ...] (rank-aligned on the right)
int tile_create(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}
int tile_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const DLTensor& x = in[0];
  const DLTensor& y = out[0];
  const int64_t eb = elem_bytes(x), n = numel(y);
  const char* src = data_of(x);
  char* dst = data_of(y);
  std::vector<int64_t> idx(size_t(y.ndim), 0);
  for (int64_t o = 0; o < n; ++o) {
    int64_t off = 0;
    for (int d = 0; d < y.ndim; ++d) {
      const int k = d - (y.ndim - x.ndim);
      if (k >= 0) off = off * x.shape[k] + idx[size_t(d)] % x.shape[k];
    }
    std::memcpy(dst + o * eb, src + off * eb, size_t(eb));
    for (int d = y.ndim - 1; d >= 0; --d) {
      if (++idx[size_t(d)] < y.shape[d]) break;
      idx[size_t(d)] = 0;
    }
  }
  return 0;
}

// ---------------------------------------------------------------- repeat

// Along an axis (or the flattened array), each element k times.
struct RepeatPlan {
  int axis = -1;  // -1: the flattened array
  int64_t b = 0;  // repeats
};

void repeat_destroy(void* s) { delete static_cast<RepeatPlan*>(s); }

int repeat_create(const mx_kernel_args* args, void** out) {
  auto* p = new RepeatPlan{};
  const auto axes = attr_ints(attr(args, "axis"));
  p->axis = axes.empty() ? -1 : norm_axis(axes[0], args->inputs[0].ndim);
  p->b = std::strtoll(attr(args, "repeats"), nullptr, 10);
  *out = p;
  return 0;
}
int repeat_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const RepeatPlan& p = *static_cast<const RepeatPlan*>(state);
  int64_t outer = 1, len = numel(in[0]), inner = 1;
  if (p.axis >= 0) blocks(in[0], p.axis, outer, len, inner);
  const int64_t eb = elem_bytes(in[0]);
  const char* x = data_of(in[0]);
  char* y = data_of(out[0]);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < len; ++j)
      for (int64_t r = 0; r < p.b; ++r)
        std::memcpy(y + ((o * len + j) * p.b + r) * inner * eb, x + (o * len + j) * inner * eb, size_t(inner * eb));
  return 0;
}

const mx_kernel kShapeKernels[] = {
    kernel("Reshape", copy_create, copy_run, no_destroy),
    kernel("Flatten", copy_create, copy_run, no_destroy),
    kernel("expand_dims", copy_create, copy_run, no_destroy),
    kernel("squeeze", copy_create, copy_run, no_destroy),
    kernel("transpose", transpose_create, transpose_run, transpose_destroy),
    kernel("tile", tile_create, tile_run, no_destroy),
    kernel("repeat", repeat_create, repeat_run, repeat_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kShapeKernels);

}  // namespace
}  // namespace mxcpu
