// The slicing family (core/op/defs/slicing.cc): slice (and its gradient _slice_backward),
// slice_like, split, slice_axis (and _slice_axis_grad), Concat, stack. A slice is a strided view
// of the full array: copy it out (slice) or write it back into zeros (gradient).
// The range rules repeat the core's (numpy's None / negative / clamping rules) because a
// backend sees attributes, not the core's parsed schema.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "layout.h"

namespace mxcpu {
namespace {

constexpr int kMaxDims = 16;

struct SlicePlan {
  int nd = 0;
  int64_t begin[kMaxDims], step[kMaxDims], len[kMaxDims];
};

void destroy(void* s) { delete static_cast<SlicePlan*>(s); }

// "(1,None,-2)" -> entries, None as `has` = false.
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

// The slice of `full` that attrs begin / end / step select.
bool plan_from_attrs(const mx_kernel_args* args, const DLTensor& full, SlicePlan& p) {
  if (full.ndim > kMaxDims) return false;
  const auto b = parse_opt(attr(args, "begin")), e = parse_opt(attr(args, "end")), s = parse_opt(attr(args, "step"));
  p.nd = full.ndim;
  for (int d = 0; d < full.ndim; ++d) {
    const int64_t n = full.shape[d];
    const size_t i = size_t(d);
    if (i >= b.size()) {
      p.begin[d] = 0, p.step[d] = 1, p.len[d] = n;
      continue;
    }
    // A step of -2^63 acts as -(2^63 - 1) (as in CPython), and counts are (distance - 1) / |step|
    // + 1: no step or bound near +-2^63 overflows.
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
  return true;
}

template <int KIND>  // 0 slice, 1 _slice_backward, 2 slice_like
int slice_create(const mx_kernel_args* args, void** out) {
  auto* p = new SlicePlan{};
  const DLTensor& full = KIND == 1 ? args->inputs[1] : args->inputs[0];
  bool ok = full.ndim <= kMaxDims;
  if (ok && KIND == 2) {  // crop from the start to the output's shape
    p->nd = full.ndim;
    for (int d = 0; d < full.ndim; ++d) p->begin[d] = 0, p->step[d] = 1, p->len[d] = args->outputs[0].shape[d];
  } else if (ok) {
    ok = plan_from_attrs(args, full, *p);
  }
  if (!ok) {
    delete p;
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": more than 16 dims");
  }
  *out = p;
  return 0;
}

// Copies between the strided slice of `full` and the contiguous `part`.
void strided_copy(const SlicePlan& p, char* full, const int64_t* full_shape, char* part, int64_t eb, bool to_full) {
  if (p.nd == 0) {
    if (to_full) std::memcpy(full, part, size_t(eb));
    else std::memcpy(part, full, size_t(eb));
    return;
  }
  int64_t stride[kMaxDims];
  int64_t s = 1;
  for (int d = p.nd - 1; d >= 0; --d) stride[d] = s, s *= full_shape[d];
  for (int d = 0; d < p.nd; ++d)
    if (p.len[d] == 0) return;
  const int last = p.nd - 1;
  const int64_t run = p.len[last], step = p.step[last] * stride[last];
  int64_t idx[kMaxDims] = {0};
  int64_t off = 0;
  for (int d = 0; d < p.nd; ++d) off += p.begin[d] * stride[d];
  for (;;) {
    char* f = full + off * eb;
    if (step == 1) {
      if (to_full) std::memcpy(f, part, size_t(run * eb));
      else std::memcpy(part, f, size_t(run * eb));
    } else {
      for (int64_t j = 0; j < run; ++j) {
        if (to_full) std::memcpy(f + j * step * eb, part + j * eb, size_t(eb));
        else std::memcpy(part + j * eb, f + j * step * eb, size_t(eb));
      }
    }
    part += run * eb;
    // Step only to elements that exist: past the last one, `off + step` could overflow (a huge
    // step with a length of 1). step * (len - 1) stays within the axis.
    int d = last - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < p.len[d]) {
        off += p.step[d] * stride[d];
        break;
      }
      off -= p.step[d] * (p.len[d] - 1) * stride[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

template <int KIND>
int slice_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const SlicePlan& p = *static_cast<const SlicePlan*>(state);
  const int64_t eb = (out[0].dtype.bits + 7) / 8;
  if (KIND == 1) {
    std::memset(data_of(out[0]), 0, size_t(numel(out[0]) * eb));
    strided_copy(p, data_of(out[0]), out[0].shape, data_of(in[0]), eb, true);
  } else {
    strided_copy(p, data_of(in[0]), in[0].shape, data_of(out[0]), eb, false);
  }
  return 0;
}

// ---- split: output k takes [k * len / n, (k + 1) * len / n) along the axis
struct SplitPlan {
  int axis;
};
int split_create(const mx_kernel_args* args, void** out) {
  const int nd = args->inputs[0].ndim;
  const int64_t a = std::strtoll(attr(args, "axis"), nullptr, 10);
  *out = new SplitPlan{int(a < 0 ? a + nd : a)};
  return 0;
}
int split_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t n_out) {
  const int axis = static_cast<const SplitPlan*>(state)->axis;
  const DLTensor& x = in[0];
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= x.shape[d];
  for (int d = axis + 1; d < x.ndim; ++d) inner *= x.shape[d];
  const int64_t len = x.shape[axis], part = len / n_out, eb = (x.dtype.bits + 7) / 8;
  const char* src = data_of(x);
  for (int32_t k = 0; k < n_out; ++k) {
    char* dst = data_of(out[k]);
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + o * part * inner * eb, src + (o * len + k * part) * inner * eb, size_t(part * inner * eb));
  }
  return 0;
}
void split_destroy(void* s) { delete static_cast<SplitPlan*>(s); }

// Concat, stack and slice_axis see the arrays as (outer, axis, inner) blocks of raw bytes.
struct AxisPlan {
  int axis = 0;
  int64_t a = 0, b = 0;  // slice_axis's range
};

void axis_destroy(void* s) { delete static_cast<AxisPlan*>(s); }

// ---------------------------------------------------------------- Concat and stack: each input is a (outer, len, inner) block placed at an offset.
template <bool STACK>
int join_create(const mx_kernel_args* args, void** out) {
  auto* p = new AxisPlan{};
  const char* key = STACK ? "axis" : "dim";
  p->axis = norm_axis(std::strtoll(attr(args, key), nullptr, 10), args->outputs[0].ndim);
  *out = p;
  return 0;
}
int join_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t) {
  const AxisPlan& p = *static_cast<const AxisPlan*>(state);
  int64_t outer, total, inner;
  blocks(out[0], p.axis, outer, total, inner);
  const int64_t eb = elem_bytes(out[0]);
  char* y = data_of(out[0]);
  int64_t off = 0;
  for (int32_t k = 0; k < n_in; ++k) {
    // stack: every input contributes one slot of the new axis
    const int64_t len = in[k].ndim == out[0].ndim ? in[k].shape[p.axis] : 1;
    const char* x = data_of(in[k]);
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(y + ((o * total + off) * inner) * eb, x + (o * len * inner) * eb, size_t(len * inner * eb));
    off += len;
  }
  return 0;
}

// ---------------------------------------------------------------- slice_axis and its gradient
int64_t parse_end(const char* s, int64_t len) {
  const auto v = attr_ints(s);
  return v.empty() ? len : v[0];  // "None": to the end
}
template <bool GRAD>
int slice_axis_create(const mx_kernel_args* args, void** out) {
  const DLTensor& data = GRAD ? args->inputs[1] : args->inputs[0];
  auto* p = new AxisPlan{};
  p->axis = norm_axis(std::strtoll(attr(args, "axis"), nullptr, 10), data.ndim);
  const int64_t len = data.shape[p->axis];
  p->a = std::strtoll(attr(args, "begin"), nullptr, 10);
  p->b = parse_end(attr(args, "end"), len);
  if (p->a < 0) p->a += len;
  if (p->b < 0) p->b += len;
  *out = p;
  return 0;
}
template <bool GRAD>
int slice_axis_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const AxisPlan& p = *static_cast<const AxisPlan*>(state);
  const DLTensor& full = GRAD ? out[0] : in[0];
  int64_t outer, len, inner;
  blocks(full, p.axis, outer, len, inner);
  const int64_t eb = elem_bytes(full), take = p.b - p.a;
  char* f = GRAD ? data_of(out[0]) : data_of(in[0]);
  char* part = GRAD ? data_of(in[0]) : data_of(out[0]);
  if (GRAD) std::memset(f, 0, size_t(numel(full) * eb));
  for (int64_t o = 0; o < outer; ++o) {
    char* fp = f + ((o * len + p.a) * inner) * eb;
    char* pp = part + (o * take * inner) * eb;
    if (GRAD) std::memcpy(fp, pp, size_t(take * inner * eb));
    else std::memcpy(pp, fp, size_t(take * inner * eb));
  }
  return 0;
}

const mx_kernel kSlicingKernels[] = {
    kernel("slice", slice_create<0>, slice_run<0>, destroy),
    kernel("_slice_backward", slice_create<1>, slice_run<1>, destroy),
    kernel("slice_like", slice_create<2>, slice_run<2>, destroy),
    kernel("split", split_create, split_run, split_destroy),
    kernel("slice_axis", slice_axis_create<false>, slice_axis_run<false>, axis_destroy),
    kernel("_slice_axis_grad", slice_axis_create<true>, slice_axis_run<true>, axis_destroy),
    kernel("Concat", join_create<false>, join_run, axis_destroy),
    kernel("stack", join_create<true>, join_run, axis_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kSlicingKernels);

}  // namespace
}  // namespace mxcpu
