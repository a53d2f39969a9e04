// The math family: extra elementwise math (tan … trunc, logical_not, hypot, hard_sigmoid, smooth_l1,
// the isinf / isnan / isfinite tests), softmin, nanprod, all_finite / multi_all_finite and the AMP
// casts. Gradients are graphs of differentiable ops where the math allows (so gradients of
// gradients exist); gamma and gammaln need digamma, which only the gradient-only op
// _backward_gammaln computes.
#include <cmath>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

constexpr double kPi = 3.14159265358979323846;

using GradFn = std::function<std::vector<GradValue>(const GradArgs&)>;

bool is_float(int32_t t) { return t == MX_FLOAT32 || t == MX_FLOAT64 || t == MX_FLOAT16 || t == MX_BFLOAT16; }

void same_shape(const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; }

// og * local(x, y).
GradFn chain(std::function<GradValue(Grad&, GradValue x, GradValue y)> local) {
  return [local](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{d.mul(a.out_grads[0], local(d, a.inputs[0], a.outputs[0]))};
  };
}

// og / local(x, y).
GradFn chain_div(std::function<GradValue(Grad&, GradValue x, GradValue y)> local) {
  return [local](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{d.div(a.out_grads[0], local(d, a.inputs[0], a.outputs[0]))};
  };
}

OpSchema elementwise(const std::string& name, const std::string& doc, const std::vector<int32_t>& dtypes, GradFn grad) {
  OpSchema s;
  s.name = name;
  s.doc = doc;
  s.inputs = {"data"};
  s.dtypes = dtypes;
  s.inplace = {{0, 0}};
  s.infer_shape = same_shape;
  s.infer_type = same_dtype;
  s.gradient = std::move(grad);
  return s;
}

void unary(Registry& r, const std::string& name, const std::string& doc, const std::vector<int32_t>& dtypes, GradFn grad) {
  r.add(elementwise(name, doc, dtypes, std::move(grad)));
}

GradValue sq(Grad& d, GradValue v) { return d.op("square", {v}); }

void register_unary_math(Registry& r) {
  const auto& fl = float_dtypes();
  const auto& num = numeric_dtypes();
  unary(r, "tan", "Tangent.", fl, chain([](Grad& d, GradValue, GradValue y) { return d.scalar("_plus_scalar", sq(d, y), 1); }));
  unary(r, "arcsin", "Inverse sine, in [-pi/2, pi/2].", fl, chain_div([](Grad& d, GradValue x, GradValue) {
          return d.op("sqrt", {d.scalar("_rminus_scalar", sq(d, x), 1)});  // sqrt(1 - x^2)
        }));
  unary(r, "arccos", "Inverse cosine, in [0, pi].", fl, [](const GradArgs& a) {
    Grad d{a.g};
    const GradValue den = d.op("sqrt", {d.scalar("_rminus_scalar", sq(d, a.inputs[0]), 1)});
    return std::vector<GradValue>{d.neg(d.div(a.out_grads[0], den))};
  });
  unary(r, "arctan", "Inverse tangent.", fl,
        chain_div([](Grad& d, GradValue x, GradValue) { return d.scalar("_plus_scalar", sq(d, x), 1); }));
  unary(r, "sinh", "Hyperbolic sine.", fl, chain([](Grad& d, GradValue x, GradValue) { return d.op("cosh", {x}); }));
  unary(r, "cosh", "Hyperbolic cosine.", fl, chain([](Grad& d, GradValue x, GradValue) { return d.op("sinh", {x}); }));
  unary(r, "arcsinh", "Inverse hyperbolic sine.", fl, chain_div([](Grad& d, GradValue x, GradValue) {
          return d.op("sqrt", {d.scalar("_plus_scalar", sq(d, x), 1)});
        }));
  unary(r, "arccosh", "Inverse hyperbolic cosine (x >= 1).", fl, chain_div([](Grad& d, GradValue x, GradValue) {
          return d.op("sqrt", {d.scalar("_minus_scalar", sq(d, x), 1)});
        }));
  unary(r, "arctanh", "Inverse hyperbolic tangent (|x| < 1).", fl,
        chain_div([](Grad& d, GradValue x, GradValue) { return d.scalar("_rminus_scalar", sq(d, x), 1); }));
  unary(r, "log10", "Base-10 logarithm.", fl,
        chain_div([](Grad& d, GradValue x, GradValue) { return d.scalar("_mul_scalar", x, std::log(10.0)); }));
  unary(r, "log2", "Base-2 logarithm.", fl,
        chain_div([](Grad& d, GradValue x, GradValue) { return d.scalar("_mul_scalar", x, std::log(2.0)); }));
  unary(r, "cbrt", "Cube root.", fl,
        chain_div([](Grad& d, GradValue, GradValue y) { return d.scalar("_mul_scalar", sq(d, y), 3); }));
  unary(r, "rcbrt", "1 / cbrt(x).", fl, chain([](Grad& d, GradValue, GradValue y) {
          return d.scalar("_mul_scalar", sq(d, sq(d, y)), -1.0 / 3);  // -y^4 / 3
        }));
  unary(r, "erfinv", "Inverse error function.", fl, chain([](Grad& d, GradValue, GradValue y) {
          return d.scalar("_mul_scalar", d.op("exp", {sq(d, y)}), std::sqrt(kPi) / 2);
        }));
  unary(r, "gamma", "Gamma function.", fl, [](const GradArgs& a) {  // gamma(x) psi(x)
    Grad d{a.g};
    return std::vector<GradValue>{d.op("_backward_gammaln", {d.mul(a.out_grads[0], a.outputs[0]), a.inputs[0]})};
  });
  unary(r, "gammaln", "log |gamma(x)|.", fl, [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("_backward_gammaln", {a.out_grads[0], a.inputs[0]})};
  });
  unary(r, "degrees", "Radians to degrees.", fl, [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.scalar("_mul_scalar", a.out_grads[0], 180 / kPi)};
  });
  unary(r, "radians", "Degrees to radians.", fl, [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.scalar("_mul_scalar", a.out_grads[0], kPi / 180)};
  });
  unary(r, "rint", "Nearest integer; a half goes to the lower one (MXNet's rint).", fl, no_gradient);
  unary(r, "fix", "Rounds towards zero.", fl, no_gradient);
  unary(r, "trunc", "Rounds towards zero.", fl, no_gradient);
  unary(r, "logical_not", "1 where x is 0, else 0, in the input's dtype.", num, no_gradient);
  unary(r, "_contrib_isinf", "1 where x is infinite, else 0, in the input's dtype.", num, no_gradient);
  unary(r, "_contrib_isnan", "1 where x is NaN, else 0, in the input's dtype.", num, no_gradient);
  unary(r, "_contrib_isfinite", "1 where x is finite, else 0, in the input's dtype.", num, no_gradient);

  OpSchema g;  // og * digamma(x)
  g.name = "_backward_gammaln";
  g.doc = "lhs * digamma(rhs): the gradient of gammaln (and, with lhs = og * gamma(x), of gamma).";
  g.inputs = {"lhs", "rhs"};
  g.dtypes = fl;
  g.infer_input_shapes = same_input_shapes;
  g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[0] != a.in_shapes[1])
      fail(MX_ERR_SHAPE_MISMATCH, "_backward_gammaln: lhs ", shape_str(a.in_shapes[0]), " and rhs ",
           shape_str(a.in_shapes[1]), " differ");
    out = {a.in_shapes[0]};
  };
  g.infer_type = same_dtype;
  // Linear in lhs; the derivative in rhs (trigamma) is not provided: second order of gamma and
  // gammaln is not available, as in MXNet.
  g.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("_backward_gammaln", {a.out_grads[0], a.inputs[1]}), kNoGrad};
  };
  r.add(std::move(g));
}

// hard_sigmoid, smooth_l1, _hypot, _hypot_scalar.
void register_parametric(Registry& r) {
  const auto& fl = float_dtypes();
  OpSchema hs = elementwise("hard_sigmoid", "max(0, min(1, alpha * x + beta)).", fl, [](const GradArgs& a) {
    Grad d{a.g};  // alpha inside (0, 1), 0 where clipped
    const GradValue y = a.outputs[0];
    const GradValue inside = d.mul(d.scalar("_greater_scalar", y, 0), d.scalar("_lesser_scalar", y, 1));
    return std::vector<GradValue>{d.mul(d.scalar("_mul_scalar", a.out_grads[0], a.attrs.f("alpha")), inside)};
  });
  hs.params = {param_float("alpha", "0.2", "slope"), param_float("beta", "0.5", "offset")};
  r.add(std::move(hs));

  OpSchema sl = elementwise(
      "smooth_l1", "0.5 (sigma x)^2 where |x| < 1 / sigma^2, else |x| - 0.5 / sigma^2 (sigma = scalar).", fl,
      [](const GradArgs& a) {
        Grad d{a.g};  // sigma^2 x inside, sign(x) outside: clip(sigma^2 x, -1, 1)
        const double s = a.attrs.f("scalar");
        const GradValue local = d.op("clip", {d.scalar("_mul_scalar", a.inputs[0], s * s)}, {{"a_min", "-1"}, {"a_max", "1"}});
        return std::vector<GradValue>{d.mul(a.out_grads[0], local)};
      });
  ParamSpec sigma = param_float("scalar", "1", "sigma");
  sigma.min = 1e-30;  // a zero sigma divides by zero
  sl.params = {sigma};
  r.add(std::move(sl));

  OpSchema hyp;
  hyp.name = "_hypot";
  hyp.aliases = {"hypot"};
  hyp.doc = "sqrt(lhs^2 + rhs^2), elementwise over two arrays of one shape.";
  hyp.inputs = {"lhs", "rhs"};
  hyp.dtypes = fl;
  hyp.inplace = {{0, 0}, {1, 0}};
  hyp.infer_input_shapes = same_input_shapes;
  hyp.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[0] != a.in_shapes[1])
      fail(MX_ERR_SHAPE_MISMATCH, "_hypot: lhs ", shape_str(a.in_shapes[0]), " and rhs ", shape_str(a.in_shapes[1]),
           " differ (use broadcast ops for broadcasting)");
    out = {a.in_shapes[0]};
  };
  hyp.infer_type = same_dtype;
  hyp.gradient = [](const GradArgs& a) {  // og * x / y, og * b / y
    Grad d{a.g};
    const GradValue t = d.div(a.out_grads[0], a.outputs[0]);
    return std::vector<GradValue>{d.mul(t, a.inputs[0]), d.mul(t, a.inputs[1])};
  };
  r.add(std::move(hyp));

  OpSchema hsc = elementwise("_hypot_scalar", "sqrt(x^2 + scalar^2).", fl, [](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{d.mul(d.div(a.out_grads[0], a.outputs[0]), a.inputs[0])};
  });
  hsc.params = {any_float(param_float("scalar", "1", "scalar operand"))};
  r.add(std::move(hsc));
}

// softmin(x) = softmax(-x / temperature) along axis; with use_length, positions at or past
// length[...] along the axis are 0.
void register_softmin(Registry& r) {
  OpSchema s;
  s.name = "softmin";
  s.doc = "exp(-x / T) / sum(exp(-x / T)) along axis; dtype: the output's (default the input's); use_length: a "
          "second input `length` (the shape of data without axis) masks positions >= length.";
  s.inputs = {"data", "length"};
  ParamSpec t = param_float("temperature", "1", "divides the input before the exponential");
  t.min = 1e-30;
  ParamSpec dtype = param_dtype("dtype", "None", "output dtype (None: the input's)");
  s.params = {param_axis("axis", "-1", "the axis to normalise over"), t, dtype,
              param_bool("use_length", "False", "take a second input with the valid length of each row")};
  s.num_inputs = [](const Attrs& a) { return size_t(a.b("use_length") ? 2 : 1); };
  // dtypes checked in infer_type: data floating, length any numeric dtype (int32 as in MXNet)
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& x = a.in_shapes[0];
    const int axis = axis_of("softmin", a.attrs.i("axis"), x.size());
    if (a.in_shapes.size() == 2) {
      Shape want;
      for (size_t i = 0; i < x.size(); ++i)
        if (int(i) != axis) want.push_back(x[i]);
      if (want.empty()) want.push_back(1);
      if (a.in_shapes[1] != want)
        fail(MX_ERR_SHAPE_MISMATCH, "softmin: length ", shape_str(a.in_shapes[1]), " must be ", shape_str(want),
             " (data ", shape_str(x), " without axis ", axis, ")");
    }
    out = {x};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    if (!is_float(a.in_dtypes[0]))
      fail(MX_ERR_UNSUPPORTED, "softmin: dtype ", dtype_info(a.in_dtypes[0]).name, " of input 'data' is not supported");
    if (a.in_dtypes.size() == 2 && a.in_dtypes[1] == MX_BOOL)
      fail(MX_ERR_UNSUPPORTED, "softmin: dtype bool of input 'length' is not supported");
    const int32_t t = a.attrs.dtype("dtype");
    if (t >= 0 && !is_float(t))
      fail(MX_ERR_INVALID_ARGUMENT, "softmin: dtype ", dtype_info(t).name, " is not a floating dtype");
    out = {t < 0 ? a.in_dtypes[0] : t};
  };
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};  // -y * (og - sum(og * y)) / T; masked positions have y = 0
    const int axis = axis_of("softmin", a.attrs.i("axis"), a.in_shapes[0].size());
    const std::vector<std::pair<std::string, std::string>> red = {{"axis", "(" + std::to_string(axis) + ",)"},
                                                                   {"keepdims", "True"}};
    const GradValue og = a.out_grads[0], y = a.outputs[0];
    GradValue g = d.mul(y, d.op("broadcast_sub", {og, d.op("sum", {d.mul(og, y)}, red)}));
    g = d.scalar("_div_scalar", g, -a.attrs.f("temperature"));
    if (!a.attrs.is_none("dtype")) g = d.op("_cast_like", {g, a.inputs[0]});
    std::vector<GradValue> grads{g};
    if (a.inputs.size() == 2) grads.push_back(kNoGrad);
    return grads;
  };
  r.add(std::move(s));
}

void register_nanprod(Registry& r) {
  OpSchema s;
  s.name = "nanprod";
  s.doc = "Product over axes, NaN counted as 1.";
  s.inputs = {"data"};
  s.params = {param_axes("axis", "None", "axes to reduce (None: all)"),
              param_bool("keepdims", "False", "keep reduced axes as size 1"),
              param_bool("exclude", "False", "reduce every axis except those in `axis`")};
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    out = {reduce_shape(a.in_shapes[0], reduced_axes("nanprod", a.in_shapes[0], a.attrs), a.attrs.b("keepdims"))};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {  // prod / x where x is not NaN, 0 at NaN
    Grad d{a.g};
    const GradValue x = a.inputs[0];
    const Shape kept = reduce_shape(a.in_shapes[0], reduced_axes("nanprod", a.in_shapes[0], a.attrs), true);
    const GradValue spread = d.op("broadcast_like", {reshape_to(d, d.mul(a.out_grads[0], a.outputs[0]), kept), x});
    const GradValue not_nan = d.op("_equal", {x, x});
    return std::vector<GradValue>{d.op("where", {not_nan, d.div(spread, x), d.op("zeros_like", {x})})};
  };
  r.add(std::move(s));
}

void register_finite_checks(Registry& r) {
  auto finite_type = [](const InferArgs&, std::vector<int32_t>& out) { out = {MX_FLOAT32}; };
  OpSchema s;
  s.name = "all_finite";
  s.doc = "(1,) float32: 1 if every element of data is finite, else 0; with init_output=False a finite input leaves "
          "the output as it was.";
  s.inputs = {"data"};
  s.params = {param_bool("init_output", "True", "set the output to 1 before checking")};
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs&, std::vector<Shape>& out) { out = {Shape{1}}; };
  s.infer_type = finite_type;
  s.gradient = no_gradient;
  r.add(std::move(s));

  OpSchema m;
  m.name = "multi_all_finite";
  m.doc = "(1,) float32: 1 if every element of all num_arrays inputs is finite, else 0.";
  m.inputs = {"data"};
  m.params = {with_range(param_int("num_arrays", "1", "number of inputs"), 1, double(kMaxArity)),
              param_bool("init_output", "True", "set the output to 1 before checking")};
  m.num_inputs = [](const Attrs& a) { return size_t(a.i("num_arrays")); };
  m.dtypes = float_dtypes();
  m.infer_shape = [](const InferArgs&, std::vector<Shape>& out) { out = {Shape{1}}; };
  m.infer_type = finite_type;
  m.gradient = no_gradient;
  r.add(std::move(m));
}

// AMP's casts: only floating inputs change dtype; integer inputs pass through.

// Rank of the float dtypes by width (bfloat16 and float16 both 16-bit; float16 is AMP's type).
int width_rank(int32_t t) {
  switch (t) {
    case MX_FLOAT64: return 3;
    case MX_FLOAT32: return 2;
    case MX_FLOAT16: return 1;
    default: return 0;  // bfloat16
  }
}

void register_amp(Registry& r) {
  OpSchema c;
  c.name = "amp_cast";
  c.doc = "Cast of floating inputs to dtype (integer inputs are returned unchanged); its gradient casts back.";
  c.inputs = {"data"};
  c.params = {param_required(param_dtype("dtype", "", "target floating dtype"))};
  c.infer_shape = same_shape;
  c.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    const int32_t t = a.attrs.dtype("dtype");
    if (!is_float(t)) fail(MX_ERR_INVALID_ARGUMENT, "amp_cast: dtype ", dtype_info(t).name, " is not a floating dtype");
    out = {is_float(a.in_dtypes[0]) ? t : a.in_dtypes[0]};
  };
  c.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{a.g.call("_cast_like", {a.out_grads[0], a.inputs[0]})};
  };
  r.add(std::move(c));

  OpSchema m;
  m.name = "amp_multicast";
  m.doc = "Casts every floating input to the widest (cast_narrow: the narrowest) floating dtype among them; "
          "integer inputs are returned unchanged. num_outputs inputs, as many outputs.";
  m.inputs = {"data"};
  m.params = {param_required(with_range(param_int("num_outputs", "", "number of inputs and outputs"), 1, double(kMaxArity))),
              param_bool("cast_narrow", "False", "cast to the narrowest floating dtype instead of the widest")};
  m.num_inputs = [](const Attrs& a) { return size_t(a.i("num_outputs")); };
  m.output_count = [](const Attrs& a) { return int(a.i("num_outputs")); };
  m.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = a.in_shapes; };
  m.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    const bool narrow = a.attrs.b("cast_narrow");
    int32_t target = -1;
    for (int32_t t : a.in_dtypes)
      if (is_float(t) && (target < 0 || (narrow ? width_rank(t) < width_rank(target) : width_rank(t) > width_rank(target))))
        target = t;
    out.clear();
    for (int32_t t : a.in_dtypes) out.push_back(is_float(t) ? target : t);
  };
  m.gradient = [](const GradArgs& a) {
    std::vector<GradValue> g;
    for (size_t i = 0; i < a.inputs.size(); ++i) g.push_back(a.g.call("_cast_like", {a.out_grads[i], a.inputs[i]}));
    return g;
  };
  r.add(std::move(m));
}

}  // namespace

void register_math(Registry& r) {
  register_unary_math(r);
  register_parametric(r);
  register_softmin(r);
  register_nanprod(r);
  register_finite_checks(r);
  register_amp(r);
}

}  // namespace mx::op
