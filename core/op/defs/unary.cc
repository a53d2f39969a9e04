// The unary family: elementwise math (relu … erf, log_sigmoid, mish), the scalar comparisons, the
// scalar mod / power / maximum / minimum / logical ops, clip. Each gradient is written in terms of
// differentiable ops, so gradients of gradients exist wherever the math has them.
#include <cmath>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

constexpr double kTwoOverSqrtPi = 1.1283791670955125739;

void same_shape(const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; }

using GradFn = std::function<std::vector<GradValue>(const GradArgs&)>;

// Gradient og * f(x, y) where f builds the local derivative from input x and output y.
GradFn chain(std::function<GradValue(Grad&, GradValue x, GradValue y)> local) {
  return [local](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{d.mul(a.out_grads[0], local(d, a.inputs[0], a.outputs[0]))};
  };
}

GradFn act_grad(const char* act) {
  return [act](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{backward_activation(d, act, a.out_grads[0], a.inputs[0], a.outputs[0])};
  };
}

void unary(Registry& r, const std::string& name, const std::string& doc, const std::vector<int32_t>& dtypes,
           GradFn grad, std::vector<std::string> aliases = {}) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc;
  s.inputs = {"data"};
  s.dtypes = dtypes;
  s.inplace = {{0, 0}};
  s.infer_shape = same_shape;
  s.infer_type = same_dtype;
  s.gradient = std::move(grad);
  r.add(std::move(s));
}

}  // namespace

// mish' = tanh(sp) + x sigmoid(x) (1 - tanh(sp)^2) with sp = softplus(x) = -log_sigmoid(-x), as MXNet's
// mish_grad; every term stays finite for large |x|
GradValue mish_derivative(Grad& d, GradValue x) {
  const GradValue t = d.op("tanh", {d.neg(d.op("log_sigmoid", {d.neg(x)}))});
  const GradValue dt = d.scalar("_rminus_scalar", d.op("square", {t}), 1);  // 1 - t^2
  return d.op("elemwise_add", {t, d.mul(d.mul(x, d.op("sigmoid", {x})), dt)});
}

void register_unary(Registry& r) {
  const auto& fl = float_dtypes();
  const auto& num = numeric_dtypes();
  // The activations' gradients are Activation's one-pass _backward_Activation (activation.cc).
  unary(r, "relu", "max(x, 0).", num, act_grad("relu"));
  unary(r, "sigmoid", "1 / (1 + exp(-x)).", fl, act_grad("sigmoid"));
  unary(r, "tanh", "Hyperbolic tangent.", fl, act_grad("tanh"));
  unary(r, "softsign", "x / (1 + |x|).", fl, act_grad("softsign"));
  unary(r, "log_sigmoid", "log(1 / (1 + exp(-x))), computed as -softplus(-x) (no overflow for large |x|).", fl,
        act_grad("log_sigmoid"));
  unary(r, "mish", "x * tanh(softplus(x)), softplus(x) = log(1 + exp(x)).", fl,
        chain([](Grad& d, GradValue x, GradValue) { return mish_derivative(d, x); }));
  unary(r, "exp", "e^x.", fl, chain([](Grad&, GradValue, GradValue y) { return y; }));
  unary(r, "log", "Natural logarithm.", fl, [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.div(a.out_grads[0], a.inputs[0])};
  });
  unary(r, "log1p", "log(1 + x).", fl, [](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{d.div(a.out_grads[0], d.scalar("_plus_scalar", a.inputs[0], 1))};
  });
  unary(r, "expm1", "exp(x) - 1.", fl, chain([](Grad& d, GradValue, GradValue y) { return d.scalar("_plus_scalar", y, 1); }));
  unary(r, "sqrt", "Square root.", fl, [](const GradArgs& a) {
    Grad d{a.g};  // 1 / (2 y)
    return std::vector<GradValue>{d.div(a.out_grads[0], d.scalar("_mul_scalar", a.outputs[0], 2))};
  });
  unary(r, "rsqrt", "1 / sqrt(x).", fl, chain([](Grad& d, GradValue, GradValue y) {
          return d.scalar("_mul_scalar", d.mul(d.op("square", {y}), y), -0.5);  // -y^3 / 2
        }));
  unary(r, "square", "x^2.", num, chain([](Grad& d, GradValue x, GradValue) { return d.scalar("_mul_scalar", x, 2); }));
  unary(r, "abs", "|x|.", num, chain([](Grad& d, GradValue x, GradValue) { return d.op("sign", {x}); }));
  unary(r, "sign", "-1, 0 or 1.", num, no_gradient);
  unary(r, "negative", "-x.", num, [](const GradArgs& a) { return std::vector<GradValue>{Grad{a.g}.neg(a.out_grads[0])}; });
  unary(r, "reciprocal", "1 / x.", fl, chain([](Grad& d, GradValue, GradValue y) {
          return d.neg(d.op("square", {y}));  // -1 / x^2
        }));
  unary(r, "floor", "Largest integer not above x.", fl, no_gradient);
  unary(r, "ceil", "Smallest integer not below x.", fl, no_gradient);
  unary(r, "round", "Nearest integer, halves away from zero.", fl, no_gradient);
  unary(r, "sin", "Sine.", fl, chain([](Grad& d, GradValue x, GradValue) { return d.op("cos", {x}); }));
  unary(r, "cos", "Cosine.", fl, chain([](Grad& d, GradValue x, GradValue) { return d.neg(d.op("sin", {x})); }));
  unary(r, "erf", "Gauss error function.", fl, chain([](Grad& d, GradValue x, GradValue) {
          return d.scalar("_mul_scalar", d.op("exp", {d.neg(d.op("square", {x}))}), kTwoOverSqrtPi);
        }));

  // Comparisons with a scalar: 1 where true, 0 elsewhere, in the input's dtype.
  struct Cmp {
    const char* name;
    const char* alias;
    const char* doc;
  } cmps[] = {{"_greater_scalar", "_GreaterScalar", "x > scalar"},
              {"_greater_equal_scalar", "_GreaterEqualScalar", "x >= scalar"},
              {"_lesser_scalar", "_LesserScalar", "x < scalar"},
              {"_lesser_equal_scalar", "_LesserEqualScalar", "x <= scalar"},
              {"_equal_scalar", "_EqualScalar", "x == scalar"},
              {"_not_equal_scalar", "_NotEqualScalar", "x != scalar"}};
  for (const Cmp& c : cmps) {
    OpSchema s;
    s.name = c.name;
    s.aliases = {c.alias};
    s.doc = std::string(c.doc) + ", as 1 or 0 in the input's dtype.";
    s.inputs = {"data"};
    s.params = {any_float(param_float("scalar", "1", "scalar operand"))};
    s.dtypes = num;
    s.inplace = {{0, 0}};
    s.infer_shape = same_shape;
    s.infer_type = same_dtype;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }

  // Scalar forms of mod, power, maximum, minimum and the logical ops.
  auto scalar_op = [&](const char* name, const char* doc, const std::vector<int32_t>& dtypes, GradFn grad) {
    OpSchema s;
    s.name = name;
    s.doc = doc;
    s.inputs = {"data"};
    s.params = {any_float(param_float("scalar", "1", "scalar operand"))};
    s.dtypes = dtypes;
    s.inplace = {{0, 0}};
    s.infer_shape = same_shape;
    s.infer_type = same_dtype;
    s.gradient = std::move(grad);
    r.add(std::move(s));
  };
  auto og_times = [](std::function<GradValue(Grad&, const GradArgs&)> local) {
    return [local](const GradArgs& a) {
      Grad d{a.g};
      return std::vector<GradValue>{d.mul(a.out_grads[0], local(d, a))};
    };
  };
  scalar_op("_mod_scalar", "x mod scalar, with the sign of scalar.", num,
            [](const GradArgs& a) { return std::vector<GradValue>{a.out_grads[0]}; });
  scalar_op("_rmod_scalar", "scalar mod x, with the sign of x.", num, og_times([](Grad& d, const GradArgs& a) {
              return d.neg(d.op("floor", {d.scalar("_rdiv_scalar", a.inputs[0], a.attrs.f("scalar"))}));
            }));
  scalar_op("_power_scalar", "x ** scalar.", fl, og_times([](Grad& d, const GradArgs& a) {
              const double p = a.attrs.f("scalar");
              return d.scalar("_mul_scalar", d.scalar("_power_scalar", a.inputs[0], p - 1), p);
            }));
  scalar_op("_rpower_scalar", "scalar ** x.", fl, og_times([](Grad& d, const GradArgs& a) {
              return d.scalar("_mul_scalar", a.outputs[0], std::log(a.attrs.f("scalar")));
            }));
  scalar_op("_maximum_scalar", "max(x, scalar).", num, og_times([](Grad& d, const GradArgs& a) {
              return d.scalar("_greater_equal_scalar", a.inputs[0], a.attrs.f("scalar"));
            }));
  scalar_op("_minimum_scalar", "min(x, scalar).", num, og_times([](Grad& d, const GradArgs& a) {
              return d.scalar("_lesser_equal_scalar", a.inputs[0], a.attrs.f("scalar"));
            }));
  scalar_op("_logical_and_scalar", "x and scalar, as 1 or 0.", num, no_gradient);
  scalar_op("_logical_or_scalar", "x or scalar, as 1 or 0.", num, no_gradient);
  scalar_op("_logical_xor_scalar", "x xor scalar, as 1 or 0.", num, no_gradient);

  OpSchema clip;
  clip.name = "clip";
  clip.doc = "min(max(x, a_min), a_max).";
  clip.inputs = {"data"};
  clip.params = {param_required(any_float(param_float("a_min", "", "lower bound (-inf: none)"))),
                 param_required(any_float(param_float("a_max", "", "upper bound (inf: none)")))};
  clip.dtypes = num;
  clip.inplace = {{0, 0}};  // elementwise, like the other unary ops (clip(w, out=w) in optimizers)
  clip.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.attrs.f("a_min") > a.attrs.f("a_max"))
      fail(MX_ERR_INVALID_ARGUMENT, "clip: a_min ", a.attrs.str("a_min"), " is greater than a_max ", a.attrs.str("a_max"));
    out = {a.in_shapes[0]};
  };
  clip.infer_type = same_dtype;
  clip.gradient = og_times([](Grad& d, const GradArgs& a) {
    return d.mul(d.scalar("_greater_equal_scalar", a.inputs[0], a.attrs.f("a_min")),
                 d.scalar("_lesser_equal_scalar", a.inputs[0], a.attrs.f("a_max")));
  });
  r.add(std::move(clip));
}

}  // namespace mx::op
