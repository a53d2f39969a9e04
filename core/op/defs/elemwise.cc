#include <algorithm>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {

void shape_from_attrs(const InferArgs& a, std::vector<Shape>& out) {
  Shape s = a.attrs.shape("shape");
  const int32_t t = a.attrs.dtype("dtype");
  const uint64_t eb = dtype_info(t < 0 ? MX_FLOAT32 : t).bytes;
  if (!shape_ok(s, eb)) check_shape(s, a.op.name, eb);
  // In a graph a 0 dim is unknown and inferred from the rest (MXNet's zeros((0, H)) as an RNN's
  // begin state, whose batch comes from the data); imperatively it makes a zero-size array.
  out = {a.symbolic ? zeros_unknown(std::move(s)) : std::move(s)};
}

void same_dtype(const InferArgs& a, std::vector<int32_t>& out) {
  for (size_t i = 1; i < a.in_dtypes.size(); ++i)
    if (a.in_dtypes[i] != a.in_dtypes[0])
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": input '", a.op.inputs[std::min(i, a.op.inputs.size() - 1)], "' is ",
           dtype_info(a.in_dtypes[i]).name, " but '", a.op.inputs[0], "' is ", dtype_info(a.in_dtypes[0]).name);
  out = {a.in_dtypes[0]};
}

void same_input_shapes(const Attrs&, std::vector<std::optional<Shape>>& in) {
  for (const auto& s : in)
    if (s) {
      for (auto& t : in)
        if (!t) t = s;
      return;
    }
}

std::string input_label(const OpSchema& op, size_t i) {
  return "input " + std::to_string(i) + " '" + (op.inputs.empty() ? "data" : op.inputs[std::min(i, op.inputs.size() - 1)]) + "'";
}

namespace {

// One shape for inputs [0, num_in) and every output.
void one_shape(const PartialInferArgs& a, size_t num_in) {
  PartialShape s;
  for (size_t i = 0; i < num_in; ++i) unify(s, a.in[i], a.op.name, input_label(a.op, i), "the shape of the inputs before it");
  for (size_t o = 0; o < a.out.size(); ++o)
    unify(s, a.out[o], a.op.name, "output " + std::to_string(o), "the inputs' shape");
  for (size_t i = 0; i < num_in; ++i) a.in[i] = s;
  for (PartialShape& o : a.out) o = s;
}

}  // namespace

void same_shape_partial(const PartialInferArgs& a) { one_shape(a, a.in.size()); }
void first_input_shape_partial(const PartialInferArgs& a) { one_shape(a, std::min<size_t>(1, a.in.size())); }

const std::vector<int32_t>& float_dtypes() {
  static const std::vector<int32_t> v = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  return v;
}

void first_type(const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; }

int axis_of(const std::string& op, int64_t axis, size_t ndim) {
  const int64_t a = axis < 0 ? axis + int64_t(ndim) : axis;
  if (a < 0 || a >= int64_t(ndim)) fail(MX_ERR_INVALID_ARGUMENT, op, ": axis ", axis, " is out of range for ", ndim, " dims");
  return int(a);
}

ParamSpec num_args() {
  return param_required(with_range(param_int("num_args", "", "number of inputs"), 1, double(kMaxArity)));
}

const std::vector<int32_t>& numeric_dtypes() {
  static const std::vector<int32_t> v = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16,
                                         MX_UINT8,   MX_INT8,    MX_INT32,   MX_INT64};
  return v;
}

namespace {

void same_shape(const InferArgs& a, std::vector<Shape>& out) {
  if (a.in_shapes[0] != a.in_shapes[1])
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": shapes of lhs ", shape_str(a.in_shapes[0]), " and rhs ",
         shape_str(a.in_shapes[1]), " differ (use broadcast_* ops to broadcast)");
  out = {a.in_shapes[0]};
}


void unary_shape(const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; }

using GradFn = std::function<std::vector<GradValue>(const GradArgs&)>;

void binary(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc,
            GradFn grad) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc + " Both inputs must have the same shape and dtype.";
  s.inputs = {"lhs", "rhs"};
  s.dtypes = numeric_dtypes();
  s.infer_input_shapes = same_input_shapes;
  s.inplace = {{0, 0}, {1, 0}};
  s.infer_shape = same_shape;
  s.infer_type = same_dtype;
  s.gradient = std::move(grad);
  r.add(std::move(s));
}

void scalar(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc,
            GradFn grad) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc;
  s.inputs = {"data"};
  s.params = {any_float(param_float("scalar", "1", "scalar operand")),
              param_bool("is_int", "True", "accepted for MXNet compatibility; the scalar's value decides")};
  s.dtypes = numeric_dtypes();
  s.inplace = {{0, 0}};
  s.infer_shape = unary_shape;
  s.infer_type = same_dtype;
  s.gradient = std::move(grad);
  r.add(std::move(s));
}

}  // namespace

void register_elemwise(Registry& r) {
  binary(r, "elemwise_add", {"_add", "_plus", "_Plus"}, "out = lhs + rhs, elementwise.",
         [](const GradArgs& a) { return std::vector<GradValue>{a.out_grads[0], a.out_grads[0]}; });
  binary(r, "elemwise_sub", {"_sub", "_minus", "_Minus"}, "out = lhs - rhs, elementwise.", [](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{a.out_grads[0], d.neg(a.out_grads[0])};
  });
  binary(r, "elemwise_mul", {"_mul", "_Mul"}, "out = lhs * rhs, elementwise.", [](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{d.mul(a.out_grads[0], a.inputs[1]), d.mul(a.out_grads[0], a.inputs[0])};
  });
  binary(r, "elemwise_div", {"_div", "_Div"}, "out = lhs / rhs, elementwise (integer division truncates).",
         [](const GradArgs& a) {
           Grad d{a.g};
           const GradValue og = a.out_grads[0], rhs = a.inputs[1];
           // d/drhs (lhs / rhs) = -out / rhs
           return std::vector<GradValue>{d.div(og, rhs), d.neg(d.div(d.mul(og, a.outputs[0]), rhs))};
         });
  auto pass = [](const GradArgs& a) { return std::vector<GradValue>{a.out_grads[0]}; };
  auto negate = [](const GradArgs& a) { return std::vector<GradValue>{Grad{a.g}.neg(a.out_grads[0])}; };
  auto by_scalar = [](const char* op) {
    return [op](const GradArgs& a) {
      return std::vector<GradValue>{Grad{a.g}.scalar(op, a.out_grads[0], a.attrs.f("scalar"))};
    };
  };
  scalar(r, "_plus_scalar", {"_PlusScalar"}, "out = data + scalar.", pass);
  scalar(r, "_minus_scalar", {"_MinusScalar"}, "out = data - scalar.", pass);
  scalar(r, "_rminus_scalar", {"_RMinusScalar"}, "out = scalar - data.", negate);
  scalar(r, "_mul_scalar", {"_MulScalar"}, "out = data * scalar.", by_scalar("_mul_scalar"));
  scalar(r, "_div_scalar", {"_DivScalar"}, "out = data / scalar.", by_scalar("_div_scalar"));
  scalar(r, "_rdiv_scalar", {"_RDivScalar"}, "out = scalar / data.", [](const GradArgs& a) {
    Grad d{a.g};  // d(s / x) = -out / x
    return std::vector<GradValue>{d.neg(d.div(d.mul(a.out_grads[0], a.outputs[0]), a.inputs[0]))};
  });

  OpSchema c;
  c.name = "_copy";
  c.aliases = {"identity"};
  c.doc = "out = data (a copy on the same device).";
  c.inputs = {"data"};
  c.inplace = {{0, 0}};
  c.infer_shape = unary_shape;
  c.infer_type = same_dtype;
  c.gradient = pass;
  r.add(std::move(c));
  {
    OpSchema s;
    s.name = "Cast";
    s.aliases = {"cast"};
    s.doc = "Converts to another dtype.";
    s.inputs = {"data"};
    s.params = {param_required(param_dtype("dtype", "", "target dtype"))};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
    s.infer_shape_partial = same_shape_partial;
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.attrs.dtype("dtype")}; };
    s.gradient = [](const GradArgs& a) {
      // back to the input's dtype, read off the saved input through a zeros_like-free path
      return std::vector<GradValue>{a.g.call("_cast_like", {a.out_grads[0], a.inputs[0]})};
    };
    r.add(std::move(s));
    OpSchema c;
    c.name = "_cast_like";
    c.doc = "Converts lhs to the dtype of rhs (Cast's gradient).";
    c.inputs = {"lhs", "rhs"};
    c.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
    c.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[1]}; };
    c.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_cast_like", {a.out_grads[0], a.inputs[0]}), kNoGrad};
    };
    r.add(std::move(c));
  }
  {
    OpSchema s;
    s.name = "BlockGrad";
    s.aliases = {"stop_gradient"};
    s.doc = "Identity whose gradient is zero.";
    s.inputs = {"data"};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
    s.infer_shape_partial = same_shape_partial;
    s.infer_type = first_type;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "add_n";
    s.aliases = {"ElementWiseSum"};
    s.doc = "Sum of num_args arrays of one shape.";
    s.inputs = {"args"};
    s.params = {num_args()};
    s.num_inputs = [](const Attrs& a) { return size_t(a.i("num_args")); };
    s.dtypes = numeric_dtypes();
    s.infer_input_shapes = same_input_shapes;
    s.infer_shape_partial = same_shape_partial;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      for (size_t i = 1; i < a.in_shapes.size(); ++i)
        if (a.in_shapes[i] != a.in_shapes[0])
          fail(MX_ERR_SHAPE_MISMATCH, "add_n: input ", i, " is ", shape_str(a.in_shapes[i]), " but input 0 is ",
               shape_str(a.in_shapes[0]));
      out = {a.in_shapes[0]};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      for (size_t i = 1; i < a.in_dtypes.size(); ++i)
        if (a.in_dtypes[i] != a.in_dtypes[0]) fail(MX_ERR_SHAPE_MISMATCH, "add_n: inputs must share one dtype");
      out = {a.in_dtypes[0]};
    };
    s.gradient = [](const GradArgs& a) { return std::vector<GradValue>(a.inputs.size(), a.out_grads[0]); };
    r.add(std::move(s));
  }
}

}  // namespace mx::op
