// The indexing family (core/op/defs/indexing.cc): one_hot, take / Embedding (and their
// scatter-add gradient _take_grad), pick (and _pick_grad). Data moves as (outer, axis, inner)
// blocks of raw bytes wherever the dtype does not matter.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "layout.h"

namespace mxcpu {
namespace {

struct Plan {
  int axis = 0;
  int64_t b = 0;  // one_hot's depth
  double on = 1, off = 0;
  bool wrap = false;
};

void plan_destroy(void* s) { delete static_cast<Plan*>(s); }

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

const mx_kernel kIndexingKernels[] = {
    kernel("one_hot", one_hot_create, one_hot_run, plan_destroy),
    kernel("take", take_create<0>, take_run<0>, plan_destroy),
    kernel("Embedding", take_create<1>, take_run<1>, plan_destroy),
    kernel("_take_grad", take_create<2>, take_run<2>, plan_destroy),
    kernel("pick", pick_create<false>, pick_run<false>, plan_destroy),
    kernel("_pick_grad", pick_create<true>, pick_run<true>, plan_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kIndexingKernels);

}  // namespace
}  // namespace mxcpu
