// SGD in one kernel for one weight or many (core/op/defs/optimizer.cc): sgd_update,
// sgd_mom_update, mp_sgd_update, mp_sgd_mom_update and MXNet's multi-tensor forms
// multi_sgd_update, multi_sgd_mom_update, multi_mp_sgd_update, multi_mp_sgd_mom_update.
// The rule, clipping and in-place are template parameters chosen once per range, so the inner
// loop has no branch and vectorises. One call of a multi op is one engine op; its tensors are cut into
// (tensor, chunk) work items that run in parallel when there is enough work to pay for a wake-up.
// Inputs per weight: weight, grad[, mom][, weight32]; out = new weight (may be the weight itself:
// each element is read before it is written). Formulas as backends/common's optimizer_step (plain
// forms) and optimizer.cc's step (mp forms), so results do not change with the move here.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

enum Rule : int { kPlain, kMom, kMpPlain, kMpMom };
constexpr bool has_mom(int r) { return r == kMom || r == kMpMom; }
constexpr bool is_mp(int r) { return r == kMpPlain || r == kMpMom; }
constexpr int stride_of(int r) { return 2 + int(has_mom(r)) + int(is_mp(r)); }

// Elements per work item, and the total below which a call runs on the calling thread only.
constexpr int64_t kChunk = 1 << 14;
constexpr int64_t kParallelMin = 1 << 15;

struct MultiState {
  int32_t dtype;
  std::vector<double> lrs, wds;  // one per weight
  double momentum, rescale, clip;  // clip: +inf when off
};

// "(0.1, 0.2)" -> {0.1, 0.2} (the schema has checked the form and the count).
std::vector<double> attr_floats(const char* s) {
  std::vector<double> v;
  for (const char* p = s; *p;) {
    char* end = nullptr;
    const double x = std::strtod(p, &end);
    if (end == p) {
      ++p;
    } else {
      v.push_back(x);
      p = end;
    }
  }
  return v;
}

template <int R, bool kMulti>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  auto* st = new MultiState{};
  st->dtype = dt;
  if constexpr (kMulti) {
    st->lrs = attr_floats(attr(args, "lrs"));
    st->wds = attr_floats(attr(args, "wds"));
  } else {
    st->lrs = {attr_float(args, "lr")};
    st->wds = {attr_float(args, "wd")};
  }
  st->momentum = has_mom(R) ? attr_float(args, "momentum") : 0.0;
  st->rescale = attr_float(args, "rescale_grad");
  const double clip = attr_float(args, "clip_gradient");
  st->clip = clip >= 0 ? clip : std::numeric_limits<double>::infinity();
  *out = st;
  return 0;
}

// Elements [b, e) of one weight. T: the step's type (float for 16-bit and mp); M: the states'.
// kInPlace (out is the weight): w is y itself, so the compiler sees the exact dependence and
// vectorises; with two pointers that overlap, its runtime alias check would pick the scalar loop.
// kClip: clip_gradient >= 0 (a separate loop: the clamp, even branch-free, halves the speed of
// a loop that is otherwise limited by memory).
template <int R, bool kInPlace, bool kClip, typename S>
void update_range(const MultiState& st, size_t k, const DLTensor* in, DLTensor& out, int64_t b, int64_t e) {
  using E = Elem<S>;
  using T = std::conditional_t<is_mp(R), float, typename E::C>;
  using M = std::conditional_t<is_mp(R), float, S>;
  const T lr = T(st.lrs[k]), wd = T(st.wds[k]), mom = T(st.momentum), rescale = T(st.rescale), clip = T(st.clip);
  const T decay = T(1) - lr * wd;  // the mp forms' (1 - lr wd)
  const S* g = reinterpret_cast<const S*>(data_of(in[1]));
  S* y = reinterpret_cast<S*>(data_of(out));
  const S* w = kInPlace ? y : reinterpret_cast<const S*>(data_of(in[0]));
  M* __restrict m = has_mom(R) ? reinterpret_cast<M*>(data_of(in[2])) : nullptr;
  float* __restrict w32 = is_mp(R) ? reinterpret_cast<float*>(data_of(in[stride_of(R) - 1])) : nullptr;
  for (int64_t i = b; i < e; ++i) {
    const T gr = kClip ? clamp_abs(rescale * T(E::load(g[i])), clip) : rescale * T(E::load(g[i]));
    if constexpr (R == kPlain) {
      const T wi = E::load(w[i]);
      y[i] = E::store(wi - lr * (gr + wd * wi));
    } else if constexpr (R == kMom) {
      const T wi = E::load(w[i]);
      const T mi = mom * T(E::load(m[i])) - lr * (gr + wd * wi);
      m[i] = E::store(mi);
      y[i] = E::store(wi + mi);
    } else if constexpr (R == kMpPlain) {
      const T wi = decay * w32[i] - lr * gr;
      w32[i] = wi;
      y[i] = E::store(typename E::C(wi));
    } else {
      const T mi = mom * m[i] - lr * wd * w32[i] - lr * gr;
      m[i] = mi;
      const T wi = w32[i] + mi;
      w32[i] = wi;
      y[i] = E::store(typename E::C(wi));
    }
  }
  (void)decay;  // only the mp forms use it
}

struct Item {
  int32_t k;
  int64_t b, e;
};

template <int R>
int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t n_out) {
  const MultiState& st = *static_cast<const MultiState*>(state);
  constexpr int kStride = stride_of(R);
  std::vector<Item> items;
  int64_t total = 0;
  for (int32_t k = 0; k < n_out; ++k) {
    const int64_t n = numel(out[k]);
    total += n;
    for (int64_t b = 0; b < n; b += kChunk) items.push_back({k, b, std::min(n, b + kChunk)});
  }
  dispatch_float(st.dtype, [&](auto tag) {
    auto work = [&](int64_t first, int64_t last) {
      for (int64_t j = first; j < last; ++j) {
        const Item& it = items[size_t(j)];
        const DLTensor* ins = in + size_t(it.k) * kStride;
        using S = decltype(tag);
        const bool in_place = data_of(ins[0]) == data_of(out[it.k]), clip = std::isfinite(st.clip);
        auto range = in_place ? (clip ? update_range<R, true, true, S> : update_range<R, true, false, S>)
                              : (clip ? update_range<R, false, true, S> : update_range<R, false, false, S>);
        range(st, size_t(it.k), ins, out[it.k], it.b, it.e);
      }
    };
    const int64_t n_items = int64_t(items.size());
    if (total < kParallelMin) work(0, n_items);
    else parallel_for(n_items, 2, work);
  });
  return 0;
}

void destroy(void* s) { delete static_cast<MultiState*>(s); }

const mx_kernel kMultiUpdateKernels[] = {
    kernel("sgd_update", create<kPlain, false>, run<kPlain>, destroy),
    kernel("sgd_mom_update", create<kMom, false>, run<kMom>, destroy),
    kernel("mp_sgd_update", create<kMpPlain, false>, run<kMpPlain>, destroy),
    kernel("mp_sgd_mom_update", create<kMpMom, false>, run<kMpMom>, destroy),
    kernel("multi_sgd_update", create<kPlain, true>, run<kPlain>, destroy),
    kernel("multi_sgd_mom_update", create<kMom, true>, run<kMom>, destroy),
    kernel("multi_mp_sgd_update", create<kMpPlain, true>, run<kMpPlain>, destroy),
    kernel("multi_mp_sgd_mom_update", create<kMpMom, true>, run<kMpMom>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kMultiUpdateKernels);

}  // namespace
}  // namespace mxcpu
