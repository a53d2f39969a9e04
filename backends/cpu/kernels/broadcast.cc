// The broadcast family (core/op/defs/broadcast.cc): broadcast_* binary ops (and their
// _mod … _logical_xor names), broadcast_like and where, over strided runs (see strided.h). The
// per-element math is backends/common's Binary<F>, inlined into each run's loop.
#include <algorithm>
#include <string>

#include "../cpu_backend.h"
#include "../grain.h"
#include "../parallel.h"
#include "strided.h"

namespace mxcpu {
namespace {

struct State;
using RunTyped = void (*)(const State&, const DLTensor*, DLTensor&);

struct State {
  RunTyped run;
  int32_t dtype;
  BroadcastPlan plan;
};

template <int OP>
void run_typed(const State& st, const DLTensor* in, DLTensor& out) {
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    using E = Elem<S>;
    const Binary<OP> f;
    const S* a = reinterpret_cast<const S*>(data_of(in[0]));
    const S* b = OP == kLhs ? a : reinterpret_cast<const S*>(data_of(in[1]));
    S* o = reinterpret_cast<S*>(data_of(out));
    auto runs = [&](int64_t oo, int64_t oa, int64_t ob, int64_t n, int64_t sa, int64_t sb) {
      S* __restrict po = o + oo;
      const S* pa = a + oa;
      const S* pb = b + ob;
      if (sa == 1 && sb == 1) {
        for (int64_t i = 0; i < n; ++i) po[i] = E::store(f(E::load(pa[i]), E::load(pb[i])));
      } else if (sa == 1 && sb == 0) {
        const auto vb = E::load(*pb);
        for (int64_t i = 0; i < n; ++i) po[i] = E::store(f(E::load(pa[i]), vb));
      } else if (sa == 0 && sb == 1) {
        const auto va = E::load(*pa);
        for (int64_t i = 0; i < n; ++i) po[i] = E::store(f(va, E::load(pb[i])));
      } else {
        for (int64_t i = 0; i < n; ++i) po[i] = E::store(f(E::load(pa[i * sa]), E::load(pb[i * sb])));
      }
    };
    const int64_t slab = slab_size(st.plan);
    parallel_for(st.plan.shape[0], std::max<int64_t>(1, binary_grain(OP) / slab),
                 [&](int64_t lo, int64_t hi) { for_each_run_part(st.plan, lo, hi, runs); });
  });
}

template <int OP>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dtype, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  auto* st = new State{run_typed<OP>, dtype, {}};
  if (!make_plan(&args->inputs[0], OP == kLhs ? nullptr : &args->inputs[1], args->outputs[0], st->plan)) {
    delete st;
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": more than 16 dims on cpu");
  }
  *out = st;
  return 0;
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  st.run(st, in, out[0]);
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

// where(condition, x, y): condition may have any numeric dtype.
struct WhereState {
  int32_t cond_dtype, dtype;
};
int where_create(const mx_kernel_args* args, void** out) {
  auto* w = new WhereState{dtype_flag(args->inputs[0].dtype), dtype_flag(args->inputs[1].dtype)};
  if (!dispatch_all(w->cond_dtype, [](auto) {}) || !dispatch_all(w->dtype, [](auto) {})) {
    delete w;
    return error(MX_ERR_UNSUPPORTED, "where: unsupported dtype on cpu");
  }
  *out = w;
  return 0;
}
int where_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const WhereState& w = *static_cast<const WhereState*>(state);
  const int64_t n = numel(out[0]);
  dispatch_all(w.cond_dtype, [&](auto ctag) {
    using CT = decltype(ctag);
    dispatch_all(w.dtype, [&](auto tag) {
      using S = decltype(tag);
      const CT* c = reinterpret_cast<const CT*>(data_of(in[0]));
      const S* x = reinterpret_cast<const S*>(data_of(in[1]));
      const S* y = reinterpret_cast<const S*>(data_of(in[2]));
      S* o = reinterpret_cast<S*>(data_of(out[0]));
      for (int64_t i = 0; i < n; ++i) o[i] = Elem<CT>::load(c[i]) != typename Elem<CT>::C(0) ? x[i] : y[i];
    });
  });
  return 0;
}
void where_destroy(void* s) { delete static_cast<WhereState*>(s); }

#define MX_BCAST(name, OP) kernel(name, create<OP>, run, destroy)

const mx_kernel kBroadcastKernels[] = {
    MX_BCAST("broadcast_add", kAdd),           MX_BCAST("broadcast_sub", kSub),
    MX_BCAST("broadcast_mul", kMul),           MX_BCAST("broadcast_div", kDiv),
    MX_BCAST("broadcast_mod", kMod),           MX_BCAST("broadcast_power", kPow),
    MX_BCAST("broadcast_maximum", kMax),       MX_BCAST("broadcast_minimum", kMin),
    MX_BCAST("broadcast_equal", kEq),          MX_BCAST("broadcast_not_equal", kNe),
    MX_BCAST("broadcast_greater", kGt),        MX_BCAST("broadcast_greater_equal", kGe),
    MX_BCAST("broadcast_lesser", kLt),         MX_BCAST("broadcast_lesser_equal", kLe),
    MX_BCAST("broadcast_logical_and", kAnd),   MX_BCAST("broadcast_logical_or", kOr),
    MX_BCAST("broadcast_logical_xor", kXor),   MX_BCAST("broadcast_like", kLhs),
    MX_BCAST("_mod", kMod),       MX_BCAST("_power", kPow),       MX_BCAST("_maximum", kMax),
    MX_BCAST("_minimum", kMin),   MX_BCAST("_equal", kEq),        MX_BCAST("_not_equal", kNe),
    MX_BCAST("_greater", kGt),    MX_BCAST("_greater_equal", kGe), MX_BCAST("_lesser", kLt),
    MX_BCAST("_lesser_equal", kLe), MX_BCAST("_logical_and", kAnd), MX_BCAST("_logical_or", kOr),
    MX_BCAST("_logical_xor", kXor),
    kernel("where", where_create, where_run, where_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kBroadcastKernels);

}  // namespace
}  // namespace mxcpu
