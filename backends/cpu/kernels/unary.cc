// Elementwise unary math (relu … erf) and scalar comparisons (_greater_scalar …). 16-bit floats
// compute in float32; integer inputs are accepted only by ops that make sense on them (the core's
// schema enforces which).
#include <array>
#include <cmath>
#include <utility>
#include <string>
#include <type_traits>

#include "../parallel.h"
#include "dispatch.h"

namespace mxcpu {
namespace {

enum Fn : int {
  kRelu, kSigmoid, kTanh, kSoftsign, kExp, kLog, kLog1p, kExpm1, kSqrt, kRsqrt, kSquare, kAbs, kSign,
  kNegative, kReciprocal, kFloor, kCeil, kRound, kSin, kCos, kErf,
  kGt, kGe, kLt, kLe, kEq, kNe, kSoftrelu,
  kModS, kRModS, kPowS, kRPowS, kMaxS, kMinS, kAndS, kOrS, kXorS, kClip,
};

template <typename C>
inline C py_mod(C a, C b) {  // result takes the sign of b, as numpy and MXNet
  if (b == C(0)) return C(0);
  if constexpr (std::is_floating_point_v<C>) {
    C r = std::fmod(a, b);
    return r != C(0) && ((r < C(0)) != (b < C(0))) ? C(r + b) : r;
  } else {
    if (std::is_signed_v<C> && b == C(-1)) return C(0);
    C r = C(a % b);
    return r != C(0) && ((r < C(0)) != (b < C(0))) ? C(r + b) : r;
  }
}

template <int F, typename C>
inline C apply(C x, C s, C s2 = C(0)) {
  if constexpr (F == kModS) return py_mod(x, s);
  if constexpr (F == kRModS) return py_mod(s, x);
  if constexpr (F == kPowS) return C(std::pow(double(x), double(s)));
  if constexpr (F == kRPowS) return C(std::pow(double(s), double(x)));
  if constexpr (F == kMaxS) return x >= s ? x : s;
  if constexpr (F == kMinS) return x <= s ? x : s;
  if constexpr (F == kAndS) return C(x != C(0) && s != C(0));
  if constexpr (F == kOrS) return C(x != C(0) || s != C(0));
  if constexpr (F == kXorS) return C((x != C(0)) != (s != C(0)));
  if constexpr (F == kClip) return x < s ? s : (x > s2 ? s2 : x);
  if constexpr (F == kRelu) return x > C(0) ? x : C(0);
  if constexpr (F == kSquare) return C(x * x);
  if constexpr (F == kAbs) return x < C(0) ? C(-x) : x;
  if constexpr (F == kSign) return C((x > C(0)) - (x < C(0)));
  if constexpr (F == kNegative) return C(-x);
  if constexpr (F == kGt) return C(x > s);
  if constexpr (F == kGe) return C(x >= s);
  if constexpr (F == kLt) return C(x < s);
  if constexpr (F == kLe) return C(x <= s);
  if constexpr (F == kEq) return C(x == s);
  if constexpr (F == kNe) return C(x != s);
  if constexpr (std::is_floating_point_v<C>) {
    if constexpr (F == kSigmoid) return C(1) / (C(1) + std::exp(-x));
    if constexpr (F == kTanh) return std::tanh(x);
    if constexpr (F == kSoftsign) return x / (C(1) + std::fabs(x));
    if constexpr (F == kExp) return std::exp(x);
    if constexpr (F == kLog) return std::log(x);
    if constexpr (F == kLog1p) return std::log1p(x);
    if constexpr (F == kExpm1) return std::expm1(x);
    if constexpr (F == kSqrt) return std::sqrt(x);
    if constexpr (F == kRsqrt) return C(1) / std::sqrt(x);
    if constexpr (F == kReciprocal) return C(1) / x;
    if constexpr (F == kFloor) return std::floor(x);
    if constexpr (F == kCeil) return std::ceil(x);
    if constexpr (F == kRound) return std::round(x);  // half away from zero, as MXNet
    if constexpr (F == kSin) return std::sin(x);
    if constexpr (F == kCos) return std::cos(x);
    if constexpr (F == kErf) return std::erf(x);
    if constexpr (F == kSoftrelu) return x > C(20) ? x : std::log1p(std::exp(x));  // log(1 + e^x), no overflow
  }
  return x;  // unreachable for the dtypes the schema admits
}

template <int F, typename S>
// out may be in (in-place): each element is read before it is written.
void loop(const S* in, S* out, int64_t n, double scalar, double scalar2) {
  using E = Elem<S>;
  using C = typename E::C;
  const C s = static_cast<C>(scalar), s2 = static_cast<C>(scalar2);
  for (int64_t i = 0; i < n; ++i) out[i] = E::store(apply<F>(E::load(in[i]), s, s2));
}

struct State {
  int fn;
  int32_t dtype;
  double scalar;
  double scalar2 = 0;
};

template <int F>
void run_typed(const State& st, const DLTensor& in, DLTensor& out) {
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* x = reinterpret_cast<const S*>(data_of(in));
    S* y = reinterpret_cast<S*>(data_of(out));
    parallel_for(numel(out), int64_t(1) << 15, [&](int64_t begin, int64_t end) {
      loop<F>(x + begin, y + begin, end - begin, st.scalar, st.scalar2);
    });
  });
}

using RunFn = void (*)(const State&, const DLTensor&, DLTensor&);
template <int... Fs>
constexpr auto make_table(std::integer_sequence<int, Fs...>) {
  return std::array<RunFn, sizeof...(Fs)>{&run_typed<Fs>...};
}
const auto kRun = make_table(std::make_integer_sequence<int, kClip + 1>{});

template <int F>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dtype, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  const bool has_scalar = (F >= kGt && F <= kNe) || (F >= kModS && F <= kXorS);
  auto* st = new State{F, dtype, has_scalar ? attr_float(args, "scalar") : 0.0};
  if (F == kClip) {
    st->scalar = attr_float(args, "a_min");
    st->scalar2 = attr_float(args, "a_max");
  }
  *out = st;
  return 0;
}

// Activation(act_type=...) runs the matching unary function.
int create_activation(const mx_kernel_args* args, void** out) {
  const std::string t = attr(args, "act_type");
  const int f = t == "relu" ? kRelu : t == "sigmoid" ? kSigmoid : t == "tanh" ? kTanh : t == "softrelu" ? kSoftrelu
              : t == "softsign" ? kSoftsign : -1;
  if (f < 0) return error(MX_ERR_INVALID_ARGUMENT, "Activation: unknown act_type '" + t + "'");
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dtype, [](auto) {})) return error(MX_ERR_UNSUPPORTED, "Activation: unsupported dtype on cpu");
  *out = new State{f, dtype, 0.0};
  return 0;
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  kRun[size_t(st.fn)](st, in[0], out[0]);
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

#define MX_UNARY(name, F) {sizeof(mx_kernel), name, create<F>, run, destroy}

}  // namespace

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
    MX_UNARY("erf", kErf),           MX_UNARY("_greater_scalar", kGt),
    MX_UNARY("_greater_equal_scalar", kGe), MX_UNARY("_lesser_scalar", kLt),
    MX_UNARY("_lesser_equal_scalar", kLe),  MX_UNARY("_equal_scalar", kEq),
    MX_UNARY("_not_equal_scalar", kNe),
    {sizeof(mx_kernel), "Activation", create_activation, run, destroy},
    MX_UNARY("_mod_scalar", kModS),          MX_UNARY("_rmod_scalar", kRModS),
    MX_UNARY("_power_scalar", kPowS),        MX_UNARY("_rpower_scalar", kRPowS),
    MX_UNARY("_maximum_scalar", kMaxS),      MX_UNARY("_minimum_scalar", kMinS),
    MX_UNARY("_logical_and_scalar", kAndS),  MX_UNARY("_logical_or_scalar", kOrS),
    MX_UNARY("_logical_xor_scalar", kXorS),  MX_UNARY("clip", kClip),
    {0, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace mxcpu
