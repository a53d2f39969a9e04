// The per-element math of mx's operators, written once for every backend: the CPU kernels and
// the CUDA kernels instantiate these same functors (MXNet's mxnet_op::Kernel<OP, xpu> idea), so the
// CPU conformance suite, which runs everywhere, checks the formulas the GPU runs.
//
// Each functor works on the compute type C of Elem<S> (float for the 16-bit floats). Integer
// arithmetic never traps: x / 0 and x % 0 give 0 (numpy), MIN / -1 wraps.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "hd.h"

namespace mx_impl {

// ---------------------------------------------------------------- helpers

template <typename C>
MX_HD inline C divide(C a, C b) {
  if constexpr (std::is_integral_v<C> && !std::is_same_v<C, bool>) {
    if (b == C(0)) return C(0);
    // MIN / -1 wraps instead of trapping: negated in unsigned arithmetic (0 - a in C itself
    // overflows for int32 / int64 MIN, which is undefined).
    if (std::is_signed_v<C> && b == C(-1)) return C(std::make_unsigned_t<C>(0) - std::make_unsigned_t<C>(a));
    return C(a / b);
  } else {
    return C(a / b);
  }
}

// x < 0, written so unsigned types compile to `false` without a pointless comparison.
template <typename C>
MX_HD inline bool is_negative(C x) {
  if constexpr (std::is_unsigned_v<C>) return false;
  else return x < C(0);
}

// Remainder with the sign of b, as numpy and MXNet; x % 0 = 0.
template <typename C>
MX_HD inline C py_mod(C a, C b) {
  if (b == C(0)) return C(0);
  if constexpr (std::is_floating_point_v<C>) {
    C r = std::fmod(a, b);
    return r != C(0) && ((r < C(0)) != (b < C(0))) ? C(r + b) : r;
  } else {
    if (std::is_signed_v<C> && b == C(-1)) return C(0);
    C r = C(a % b);
    return r != C(0) && (is_negative(r) != is_negative(b)) ? C(r + b) : r;
  }
}

template <typename C>
MX_HD inline C power(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) return std::pow(a, b);
  else return C(std::pow(double(a), double(b)));
}

// Inverse error function in double: Giles' single-precision approximation ("Approximating the
// erfinv function", 2010) refined by Newton steps on erf: one is plenty for a float result, two
// bring it to double accuracy.
MX_HD inline double erfinv_d(double y, int newton_steps) {
  if (!(y > -1.0 && y < 1.0)) return y == 1.0 ? HUGE_VAL : (y == -1.0 ? -HUGE_VAL : NAN);
  double w = -std::log((1.0 - y) * (1.0 + y)), x;
  if (w < 5.0) {
    w -= 2.5;
    double p = 2.81022636e-08;
    p = 3.43273939e-07 + p * w; p = -3.5233877e-06 + p * w; p = -4.39150654e-06 + p * w;
    p = 0.00021858087 + p * w; p = -0.00125372503 + p * w; p = -0.00417768164 + p * w;
    p = 0.246640727 + p * w; p = 1.50140941 + p * w;
    x = p * y;
  } else {
    w = std::sqrt(w) - 3.0;
    double p = -0.000200214257;
    p = 0.000100950558 + p * w; p = 0.00134934322 + p * w; p = -0.00367342844 + p * w;
    p = 0.00573950773 + p * w; p = -0.0076224613 + p * w; p = 0.00943887047 + p * w;
    p = 1.00167406 + p * w; p = 2.83297682 + p * w;
    x = p * y;
  }
  for (int k = 0; k < newton_steps; ++k)  // Newton: erf'(x) = 2/sqrt(pi) exp(-x^2)
    x -= (std::erf(x) - y) / (1.1283791670955125739 * std::exp(-x * x));
  return x;
}

// log |gamma(x)| in double, without std::lgamma (which writes the global signgam: a data race
// between threads): log(tgamma) on [0.5, 12), Stirling's series above, reflection below 0.5.
MX_HD inline double lgamma_d(double x) {
  const double kPi = 3.14159265358979323846;
  if (x != x) return x;
  if (std::isinf(x) || (x <= 0 && x == std::floor(x))) return HUGE_VAL;  // +-inf and the poles
  double reflected = 0;
  const bool reflect = x < 0.5;
  if (reflect) {  // gamma(x) gamma(1 - x) = pi / sin(pi x)
    reflected = std::log(kPi / std::fabs(std::sin(kPi * x)));
    x = 1 - x;
  }
  double r;
  if (x < 12) {
    r = std::log(std::tgamma(x));
  } else {
    const double z = 1 / (x * x);
    r = (x - 0.5) * std::log(x) - x + 0.91893853320467274178 +
        (1.0 / 12 - z * (1.0 / 360 - z * (1.0 / 1260 - z * (1.0 / 1680)))) / x;
  }
  return reflect ? reflected - r : r;
}

// digamma(x) = d/dx log|gamma(x)| in double: reflection for x < 0.5, the recurrence up to x >= 6,
// then the asymptotic series. Poles (0, -1, -2, ...) give NaN.
MX_HD inline double digamma_d(double x) {
  const double kPi = 3.14159265358979323846;
  double shift = 0;
  if (x <= 0 && x == std::floor(x)) return NAN;
  if (x < 0.5) {  // psi(x) = psi(1 - x) - pi / tan(pi x)
    shift = -kPi / std::tan(kPi * x);
    x = 1 - x;
  }
  for (; x < 6; x += 1) shift -= 1 / x;
  const double r = 1 / (x * x);
  const double series = r * (1.0 / 12 - r * (1.0 / 120 - r * (1.0 / 252 - r * (1.0 / 240 - r * (1.0 / 132)))));
  return shift + std::log(x) - 0.5 / x - series;
}

// ---------------------------------------------------------------- binary (and scalar) ops

enum BinaryFn : int {
  kAdd, kSub, kMul, kDiv, kMod, kPow, kMax, kMin,
  kEq, kNe, kGt, kGe, kLt, kLe, kAnd, kOr, kXor,
  kRSub, kRDiv, kRMod, kRPow,  // reversed operands: f(a, b) = op(b, a) (the *_scalar "r" forms)
  kLhs,                        // a (broadcast_like)
  kHypot,                      // sqrt(a^2 + b^2) (_hypot, _hypot_scalar)
  kSmoothL1,                   // smooth_l1 of a with sigma = b
  kGammalnGrad,                // a * digamma(b): gammaln's gradient, a = the output gradient, b = x
  kBinaryCount
};

// out = op(a, b). A scalar op (_plus_scalar …) is the binary op with b = the scalar.
template <int F>
struct Binary {
  template <typename C>
  MX_HD C operator()(C a, C b) const {
    if constexpr (F == kAdd) return C(a + b);
    if constexpr (F == kSub) return C(a - b);
    if constexpr (F == kMul) return C(a * b);
    if constexpr (F == kDiv) return divide(a, b);
    if constexpr (F == kMod) return py_mod(a, b);
    if constexpr (F == kPow) return power(a, b);
    if constexpr (F == kMax) return a >= b ? a : b;
    if constexpr (F == kMin) return a <= b ? a : b;
    if constexpr (F == kEq) return C(a == b);
    if constexpr (F == kNe) return C(a != b);
    if constexpr (F == kGt) return C(a > b);
    if constexpr (F == kGe) return C(a >= b);
    if constexpr (F == kLt) return C(a < b);
    if constexpr (F == kLe) return C(a <= b);
    if constexpr (F == kAnd) return C(a != C(0) && b != C(0));
    if constexpr (F == kOr) return C(a != C(0) || b != C(0));
    if constexpr (F == kXor) return C((a != C(0)) != (b != C(0)));
    if constexpr (F == kRSub) return C(b - a);
    if constexpr (F == kRDiv) return divide(b, a);
    if constexpr (F == kRMod) return py_mod(b, a);
    if constexpr (F == kRPow) return power(b, a);
    if constexpr (F == kLhs) return a;
    if constexpr (std::is_floating_point_v<C>) {
      if constexpr (F == kHypot) return std::hypot(a, b);
      if constexpr (F == kSmoothL1) {  // 0.5 (b a)^2 if |a| < 1 / b^2, else |a| - 0.5 / b^2
        const C s2 = b * b, ax = std::fabs(a);
        return ax < C(1) / s2 ? C(0.5) * s2 * a * a : ax - C(0.5) / s2;
      }
      if constexpr (F == kGammalnGrad) return C(double(a) * digamma_d(double(b)));
    }
    return a;
  }
};

// ---------------------------------------------------------------- unary ops

enum UnaryFn : int {
  kRelu, kSigmoid, kTanh, kSoftsign, kSoftrelu, kExp, kLog, kLog1p, kExpm1, kSqrt, kRsqrt, kSquare,
  kAbs, kSign, kNegative, kReciprocal, kFloor, kCeil, kRound, kSin, kCos, kErf, kIdentity,
  // the math family (core/op/defs/math.cc)
  kTan, kArcsin, kArccos, kArctan, kSinh, kCosh, kArcsinh, kArccosh, kArctanh, kLog10, kLog2, kCbrt,
  kRcbrt, kErfinv, kGamma, kGammaln, kDegrees, kRadians, kRint, kFix, kTrunc,
  kLogicalNot, kIsinf, kIsnan, kIsfinite,  // 1 or 0 in the input's type; any dtype
  kLogSigmoid, kMish,  // activations of the unary family (core/op/defs/unary.cc)
  kUnaryCount
};

template <int F>
struct Unary {
  template <typename C>
  MX_HD C operator()(C x) const {
    if constexpr (F == kRelu) return x > C(0) ? x : C(0);
    if constexpr (F == kSquare) return C(x * x);
    if constexpr (F == kAbs) return is_negative(x) ? C(-x) : x;
    if constexpr (F == kSign) return C(int(x > C(0)) - int(is_negative(x)));
    if constexpr (F == kNegative) return C(-x);
    if constexpr (F == kIdentity) return x;
    if constexpr (F == kLogicalNot) return C(x == C(0));
    if constexpr (F == kIsinf || F == kIsnan || F == kIsfinite) {
      if constexpr (std::is_floating_point_v<C>) {
        if constexpr (F == kIsinf) return C(std::isinf(x));
        if constexpr (F == kIsnan) return C(std::isnan(x));
        return C(std::isfinite(x));
      } else {
        return C(F == kIsfinite);  // integers are always finite
      }
    }
    if constexpr (std::is_floating_point_v<C>) {
      if constexpr (F == kSigmoid) return C(1) / (C(1) + std::exp(-x));
      if constexpr (F == kTanh) return std::tanh(x);
      if constexpr (F == kSoftsign) return x / (C(1) + std::fabs(x));
      if constexpr (F == kSoftrelu) return x > C(20) ? x : std::log1p(std::exp(x));  // log(1 + e^x), no overflow
      // log(1 / (1 + e^-x)) = -softplus(-x), with exp of a non-positive number only: no overflow
      if constexpr (F == kLogSigmoid) return x < C(0) ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x));
      if constexpr (F == kMish) return x * std::tanh(x > C(20) ? x : std::log1p(std::exp(x)));  // x tanh(softplus(x))
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
      if constexpr (F == kTan) return std::tan(x);
      if constexpr (F == kArcsin) return std::asin(x);
      if constexpr (F == kArccos) return std::acos(x);
      if constexpr (F == kArctan) return std::atan(x);
      if constexpr (F == kSinh) return std::sinh(x);
      if constexpr (F == kCosh) return std::cosh(x);
      if constexpr (F == kArcsinh) return std::asinh(x);
      if constexpr (F == kArccosh) return std::acosh(x);
      if constexpr (F == kArctanh) return std::atanh(x);
      if constexpr (F == kLog10) return std::log10(x);
      if constexpr (F == kLog2) return std::log2(x);
      if constexpr (F == kCbrt) return std::cbrt(x);
      if constexpr (F == kRcbrt) return C(1) / std::cbrt(x);
      if constexpr (F == kErfinv) return C(erfinv_d(double(x), sizeof(C) < sizeof(double) ? 1 : 2));
      if constexpr (F == kGamma) return C(std::tgamma(double(x)));  // in double: float's are a few ulp off
      if constexpr (F == kGammaln) return C(lgamma_d(double(x)));
      if constexpr (F == kDegrees) return C(x * C(57.295779513082320876798154814105));
      if constexpr (F == kRadians) return C(x * C(0.017453292519943295769236907684886));
      if constexpr (F == kRint) {  // nearest integer, halves to the lower one (MXNet's rint)
        C lo = std::trunc(x);  // floor through trunc, which compiles inline (floor is a libm call)
        if (lo > x) lo -= C(1);
        return x - lo <= C(0.5) ? lo : std::copysign(C(lo + C(1)), x);  // ceil(x), -0 kept for x in (-0.5, 0)
      }
      if constexpr (F == kFix || F == kTrunc) return std::trunc(x);  // towards zero
    }
    return x;  // unreachable for the dtypes the schema admits
  }
};

// clip(x, lo, hi); NaN passes through.
struct Clip {
  template <typename C>
  MX_HD C operator()(C x, C lo, C hi) const {
    return x < lo ? lo : (x > hi ? hi : x);
  }
};

// hard_sigmoid: max(0, min(1, alpha x + beta)).
struct HardSigmoid {
  template <typename C>
  MX_HD C operator()(C x, C alpha, C beta) const {
    const C v = alpha * x + beta;
    return is_negative(v) ? C(0) : (v > C(1) ? C(1) : v);
  }
};

// ---------------------------------------------------------------- activations

// LeakyReLU's act_type values. gamma is prelu's slope for this element's channel.
enum LeakyFn : int { kLeaky, kElu, kPrelu, kSelu, kGelu };

// Computed in double whatever the storage type (as the CPU kernel always has), then rounded.
struct Leaky {
  int kind;
  double slope;
  MX_HD double operator()(double v, double gamma) const {
    switch (kind) {
      case kLeaky: return v > 0 ? v : slope * v;
      case kElu: return v > 0 ? v : slope * std::expm1(v);
      case kPrelu: return v > 0 ? v : gamma * v;
      case kSelu: return 1.0507009873554804934 * (v > 0 ? v : 1.6732632423543772848 * std::expm1(v));
      default: return 0.5 * v * (1 + std::erf(v * 0.70710678118654752440));  // gelu (erf form)
    }
  }
};

// ---------------------------------------------------------------- optimizer updates

// MXNet's update rules, one element at a time. w is the weight read, the return value the new
// weight; state s1 (mom / mean / n) and s2 (var) are updated in place. g is the raw gradient:
// rescaled, clipped (clip >= 0) and decayed here.
enum OptimizerFn : int { kSgd, kSgdMom, kAdam, kRmsprop };

template <typename T>
struct OptimizerHyper {
  int kind;
  T lr, wd, rescale, clip, momentum, beta1, beta2, eps, gamma1, clip_weights;
};

template <typename T>
MX_HD inline T clamp_abs(T v, T bound) {
  return v < -bound ? -bound : (v > bound ? bound : v);
}

template <typename T>
MX_HD inline T optimizer_step(const OptimizerHyper<T>& h, T w, T g, T* s1, T* s2) {
  T gr = h.rescale * g;
  if (h.clip >= T(0)) gr = clamp_abs(gr, h.clip);
  switch (h.kind) {
    case kSgd: return w - h.lr * (gr + h.wd * w);
    case kSgdMom:
      *s1 = h.momentum * *s1 - h.lr * (gr + h.wd * w);
      return w + *s1;
    case kAdam:
      gr += h.wd * w;
      *s1 = h.beta1 * *s1 + (T(1) - h.beta1) * gr;
      *s2 = h.beta2 * *s2 + (T(1) - h.beta2) * gr * gr;
      return w - h.lr * *s1 / (std::sqrt(*s2) + h.eps);
    default: {  // rmsprop
      gr += h.wd * w;
      *s1 = (T(1) - h.gamma1) * gr * gr + h.gamma1 * *s1;
      const T v = w - h.lr * gr / std::sqrt(*s1 + h.eps);
      return h.clip_weights >= T(0) ? clamp_abs(v, h.clip_weights) : v;
    }
  }
}

}  // namespace mx_impl
