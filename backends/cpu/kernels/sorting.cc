// The sorting family (core/op/defs/sorting.cc): sort, argsort, topk and _topk_backward. Each (outer, inner) position of the sorted
// axis is one independent row: gathered, ordered by a stable sort (ties keep index order, as
// MXNet's), and written out; rows run in parallel.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "../parallel.h"
#include "../cpu_backend.h"

namespace mxcpu {
namespace {

enum Kind { kSort, kArgsort, kTopk, kTopkBackward };
enum Ret { kValue, kIndices, kMask, kBoth };

struct Plan {
  int axis;  // -1: the flattened array
  int64_t k;
  bool ascend;
  Ret ret;
};

void destroy(void* s) { delete static_cast<Plan*>(s); }

// (outer, len, inner) of t around axis (-1: one row of every element).
void blocks(const DLTensor& t, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = inner = 1;
  if (axis < 0) {
    len = numel(t);
    return;
  }
  for (int d = 0; d < axis; ++d) outer *= t.shape[d];
  len = t.shape[axis];
  for (int d = axis + 1; d < t.ndim; ++d) inner *= t.shape[d];
}

template <int K>
int sort_create(const mx_kernel_args* args, void** out) {
  const DLTensor& data = K == kTopkBackward ? args->inputs[2] : args->inputs[0];
  if (!dispatch_numeric(dtype_flag(data.dtype), [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  auto* p = new Plan{};
  const auto axes = attr_ints(attr(args, "axis"));
  p->axis = axes.empty() ? -1 : int(axes[0] < 0 ? axes[0] + data.ndim : axes[0]);
  p->ascend = K == kTopkBackward || std::strcmp(attr(args, "is_ascend"), "True") == 0;
  p->ret = kValue;
  if (K == kArgsort) p->ret = kIndices;
  if (K == kTopk) {
    const std::string r = attr(args, "ret_typ");
    p->ret = r == "value" ? kValue : r == "indices" ? kIndices : r == "mask" ? kMask : kBoth;
  }
  int64_t outer, len, inner;
  blocks(data, p->axis, outer, len, inner);
  p->k = K == kTopk ? std::strtoll(attr(args, "k"), nullptr, 10) : len;
  if (p->k < 1) p->k = len;
  *out = p;
  return 0;
}

template <typename S, typename I>
void sort_rows(const Plan& p, const DLTensor& x, DLTensor* out) {
  using C = typename Elem<S>::C;
  int64_t outer, len, inner;
  blocks(x, p.axis, outer, len, inner);
  const S* src = reinterpret_cast<const S*>(data_of(x));
  S* values = p.ret == kValue || p.ret == kBoth ? reinterpret_cast<S*>(data_of(out[0])) : nullptr;
  I* indices = p.ret == kIndices ? reinterpret_cast<I*>(data_of(out[0]))
               : p.ret == kBoth  ? reinterpret_cast<I*>(data_of(out[1]))
                                 : nullptr;
  S* mask = p.ret == kMask ? reinterpret_cast<S*>(data_of(out[0])) : nullptr;
  if (mask) std::fill(mask, mask + numel(x), Elem<S>::store(C(0)));
  const int64_t k = p.k;
  parallel_for(outer * inner, 64 * 1024 / std::max<int64_t>(len, 1) + 1, [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> order(static_cast<size_t>(len));
    std::vector<C> row(static_cast<size_t>(len));
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t o = r / inner, i = r % inner;
      for (int64_t j = 0; j < len; ++j) row[size_t(j)] = Elem<S>::load(src[(o * len + j) * inner + i]);
      std::iota(order.begin(), order.end(), int64_t(0));
      auto before = [&](int64_t a, int64_t b) { return p.ascend ? row[size_t(a)] < row[size_t(b)] : row[size_t(b)] < row[size_t(a)]; };
      if (k < len) {
        std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
          return before(a, b) || (!before(b, a) && a < b);  // stable: ties by index
        });
      } else {
        std::stable_sort(order.begin(), order.end(), before);
      }
      for (int64_t j = 0; j < k; ++j) {
        const int64_t at = (o * k + j) * inner + i, from = order[size_t(j)];
        if (values) values[at] = src[(o * len + from) * inner + i];
        if (indices) indices[at] = Elem<I>::store(static_cast<typename Elem<I>::C>(from));
        if (mask) mask[(o * len + from) * inner + i] = Elem<S>::store(C(1));
      }
    }
  });
}

template <int K>
int sort_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  if (K != kTopkBackward) {
    // The index dtype: the indices output, or any for value / mask outputs (unused).
    const DLTensor* idx = p.ret == kIndices ? &out[0] : p.ret == kBoth ? &out[1] : nullptr;
    const int32_t idt = idx ? dtype_flag(idx->dtype) : MX_INT64;
    dispatch_numeric(dtype_flag(in[0].dtype), [&](auto stag) {
      dispatch_numeric(idt, [&](auto itag) { sort_rows<decltype(stag), decltype(itag)>(p, in[0], out); });
    });
    return 0;
  }
  // _topk_backward: out = zeros like data; out[.., idx[.., j, ..], ..] += og[.., j, ..]
  const DLTensor &og = in[0], &idx = in[1];
  int64_t outer, len, inner, o2, k, i2;
  blocks(out[0], p.axis, outer, len, inner);
  blocks(og, p.axis, o2, k, i2);
  int bad = 0;
  dispatch_numeric(dtype_flag(out[0].dtype), [&](auto stag) {
    using S = decltype(stag);
    using C = typename Elem<S>::C;
    std::vector<C> acc(static_cast<size_t>(numel(out[0])), C(0));
    const S* g = reinterpret_cast<const S*>(data_of(og));
    dispatch_numeric(dtype_flag(idx.dtype), [&](auto itag) {
      using I = decltype(itag);
      const I* ip = reinterpret_cast<const I*>(data_of(idx));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < k; ++j)
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t t = (o * k + j) * inner + i, at = int64_t(Elem<I>::load(ip[t]));
            if (at < 0 || at >= len) {
              bad = 1;
              continue;
            }
            acc[size_t((o * len + at) * inner + i)] += Elem<S>::load(g[t]);
          }
    });
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    for (size_t t = 0; t < acc.size(); ++t) y[t] = Elem<S>::store(acc[t]);
  });
  if (bad) return error(MX_ERR_INVALID_ARGUMENT, "_topk_backward: an index is outside the axis of length " + std::to_string(len));
  return 0;
}

const mx_kernel kSortingKernels[] = {
    kernel("sort", sort_create<kSort>, sort_run<kSort>, destroy),
    kernel("argsort", sort_create<kArgsort>, sort_run<kArgsort>, destroy),
    kernel("topk", sort_create<kTopk>, sort_run<kTopk>, destroy),
    kernel("_topk_backward", sort_create<kTopkBackward>, sort_run<kTopkBackward>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kSortingKernels);

}  // namespace
}  // namespace mxcpu
