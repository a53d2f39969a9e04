// The math family (core/op/defs/math.cc), elementwise part: tan … trunc, logical_not, the
// isinf / isnan / isfinite tests as backends/common's Unary<F>; _hypot, _hypot_scalar, smooth_l1
// and _backward_gammaln as Binary<F>; hard_sigmoid. One tight loop per (op, dtype), as unary.cc;
// 16-bit floats compute in float32. softmin, nanprod, the finite checks and the AMP casts are in
// math_rows.cc.
#include <string>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

constexpr int64_t kGrain = int64_t(1) << 15;

// Each op as f(x, s1, s2) over the compute type, so one loop serves every one-input op.
template <int F>
struct UnaryOp {
  template <typename C>
  C operator()(C x, C, C) const { return Unary<F>{}(x); }
};
template <int F>
struct ScalarOp {
  template <typename C>
  C operator()(C x, C s, C) const { return Binary<F>{}(x, s); }
};
struct HardSigmoidOp {
  template <typename C>
  C operator()(C x, C alpha, C beta) const { return HardSigmoid{}(x, alpha, beta); }
};

// out may be in (in place): each element is read before it is written.
template <typename Op, typename S>
void loop1(const S* in, S* out, int64_t n, double s1, double s2) {
  using E = Elem<S>;
  using C = typename E::C;
  const C a = static_cast<C>(s1), b = static_cast<C>(s2);
  const Op f;
  for (int64_t i = 0; i < n; ++i) out[i] = E::store(f(E::load(in[i]), a, b));
}

template <int F, typename S>
void loop2(const S* x, const S* y, S* out, int64_t n) {
  using E = Elem<S>;
  const Binary<F> f;
  for (int64_t i = 0; i < n; ++i) out[i] = E::store(f(E::load(x[i]), E::load(y[i])));
}

struct State;
using RunTyped = void (*)(const State&, const DLTensor* in, DLTensor& out);

struct State {
  RunTyped run;
  int32_t dtype;
  double s1 = 0, s2 = 0;
};

template <typename Op>
void run_one(const State& st, const DLTensor* in, DLTensor& out) {
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* x = reinterpret_cast<const S*>(data_of(in[0]));
    S* y = reinterpret_cast<S*>(data_of(out));
    parallel_for(numel(out), kGrain, [&](int64_t b, int64_t e) { loop1<Op>(x + b, y + b, e - b, st.s1, st.s2); });
  });
}

template <int F>
void run_two(const State& st, const DLTensor* in, DLTensor& out) {
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* x = reinterpret_cast<const S*>(data_of(in[0]));
    const S* y = reinterpret_cast<const S*>(data_of(in[1]));
    S* o = reinterpret_cast<S*>(data_of(out));
    parallel_for(numel(out), kGrain, [&](int64_t b, int64_t e) { loop2<F>(x + b, y + b, o + b, e - b); });
  });
}

// Which attributes become s1, s2.
enum Params { kNone, kScalar, kAlphaBeta };

template <RunTyped RUN, int PARAMS>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dtype, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  auto* st = new State{RUN, dtype};
  if (PARAMS == kScalar) st->s1 = attr_float(args, "scalar");
  if (PARAMS == kAlphaBeta) {
    st->s1 = attr_float(args, "alpha");
    st->s2 = attr_float(args, "beta");
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

#define MX_UNARY(name, F) kernel(name, create<run_one<UnaryOp<F>>, kNone>, run, destroy)
#define MX_SCALAR(name, F) kernel(name, create<run_one<ScalarOp<F>>, kScalar>, run, destroy)
#define MX_BINARY(name, F) kernel(name, create<run_two<F>, kNone>, run, destroy)

const mx_kernel kMathKernels[] = {
    MX_UNARY("tan", kTan),
    MX_UNARY("arcsin", kArcsin),
    MX_UNARY("arccos", kArccos),
    MX_UNARY("arctan", kArctan),
    MX_UNARY("sinh", kSinh),
    MX_UNARY("cosh", kCosh),
    MX_UNARY("arcsinh", kArcsinh),
    MX_UNARY("arccosh", kArccosh),
    MX_UNARY("arctanh", kArctanh),
    MX_UNARY("log10", kLog10),
    MX_UNARY("log2", kLog2),
    MX_UNARY("cbrt", kCbrt),
    MX_UNARY("rcbrt", kRcbrt),
    MX_UNARY("erfinv", kErfinv),
    MX_UNARY("gamma", kGamma),
    MX_UNARY("gammaln", kGammaln),
    MX_UNARY("degrees", kDegrees),
    MX_UNARY("radians", kRadians),
    MX_UNARY("rint", kRint),
    MX_UNARY("fix", kFix),
    MX_UNARY("trunc", kTrunc),
    MX_UNARY("logical_not", kLogicalNot),
    MX_UNARY("_contrib_isinf", kIsinf),
    MX_UNARY("_contrib_isnan", kIsnan),
    MX_UNARY("_contrib_isfinite", kIsfinite),
    MX_SCALAR("smooth_l1", kSmoothL1),
    MX_SCALAR("_hypot_scalar", kHypot),
    MX_BINARY("_hypot", kHypot),
    MX_BINARY("_backward_gammaln", kGammalnGrad),
    kernel("hard_sigmoid", create<run_one<HardSigmoidOp>, kAlphaBeta>, run, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kMathKernels);

#undef MX_UNARY
#undef MX_SCALAR
#undef MX_BINARY

}  // namespace
}  // namespace mxcpu
