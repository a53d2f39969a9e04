// Activation and its one-pass gradient _backward_Activation (MXNet's name): og * f'(x, y) from the
// incoming gradient, the input and the output, one kernel instead of the two or three elementwise
// passes of a composite gradient. The relu / sigmoid / tanh / softsign / log_sigmoid ops of the
// unary family (unary.cc) take their gradients from it too.
#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

ParamSpec act_type_param() {
  return {"act_type", ParamType::kEnum, "", true, -1e308, 1e308,
          {"relu", "sigmoid", "log_sigmoid", "mish", "softrelu", "softsign", "tanh"}, "the activation function"};
}

bool is_float(int32_t dtype) {
  for (int32_t f : float_dtypes())
    if (f == dtype) return true;
  return false;
}

// Gradients of _backward_Activation (gradients of gradients): the output is og * f'(x, y), so
// d/dog = gbar * f'(x, y) (the op again) and d/dx, d/dy = gbar * og * the partial of f' there.
// f' reads y for sigmoid and tanh (y stands for f(x): autograd chains its gradient through the
// forward op) and x for the others.
std::vector<GradValue> backward_activation_gradient(const GradArgs& a) {
  Grad d{a.g};
  const std::string& t = a.attrs.str("act_type");
  const GradValue gbar = a.out_grads[0], og = a.inputs[0], x = a.inputs[1], y = a.inputs[2];
  const GradValue d_og = d.op("_backward_Activation", {gbar, x, y}, {{"act_type", t}});
  if (t == "relu") return {d_og, kNoGrad, kNoGrad};  // f' is a step: 0 almost everywhere
  const GradValue h = d.mul(gbar, og);
  if (t == "sigmoid") return {d_og, kNoGrad, d.mul(h, d.scalar("_rminus_scalar", d.scalar("_mul_scalar", y, 2), 1))};  // 1 - 2y
  if (t == "tanh") return {d_og, kNoGrad, d.mul(h, d.scalar("_mul_scalar", y, -2))};
  if (t == "softrelu") {  // f' = s(x): f'' = s(x) s(-x)
    return {d_og, d.mul(h, d.mul(d.op("sigmoid", {x}), d.op("sigmoid", {d.neg(x)}))), kNoGrad};
  }
  if (t == "log_sigmoid") {  // f' = s(-x): f'' = -s(x) s(-x)
    return {d_og, d.neg(d.mul(h, d.mul(d.op("sigmoid", {x}), d.op("sigmoid", {d.neg(x)})))), kNoGrad};
  }
  if (t == "softsign") {  // f' = (1 + |x|)^-2: f'' = -2 sign(x) (1 + |x|)^-3
    const GradValue p = d.scalar("_plus_scalar", d.op("abs", {x}), 1);
    return {d_og, d.mul(h, d.scalar("_mul_scalar", d.div(d.op("sign", {x}), d.mul(d.op("square", {p}), p)), -2)), kNoGrad};
  }
  fail(MX_ERR_UNSUPPORTED, "_backward_Activation: no gradient for act_type ", t,
       " (Activation(act_type='mish') differentiates its composite gradient instead)");
}

}  // namespace

GradValue backward_activation(Grad& d, const std::string& act, GradValue og, GradValue x, GradValue y) {
  // relu's, sigmoid's and tanh's f' is a function of y alone (x > 0 iff y > 0): passing y for x
  // leaves x unread by the backward pass, so the forward may overwrite it in place.
  const bool from_y = act == "relu" || act == "sigmoid" || act == "tanh";
  return d.op("_backward_Activation", {og, from_y ? y : x, y}, {{"act_type", act}});
}

void register_activation(Registry& r) {
  OpSchema s;
  s.name = "Activation";
  s.doc = "Elementwise activation: relu, sigmoid, log_sigmoid, mish (x tanh(softrelu(x))), softrelu "
          "(log(1 + e^x)), softsign or tanh.";
  s.inputs = {"data"};
  s.params = {act_type_param()};
  s.dtypes = float_dtypes();
  s.inplace = {{0, 0}};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const std::string& t = a.attrs.str("act_type");
    const GradValue x = a.inputs[0], y = a.outputs[0], og = a.out_grads[0];
    // mish keeps its composite: its second derivative has no short form here
    if (t == "mish") return std::vector<GradValue>{d.mul(og, mish_derivative(d, x))};
    return std::vector<GradValue>{backward_activation(d, t, og, x, y)};
  };
  r.add(std::move(s));

  OpSchema b;
  b.name = "_backward_Activation";
  b.doc = "Gradient of Activation in one pass: out_grad * f'(data), f' from data or output = f(data) "
          "(relu, sigmoid and tanh read only output: their gradients pass it as data too).";
  b.inputs = {"out_grad", "data", "output"};
  b.params = {act_type_param()};
  b.dtypes = numeric_dtypes();  // integers for relu only (the relu op takes them)
  b.inplace = {{0, 0}};
  b.infer_input_shapes = same_input_shapes;
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    for (size_t i = 1; i < 3; ++i)
      if (a.in_shapes[i] != a.in_shapes[0])
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": ", input_label(a.op, i), " is ", shape_str(a.in_shapes[i]),
             " but out_grad is ", shape_str(a.in_shapes[0]));
    out = {a.in_shapes[0]};
  };
  b.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    same_dtype(a, out);
    if (a.attrs.str("act_type") != "relu" && !is_float(out[0]))
      fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": act_type ", a.attrs.str("act_type"), " needs a floating dtype, got ",
           dtype_info(out[0]).name);
  };
  b.gradient = backward_activation_gradient;
  r.add(std::move(b));
}

}  // namespace mx::op
