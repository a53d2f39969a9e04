// Kernels for shape and indexing ops: Cast, add_n, Concat, stack, slice_axis (and its
// gradient), one_hot, take / Embedding (and their scatter-add gradient), batch_dot. Data moves
// as (outer, axis, inner) blocks of raw bytes wherever the dtype does not matter.

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../gemm.h"
#include "../parallel.h"
#include "dispatch.h"

namespace mxcpu {
namespace {

int64_t elem_bytes(const DLTensor& t) { return (t.dtype.bits + 7) / 8; }

int norm_axis(int64_t axis, int ndim) { return int(axis < 0 ? axis + ndim : axis); }

// Block view of t around `axis`: outer = prod(shape[:axis]), inner = prod(shape[axis+1:]).
void blocks(const DLTensor& t, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = inner = 1;
  for (int d = 0; d < axis; ++d) outer *= t.shape[d];
  len = axis < t.ndim ? t.shape[axis] : 1;
  for (int d = axis + 1; d < t.ndim; ++d) inner *= t.shape[d];
}

struct Plan {
  int axis = 0;
  int64_t a = 0, b = 0;  // slice range / depth
  double on = 1, off = 0;
  bool wrap = false;
  bool ta = false, tb = false;
};

void plan_destroy(void* s) { delete static_cast<Plan*>(s); }

// ---- Cast / _cast_like
int cast_create(const mx_kernel_args* args, void** out) {
  if (dtype_flag(args->inputs[0].dtype) < 0 || dtype_flag(args->outputs[0].dtype) < 0)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  *out = new Plan{};
  return 0;
}
int cast_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const int64_t n = numel(out[0]);
  dispatch_all(dtype_flag(in[0].dtype), [&](auto itag) {
    using I = decltype(itag);
    dispatch_all(dtype_flag(out[0].dtype), [&](auto otag) {
      using O = decltype(otag);
      const I* x = reinterpret_cast<const I*>(data_of(in[0]));
      O* y = reinterpret_cast<O*>(data_of(out[0]));
      for (int64_t i = 0; i < n; ++i)
        y[i] = Elem<O>::store(static_cast<typename Elem<O>::C>(double(Elem<I>::load(x[i]))));
    });
  });
  return 0;
}

// ---- add_n
int add_n_create(const mx_kernel_args* args, void** out) {
  if (!dispatch_numeric(dtype_flag(args->outputs[0].dtype), [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, "add_n: unsupported dtype on cpu");
  *out = new Plan{};
  return 0;
}
int add_n_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t) {
  const int64_t n = numel(out[0]);
  dispatch_numeric(dtype_flag(out[0].dtype), [&](auto tag) {
    using S = decltype(tag);
    using E = Elem<S>;
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    std::vector<typename E::C> acc(static_cast<size_t>(n), typename E::C(0));
    for (int32_t k = 0; k < n_in; ++k) {
      const S* x = reinterpret_cast<const S*>(data_of(in[k]));
      for (int64_t i = 0; i < n; ++i) acc[size_t(i)] += E::load(x[i]);
    }
    for (int64_t i = 0; i < n; ++i) y[i] = E::store(acc[size_t(i)]);
  });
  return 0;
}

// ---- Concat and stack: each input is a (outer, len, inner) block placed at an offset.
template <bool STACK>
int join_create(const mx_kernel_args* args, void** out) {
  auto* p = new Plan{};
  const char* key = STACK ? "axis" : "dim";
  p->axis = norm_axis(std::strtoll(attr(args, key), nullptr, 10), args->outputs[0].ndim);
  *out = p;
  return 0;
}
int join_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
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

// ---- slice_axis and its gradient
int64_t parse_end(const char* s, int64_t len) {
  const auto v = attr_ints(s);
  return v.empty() ? len : v[0];  // "None": to the end
}
template <bool GRAD>
int slice_create(const mx_kernel_args* args, void** out) {
  const DLTensor& data = GRAD ? args->inputs[1] : args->inputs[0];
  auto* p = new Plan{};
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
int slice_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
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

// ---- one_hot
int one_hot_create(const mx_kernel_args* args, void** out) {
  auto* p = new Plan{};
  p->b = std::strtoll(attr(args, "depth"), nullptr, 10);
  p->on = attr_float(args, "on_value");
  p->off = attr_float(args, "off_value");
  *out = p;
  return 0;
}
int one_hot_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  const int64_t n = numel(in[0]);
  dispatch_numeric(dtype_flag(in[0].dtype), [&](auto itag) {
    using I = decltype(itag);
    dispatch_all(dtype_flag(out[0].dtype), [&](auto otag) {
      using O = decltype(otag);
      using C = typename Elem<O>::C;
      const I* idx = reinterpret_cast<const I*>(data_of(in[0]));
      O* y = reinterpret_cast<O*>(data_of(out[0]));
      const O on = Elem<O>::store(static_cast<C>(p.on)), off = Elem<O>::store(static_cast<C>(p.off));
      for (int64_t i = 0; i < n; ++i) {
        const int64_t k = int64_t(Elem<I>::load(idx[i]));
        for (int64_t j = 0; j < p.b; ++j) y[i * p.b + j] = j == k ? on : off;
      }
    });
  });
  return 0;
}

// ---- take / Embedding / _take_grad
int64_t fix_index(double v, int64_t len, bool wrap) {
  int64_t k = int64_t(v);
  if (wrap) return ((k % len) + len) % len;
  return std::min<int64_t>(std::max<int64_t>(k, 0), len - 1);
}
template <int KIND>  // 0 take, 1 Embedding, 2 _take_grad
int take_create(const mx_kernel_args* args, void** out) {
  auto* p = new Plan{};
  p->axis = KIND == 1 ? 0 : int(std::strtoll(attr(args, "axis"), nullptr, 10));
  const DLTensor& src = KIND == 0 ? args->inputs[0] : args->inputs[KIND == 1 ? 1 : 2];
  p->axis = norm_axis(p->axis, src.ndim);
  p->wrap = KIND != 1 && std::strcmp(attr(args, "mode"), "wrap") == 0;
  *out = p;
  return 0;
}
template <int KIND>
int take_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  const DLTensor& src = KIND == 0 ? in[0] : KIND == 1 ? in[1] : out[0];
  const DLTensor& idx = KIND == 0 ? in[1] : in[KIND == 1 ? 0 : 1];
  int64_t outer, len, inner;
  blocks(src, p.axis, outer, len, inner);
  const int64_t ni = numel(idx);
  std::vector<int64_t> ks(static_cast<size_t>(ni));
  const bool ok = dispatch_numeric(dtype_flag(idx.dtype), [&](auto tag) {
    using I = decltype(tag);
    const I* ip = reinterpret_cast<const I*>(data_of(idx));
    for (int64_t i = 0; i < ni; ++i) ks[size_t(i)] = fix_index(double(Elem<I>::load(ip[i])), len, p.wrap);
  });
  if (!ok) return error(MX_ERR_UNSUPPORTED, "take: unsupported index dtype");
  if (KIND != 2) {
    const int64_t eb = elem_bytes(src);
    const char* s = data_of(src);
    char* y = data_of(out[0]);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < ni; ++i)
        std::memcpy(y + ((o * ni + i) * inner) * eb, s + ((o * len + ks[size_t(i)]) * inner) * eb, size_t(inner * eb));
    return 0;
  }
  dispatch_numeric(dtype_flag(src.dtype), [&](auto tag) {  // scatter-add the gradient
    using S = decltype(tag);
    using E = Elem<S>;
    S* g = reinterpret_cast<S*>(data_of(out[0]));
    const S* og = reinterpret_cast<const S*>(data_of(in[0]));
    std::vector<typename E::C> acc(static_cast<size_t>(numel(src)), typename E::C(0));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < ni; ++i)
        for (int64_t j = 0; j < inner; ++j)
          acc[size_t((o * len + ks[size_t(i)]) * inner + j)] += E::load(og[(o * ni + i) * inner + j]);
    for (size_t t = 0; t < acc.size(); ++t) g[t] = E::store(acc[t]);
  });
  return 0;
}

// ---- batch_dot
int batch_dot_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64) return error(MX_ERR_UNSUPPORTED, "batch_dot: cpu supports float32/float64");
  auto* p = new Plan{};
  p->ta = std::strcmp(attr(args, "transpose_a"), "True") == 0;
  p->tb = std::strcmp(attr(args, "transpose_b"), "True") == 0;
  *out = p;
  return 0;
}
template <typename T>
void batch_dot_t(const Plan& p, const DLTensor& l, const DLTensor& r, DLTensor& o) {
  const int64_t B = l.shape[0], lr = l.shape[1], lc = l.shape[2], rr = r.shape[1], rc = r.shape[2];
  const int64_t m = o.shape[1], n = o.shape[2], k = p.ta ? lr : lc;
  const T* a = reinterpret_cast<const T*>(data_of(l));
  const T* b = reinterpret_cast<const T*>(data_of(r));
  T* c = reinterpret_cast<T*>(data_of(o));
  // One product per batch element, in parallel over the batch (each GEMM then runs serially).
  parallel_for(B, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      gemm<T>(p.ta, p.tb, m, n, k, T(1), a + i * lr * lc, lc, b + i * rr * rc, rc, T(0), c + i * m * n, n);
  });
}
int batch_dot_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  if (in[0].dtype.bits == 64) batch_dot_t<double>(p, in[0], in[1], out[0]);
  else batch_dot_t<float>(p, in[0], in[1], out[0]);
  return 0;
}

// ---- tile: out[i...] = in[i % d ...] (rank-aligned on the right)
int tile_create(const mx_kernel_args*, void** out) {
  *out = new Plan{};
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

// ---- repeat: along an axis (or the flattened array), each element k times
int repeat_create(const mx_kernel_args* args, void** out) {
  auto* p = new Plan{};
  const auto axes = attr_ints(attr(args, "axis"));
  p->axis = axes.empty() ? -1 : norm_axis(axes[0], args->inputs[0].ndim);
  p->b = std::strtoll(attr(args, "repeats"), nullptr, 10);
  *out = p;
  return 0;
}
int repeat_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
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

// ---- pick and its gradient
template <bool GRAD>
int pick_create(const mx_kernel_args* args, void** out) {
  const DLTensor& data = GRAD ? args->inputs[2] : args->inputs[0];
  auto* p = new Plan{};
  p->axis = norm_axis(std::strtoll(attr(args, "axis"), nullptr, 10), data.ndim);
  p->wrap = std::strcmp(attr(args, "mode"), "wrap") == 0;
  if (!dispatch_numeric(dtype_flag(data.dtype), [](auto) {})) {
    delete p;
    return error(MX_ERR_UNSUPPORTED, "pick: unsupported dtype on cpu");
  }
  *out = p;
  return 0;
}
template <bool GRAD>
int pick_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  const DLTensor& data = GRAD ? out[0] : in[0];
  const DLTensor& index = in[1];
  int64_t outer, len, inner;
  blocks(data, p.axis, outer, len, inner);
  std::vector<int64_t> ks(static_cast<size_t>(outer * inner));
  const bool ok = dispatch_numeric(dtype_flag(index.dtype), [&](auto tag) {
    using I = decltype(tag);
    const I* ip = reinterpret_cast<const I*>(data_of(index));
    for (size_t i = 0; i < ks.size(); ++i) ks[i] = fix_index(double(Elem<I>::load(ip[i])), len, p.wrap);
  });
  if (!ok) return error(MX_ERR_UNSUPPORTED, "pick: unsupported index dtype");
  dispatch_numeric(dtype_flag(data.dtype), [&](auto tag) {
    using S = decltype(tag);
    if (GRAD) {
      S* g = reinterpret_cast<S*>(data_of(out[0]));
      const S* og = reinterpret_cast<const S*>(data_of(in[0]));
      const S zero = Elem<S>::store(typename Elem<S>::C(0));
      std::fill(g, g + numel(data), zero);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) g[(o * len + ks[size_t(o * inner + i)]) * inner + i] = og[o * inner + i];
    } else {
      const S* x = reinterpret_cast<const S*>(data_of(in[0]));
      S* y = reinterpret_cast<S*>(data_of(out[0]));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = x[(o * len + ks[size_t(o * inner + i)]) * inner + i];
    }
  });
  return 0;
}

}  // namespace

const mx_kernel kIndexingKernels[] = {
    {sizeof(mx_kernel), "tile", tile_create, tile_run, plan_destroy},
    {sizeof(mx_kernel), "repeat", repeat_create, repeat_run, plan_destroy},
    {sizeof(mx_kernel), "pick", pick_create<false>, pick_run<false>, plan_destroy},
    {sizeof(mx_kernel), "_pick_grad", pick_create<true>, pick_run<true>, plan_destroy},
    {sizeof(mx_kernel), "Cast", cast_create, cast_run, plan_destroy},
    {sizeof(mx_kernel), "_cast_like", cast_create, cast_run, plan_destroy},
    {sizeof(mx_kernel), "add_n", add_n_create, add_n_run, plan_destroy},
    {sizeof(mx_kernel), "Concat", join_create<false>, join_run, plan_destroy},
    {sizeof(mx_kernel), "stack", join_create<true>, join_run, plan_destroy},
    {sizeof(mx_kernel), "slice_axis", slice_create<false>, slice_run<false>, plan_destroy},
    {sizeof(mx_kernel), "_slice_axis_grad", slice_create<true>, slice_run<true>, plan_destroy},
    {sizeof(mx_kernel), "one_hot", one_hot_create, one_hot_run, plan_destroy},
    {sizeof(mx_kernel), "take", take_create<0>, take_run<0>, plan_destroy},
    {sizeof(mx_kernel), "Embedding", take_create<1>, take_run<1>, plan_destroy},
    {sizeof(mx_kernel), "_take_grad", take_create<2>, take_run<2>, plan_destroy},
    {sizeof(mx_kernel), "batch_dot", batch_dot_create, batch_dot_run, plan_destroy},
    {0, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace mxcpu
