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

// ---------------------------------------------------------------- binary (and scalar) ops

enum BinaryFn : int {
  kAdd, kSub, kMul, kDiv, kMod, kPow, kMax, kMin,
  kEq, kNe, kGt, kGe, kLt, kLe, kAnd, kOr, kXor,
  kRSub, kRDiv, kRMod, kRPow,  // reversed operands: f(a, b) = op(b, a) (the *_scalar "r" forms)
  kLhs,                        // a (broadcast_like)
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
    return a;
  }
};

// ---------------------------------------------------------------- unary ops

enum UnaryFn : int {
  kRelu, kSigmoid, kTanh, kSoftsign, kSoftrelu, kExp, kLog, kLog1p, kExpm1, kSqrt, kRsqrt, kSquare,
  kAbs, kSign, kNegative, kReciprocal, kFloor, kCeil, kRound, kSin, kCos, kErf, kIdentity,
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
    if constexpr (std::is_floating_point_v<C>) {
      if constexpr (F == kSigmoid) return C(1) / (C(1) + std::exp(-x));
      if constexpr (F == kTanh) return std::tanh(x);
      if constexpr (F == kSoftsign) return x / (C(1) + std::fabs(x));
      if constexpr (F == kSoftrelu) return x > C(20) ? x : std::log1p(std::exp(x));  // log(1 + e^x), no overflow
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
