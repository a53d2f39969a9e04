// The unary family (core/op/defs/unary.cc): elementwise math (relu … erf, log_sigmoid, mish) as
// backends/common's Unary<F>, the scalar comparisons and the scalar mod / power / maximum / minimum / logical ops as
// Binary<F> with b = the scalar, and clip as Clip. 16-bit floats compute in float32; integer inputs
// are accepted only by ops that make sense on them (the core's schema enforces which).
#include <string>

#include "../cpu_backend.h"
#include "../grain.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

// Each op as f(x, s, s2) over the compute type, so one loop serves all of them; the functor call
// inlines into it.
template <int F>
struct UnaryOp {
  static constexpr int64_t kGrain = unary_grain(F);
  template <typename C>
  C operator()(C x, C, C) const { return Unary<F>{}(x); }
};
template <int F>
struct ScalarOp {
  static constexpr int64_t kGrain = binary_grain(F);
  template <typename C>
  C operator()(C x, C s, C) const { return Binary<F>{}(x, s); }
};
struct ClipOp {
  static constexpr int64_t kGrain = kGrainCheap;
  template <typename C>
  C operator()(C x, C lo, C hi) const { return Clip{}(x, lo, hi); }
};

template <typename Op, typename S>
// out may be in (in-place): each element is read before it is written.
void loop(const S* in, S* out, int64_t n, double scalar, double scalar2) {
  using E = Elem<S>;
  using C = typename E::C;
  const C s = static_cast<C>(scalar), s2 = static_cast<C>(scalar2);
  const Op f;
  for (int64_t i = 0; i < n; ++i) out[i] = E::store(f(E::load(in[i]), s, s2));
}

struct State;
using RunTyped = void (*)(const State&, const DLTensor&, DLTensor&);

struct State {
  RunTyped run;
  int32_t dtype;
  double scalar;
  double scalar2 = 0;
};

template <typename Op>
void run_typed(const State& st, const DLTensor& in, DLTensor& out) {
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* x = reinterpret_cast<const S*>(data_of(in));
    S* y = reinterpret_cast<S*>(data_of(out));
    parallel_for(numel(out), Op::kGrain, [&](int64_t begin, int64_t end) {
      loop<Op>(x + begin, y + begin, end - begin, st.scalar, st.scalar2);
    });
  });
}

// kind: 0 unary, 1 with the `scalar` param, 2 clip (a_min, a_max).
template <typename Op, int KIND>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dtype, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  auto* st = new State{run_typed<Op>, dtype, KIND == 1 ? attr_float(args, "scalar") : 0.0};
  if (KIND == 2) {
    st->scalar = attr_float(args, "a_min");
    st->scalar2 = attr_float(args, "a_max");
  }
  *out = st;
  return 0;
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  st.run(st, in[0], out[0]);
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

#define MX_UNARY(name, F) kernel(name, create<UnaryOp<F>, 0>, run, destroy)
#define MX_SCALAR(name, F) kernel(name, create<ScalarOp<F>, 1>, run, destroy)

const mx_kernel kUnaryKernels[] = {
    MX_UNARY("relu", kRelu),         MX_UNARY("sigmoid", kSigmoid),
    MX_UNARY("tanh", kTanh),         MX_UNARY("softsign", kSoftsign),
    MX_UNARY("exp", kExp),           MX_UNARY("log", kLog),
    MX_UNARY("log1p", kLog1p),       MX_UNARY("expm1", kExpm1),
    MX_UNARY("sqrt", kSqrt),         MX_UNARY("rsqrt", kRsqrt),
    MX_UNARY("square", kSquare),     MX_UNARY("abs", kAbs),
    MX_UNARY("sign", kSign),         MX_UNARY("negative", kNegative),
    MX_UNARY("reciprocal", kReciprocal), MX_UNARY("floor", kFloor),
    MX_UNARY("ceil", kCeil),         MX_UNARY("round", kRound),
    MX_UNARY("sin", kSin),           MX_UNARY("cos", kCos),
    MX_UNARY("erf", kErf),
    MX_UNARY("log_sigmoid", kLogSigmoid), MX_UNARY("mish", kMish),
    MX_SCALAR("_greater_scalar", kGt),      MX_SCALAR("_greater_equal_scalar", kGe),
    MX_SCALAR("_lesser_scalar", kLt),       MX_SCALAR("_lesser_equal_scalar", kLe),
    MX_SCALAR("_equal_scalar", kEq),        MX_SCALAR("_not_equal_scalar", kNe),
    MX_SCALAR("_mod_scalar", kMod),         MX_SCALAR("_rmod_scalar", kRMod),
    MX_SCALAR("_power_scalar", kPow),       MX_SCALAR("_rpower_scalar", kRPow),
    MX_SCALAR("_maximum_scalar", kMax),     MX_SCALAR("_minimum_scalar", kMin),
    MX_SCALAR("_logical_and_scalar", kAnd), MX_SCALAR("_logical_or_scalar", kOr),
    MX_SCALAR("_logical_xor_scalar", kXor),
    kernel("clip", create<ClipOp, 2>, run, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kUnaryKernels);

}  // namespace
}  // namespace mxcpu
