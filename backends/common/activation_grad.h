// The one-pass gradient of the activations (_backward_Activation, core/op/defs/activation.cc):
// og * f'(x) from the incoming gradient og, the input x and the forward output y = f(x), written
// once for the CPU and CUDA kernels. The local derivatives are the composite ones they replace:
// sigmoid and tanh from y (pure arithmetic, so the CPU loop vectorises), the others from x. The
// derivative is computed in Elem<S>::C and rounded once (the composite rounded every step).
#pragma once

#include <cmath>
#include <cstring>
#include <type_traits>

#include "functors.h"
#include "hd.h"

namespace mx_impl {

// F: the act_type as a UnaryFn (kRelu, kSigmoid, kTanh, kSoftrelu, kSoftsign, kLogSigmoid, kMish).
template <int F>
struct ActGrad {
  template <typename C>
  MX_HD C operator()(C og, C x, C y) const {
    if constexpr (F == kRelu) {
      // A select, not og * (x > 0): GCC turns that product into a branch (og * 1 is og), which
      // mispredicts on every sign change and blocks vectorising. As torch's threshold_backward,
      // a NaN or inf og where x <= 0 gives 0.
      return x > C(0) ? og : C(0);
    } else if constexpr (std::is_floating_point_v<C>) {
      if constexpr (F == kSigmoid) return og * (y * (C(1) - y));
      if constexpr (F == kTanh) return og * (C(1) - y * y);
      if constexpr (F == kSoftrelu) return og * Unary<kSigmoid>{}(x);
      if constexpr (F == kLogSigmoid) return og * Unary<kSigmoid>{}(-x);  // 1 - sigmoid(x), no cancellation
      if constexpr (F == kSoftsign) {
        const C d = C(1) + std::fabs(x);
        return og / (d * d);
      }
      if constexpr (F == kMish) {  // tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2), sp = softplus(x)
        const C t = std::tanh(x > C(20) ? x : std::log1p(std::exp(x)));
        return og * (t + x * Unary<kSigmoid>{}(x) * (C(1) - t * t));
      }
    }
    return og;  // not reached: integer dtypes are relu only (the schema checks)
  }
};

// Calls f(std::integral_constant<int, F>) for an act_type name; false for an unknown one.
template <typename Fn>
bool dispatch_act(const char* act, Fn&& f) {
  auto is = [act](const char* name) { return std::strcmp(act, name) == 0; };
  if (is("relu")) return f(std::integral_constant<int, kRelu>{}), true;
  if (is("sigmoid")) return f(std::integral_constant<int, kSigmoid>{}), true;
  if (is("tanh")) return f(std::integral_constant<int, kTanh>{}), true;
  if (is("softrelu")) return f(std::integral_constant<int, kSoftrelu>{}), true;
  if (is("softsign")) return f(std::integral_constant<int, kSoftsign>{}), true;
  if (is("log_sigmoid")) return f(std::integral_constant<int, kLogSigmoid>{}), true;
  if (is("mish")) return f(std::integral_constant<int, kMish>{}), true;
  return false;
}

}  // namespace mx_impl
