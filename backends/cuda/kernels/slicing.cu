// Slicing and joining on the GPU: slice, _slice_backward, slice_like, split (backends/cpu/kernels/
// slicing.cc) and slice_axis, _slice_axis_grad, Concat, stack (their CPU kernels live in
// indexing.cc). Data moves as raw elements of the dtype's width, so every dtype works, as on the CPU.
// Two kernels cover everything: a strided copy between a slice of a full array and a compact part
// (slice and its gradients), and a block copy of (outer, width) rows at a pitch (the axis ops).
// Gradients zero the full output with cudaMemsetAsync first, then write the part back.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "launch.cuh"

namespace mxcuda {
namespace {

// Calls f(U{}) with an unsigned type of the element width (1, 2, 4 or 8 bytes).
template <typename F>
void by_width(int64_t eb, F&& f) {
  switch (eb) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    default: f(uint64_t{}); break;
  }
}

int64_t width_of(const DLTensor& t) { return (t.dtype.bits + 7) / 8; }

// ---------------------------------------------------------------- slice, _slice_backward, slice_like

// The slice of the full array: per dim, `len` elements from `begin` by `step` (numpy's rules).
struct SlicePlan {
  int nd = 0;
  int64_t begin[kMaxDims], step[kMaxDims], len[kMaxDims];
};

// What the kernel needs, by value: the part's dims and, per dim, the full array's element stride
// times the step; `base` is the full array's offset of the slice's first element.
struct StridedMap {
  int nd;
  int64_t base;
  int64_t len[kMaxDims];
  int64_t stride[kMaxDims];
};

// "(1,None,-2)" -> entries, None as has = false (as the CPU parses them).
struct Opt {
  bool has;
  int64_t v;
};
std::vector<Opt> parse_opt(const char* s) {
  std::vector<Opt> out;
  for (const char* p = s; *p;) {
    if (std::strncmp(p, "None", 4) == 0) {
      out.push_back({false, 0});
      p += 4;
    } else if ((*p >= '0' && *p <= '9') || *p == '-') {
      char* end;
      out.push_back({true, std::strtoll(p, &end, 10)});
      p = end;
    } else {
      ++p;
    }
  }
  return out;
}

// The CPU's plan_from_attrs, line for line.
void plan_from_attrs(const mx_kernel_args* args, const DLTensor& full, SlicePlan& p) {
  const auto b = parse_opt(attr(args, "begin")), e = parse_opt(attr(args, "end")), s = parse_opt(attr(args, "step"));
  p.nd = full.ndim;
  for (int d = 0; d < full.ndim; ++d) {
    const int64_t n = full.shape[d];
    const size_t i = size_t(d);
    if (i >= b.size()) {
      p.begin[d] = 0, p.step[d] = 1, p.len[d] = n;
      continue;
    }
    const int64_t st = std::max<int64_t>(i < s.size() && s[i].has ? s[i].v : 1, -INT64_MAX);
    int64_t lo, hi;
    if (st > 0) {
      lo = std::clamp<int64_t>(b[i].has ? (b[i].v < 0 ? b[i].v + n : b[i].v) : 0, 0, n);
      hi = std::clamp<int64_t>(i < e.size() && e[i].has ? (e[i].v < 0 ? e[i].v + n : e[i].v) : n, 0, n);
      p.len[d] = hi > lo ? (hi - lo - 1) / st + 1 : 0;
    } else {
      lo = std::clamp<int64_t>(b[i].has ? (b[i].v < 0 ? b[i].v + n : b[i].v) : n - 1, -1, n - 1);
      hi = std::clamp<int64_t>(i < e.size() && e[i].has ? (e[i].v < 0 ? e[i].v + n : e[i].v) : -1, -1, n - 1);
      p.len[d] = lo > hi ? (lo - hi - 1) / -st + 1 : 0;
    }
    p.begin[d] = lo, p.step[d] = st;
  }
}

template <int KIND>  // 0 slice, 1 _slice_backward, 2 slice_like
int slice_create(const mx_kernel_args* args, void** out) {
  const DLTensor& full = KIND == 1 ? args->inputs[1] : args->inputs[0];
  if (full.ndim > kMaxDims)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": more than " + std::to_string(kMaxDims) + " dims on cuda");
  auto* p = new SlicePlan{};
  if (KIND == 2) {  // crop from the start to the output's shape (the core resolved `axes`)
    p->nd = full.ndim;
    for (int d = 0; d < full.ndim; ++d) p->begin[d] = 0, p->step[d] = 1, p->len[d] = args->outputs[0].shape[d];
  } else {
    plan_from_attrs(args, full, *p);
  }
  *out = p;
  return 0;
}
void slice_destroy(void* s) { delete static_cast<SlicePlan*>(s); }

// part[i] <-> full[base + sum_d idx_d * stride_d], idx the coordinates of i in the part's dims.
template <typename U, bool TO_FULL>
int strided_copy(const StridedMap& m, U* full, U* part, int64_t n, cudaStream_t s, const char* op) {
  return for_each(n, s, op, [=] __device__(int64_t i) {
    int64_t off = m.base, r = i;
    for (int d = m.nd - 1; d >= 0; --d) {
      const int64_t k = r % m.len[d];
      r /= m.len[d];
      off += k * m.stride[d];
    }
    if (TO_FULL) full[off] = part[i];
    else part[i] = full[off];
  });
}

template <int KIND>
int slice_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const SlicePlan& p = *static_cast<const SlicePlan*>(state);
  const char* op = KIND == 0 ? "slice" : KIND == 1 ? "_slice_backward" : "slice_like";
  const DLTensor& full = KIND == 1 ? out[0] : in[0];
  const DLTensor& part = KIND == 1 ? in[0] : out[0];
  const int64_t eb = width_of(full);
  cudaStream_t s = cuda_stream(ctx);
  if (KIND == 1 && numel(full) > 0 &&
      check(cudaMemsetAsync(data_of(full), 0, size_t(numel(full) * eb), s), "cudaMemsetAsync", op))
    return -1;
  const int64_t n = numel(part);
  StridedMap m{};
  m.nd = p.nd;
  m.base = 0;
  int64_t stride = 1;
  // Strides are only multiplied by coordinates that exist (k < len), so no huge step overflows.
  for (int d = p.nd - 1; d >= 0; --d) {
    m.len[d] = p.len[d];
    m.stride[d] = p.len[d] > 1 ? p.step[d] * stride : 0;
    m.base += (n > 0 ? p.begin[d] : 0) * stride;
    stride *= full.shape[d];
  }
  int rc = 0;
  by_width(eb, [&](auto u) {
    using U = decltype(u);
    U* f = reinterpret_cast<U*>(data_of(full));
    U* pp = reinterpret_cast<U*>(data_of(part));
    rc = KIND == 1 ? strided_copy<U, true>(m, f, pp, n, s, op) : strided_copy<U, false>(m, f, pp, n, s, op);
  });
  return rc ? rc : finish(ctx, op);
}

// ---------------------------------------------------------------- block copies along an axis

// dst[o * dpitch + doff + j] = src[o * spitch + soff + j] for o < outer, j < width (elements).
struct Rows {
  int64_t outer, width, dpitch, doff, spitch, soff;
};

template <typename U>
int copy_rows_t(const Rows& r, U* dst, const U* src, cudaStream_t s, const char* op) {
  return for_each(r.outer * r.width, s, op, [=] __device__(int64_t i) {
    const int64_t o = i / r.width, j = i % r.width;
    dst[o * r.dpitch + r.doff + j] = src[o * r.spitch + r.soff + j];
  });
}
int copy_rows(const Rows& r, int64_t eb, char* dst, const char* src, cudaStream_t s, const char* op) {
  int rc = 0;
  by_width(eb, [&](auto u) {
    using U = decltype(u);
    rc = copy_rows_t<U>(r, reinterpret_cast<U*>(dst), reinterpret_cast<const U*>(src), s, op);
  });
  return rc;
}

// Block view of t around `axis`: outer = prod(shape[:axis]), inner = prod(shape[axis+1:]).
void blocks(const DLTensor& t, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = inner = 1;
  for (int d = 0; d < axis; ++d) outer *= t.shape[d];
  len = axis < t.ndim ? t.shape[axis] : 1;
  for (int d = axis + 1; d < t.ndim; ++d) inner *= t.shape[d];
}
int norm_axis(int64_t axis, int ndim) { return int(axis < 0 ? axis + ndim : axis); }

struct AxisPlan {
  int axis = 0;
  int64_t a = 0, b = 0;  // slice_axis range
};
void axis_destroy(void* s) { delete static_cast<AxisPlan*>(s); }

// ---- split: output k takes [k * len / n, (k + 1) * len / n) along the axis (squeezed or not:
// the same bytes).
int split_create(const mx_kernel_args* args, void** out) {
  *out = new AxisPlan{norm_axis(attr_int(args, "axis"), args->inputs[0].ndim)};
  return 0;
}
int split_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t n_out) {
  const int axis = static_cast<const AxisPlan*>(state)->axis;
  int64_t outer, len, inner;
  blocks(in[0], axis, outer, len, inner);
  const int64_t part = len / n_out;
  cudaStream_t s = cuda_stream(ctx);
  for (int32_t k = 0; k < n_out; ++k) {
    const Rows r{outer, part * inner, part * inner, 0, len * inner, k * part * inner};
    if (copy_rows(r, width_of(in[0]), data_of(out[k]), data_of(in[0]), s, "split")) return -1;
  }
  return finish(ctx, "split");
}

// ---- Concat and stack: each input is an (outer, len, inner) block placed at an offset.
template <bool STACK>
int join_create(const mx_kernel_args* args, void** out) {
  *out = new AxisPlan{norm_axis(attr_int(args, STACK ? "axis" : "dim"), args->outputs[0].ndim)};
  return 0;
}
template <bool STACK>
int join_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t) {
  const char* op = STACK ? "stack" : "Concat";
  const int axis = static_cast<const AxisPlan*>(state)->axis;
  int64_t outer, total, inner;
  blocks(out[0], axis, outer, total, inner);
  cudaStream_t s = cuda_stream(ctx);
  int64_t off = 0;
  for (int32_t k = 0; k < n_in; ++k) {
    const int64_t len = in[k].ndim == out[0].ndim ? in[k].shape[axis] : 1;  // stack: one slot each
    const Rows r{outer, len * inner, total * inner, off * inner, len * inner, 0};
    if (copy_rows(r, width_of(out[0]), data_of(out[0]), data_of(in[k]), s, op)) return -1;
    off += len;
  }
  return finish(ctx, op);
}

// ---- slice_axis and its gradient: [begin, end) along the axis (the core checked the range).
template <bool GRAD>
int slice_axis_create(const mx_kernel_args* args, void** out) {
  const DLTensor& data = GRAD ? args->inputs[1] : args->inputs[0];
  auto* p = new AxisPlan{};
  p->axis = norm_axis(attr_int(args, "axis"), data.ndim);
  const int64_t len = data.shape[p->axis];
  const auto end = attr_ints(attr(args, "end"));
  p->a = attr_int(args, "begin");
  p->b = end.empty() ? len : end[0];  // "None": to the end
  if (p->a < 0) p->a += len;
  if (p->b < 0) p->b += len;
  *out = p;
  return 0;
}
template <bool GRAD>
int slice_axis_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const char* op = GRAD ? "_slice_axis_grad" : "slice_axis";
  const AxisPlan& p = *static_cast<const AxisPlan*>(state);
  const DLTensor& full = GRAD ? out[0] : in[0];
  int64_t outer, len, inner;
  blocks(full, p.axis, outer, len, inner);
  const int64_t eb = width_of(full), take = p.b - p.a;
  cudaStream_t s = cuda_stream(ctx);
  if (GRAD) {
    if (numel(full) > 0 && check(cudaMemsetAsync(data_of(full), 0, size_t(numel(full) * eb), s), "cudaMemsetAsync", op))
      return -1;
    const Rows r{outer, take * inner, len * inner, p.a * inner, take * inner, 0};
    if (copy_rows(r, eb, data_of(out[0]), data_of(in[0]), s, op)) return -1;
  } else {
    const Rows r{outer, take * inner, take * inner, 0, len * inner, p.a * inner};
    if (copy_rows(r, eb, data_of(out[0]), data_of(in[0]), s, op)) return -1;
  }
  return finish(ctx, op);
}

const mx_kernel kSlicingKernels[] = {
    kernel("slice", slice_create<0>, slice_run<0>, slice_destroy),
    kernel("_slice_backward", slice_create<1>, slice_run<1>, slice_destroy),
    kernel("slice_like", slice_create<2>, slice_run<2>, slice_destroy),
    kernel("split", split_create, split_run, axis_destroy),
    kernel("Concat", join_create<false>, join_run<false>, axis_destroy),
    kernel("stack", join_create<true>, join_run<true>, axis_destroy),
    kernel("slice_axis", slice_axis_create<false>, slice_axis_run<false>, axis_destroy),
    kernel("_slice_axis_grad", slice_axis_create<true>, slice_axis_run<true>, axis_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kSlicingKernels);

}  // namespace
}  // namespace mxcuda
