#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {

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

void same_type(const InferArgs& a, std::vector<int32_t>& out) {
  for (size_t i = 1; i < a.in_dtypes.size(); ++i)
    if (a.in_dtypes[i] != a.in_dtypes[0])
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": dtypes of inputs differ: ", dtype_info(a.in_dtypes[0]).name, " vs ",
           dtype_info(a.in_dtypes[i]).name);
  out = {a.in_dtypes[0]};
}

void unary_shape(const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; }

void binary(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc + " Both inputs must have the same shape and dtype.";
  s.inputs = {"lhs", "rhs"};
  s.dtypes = numeric_dtypes();
  s.infer_shape = same_shape;
  s.infer_type = same_type;
  r.add(std::move(s));
}

void scalar(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc;
  s.inputs = {"data"};
  s.params = {param_float("scalar", "1", "scalar operand"),
              param_bool("is_int", "True", "accepted for MXNet compatibility; the scalar's value decides")};
  s.dtypes = numeric_dtypes();
  s.infer_shape = unary_shape;
  s.infer_type = same_type;
  r.add(std::move(s));
}

}  // namespace

void register_elemwise(Registry& r) {
  binary(r, "elemwise_add", {"_add", "_plus", "_Plus"}, "out = lhs + rhs, elementwise.");
  binary(r, "elemwise_sub", {"_sub", "_minus", "_Minus"}, "out = lhs - rhs, elementwise.");
  binary(r, "elemwise_mul", {"_mul", "_Mul"}, "out = lhs * rhs, elementwise.");
  binary(r, "elemwise_div", {"_div", "_Div"}, "out = lhs / rhs, elementwise (integer division truncates).");
  scalar(r, "_plus_scalar", {"_PlusScalar"}, "out = data + scalar.");
  scalar(r, "_minus_scalar", {"_MinusScalar"}, "out = data - scalar.");
  scalar(r, "_rminus_scalar", {"_RMinusScalar"}, "out = scalar - data.");
  scalar(r, "_mul_scalar", {"_MulScalar"}, "out = data * scalar.");
  scalar(r, "_div_scalar", {"_DivScalar"}, "out = data / scalar.");
  scalar(r, "_rdiv_scalar", {"_RDivScalar"}, "out = scalar / data.");

  OpSchema c;
  c.name = "_copy";
  c.aliases = {"identity"};
  c.doc = "out = data (a copy on the same device).";
  c.inputs = {"data"};
  c.infer_shape = unary_shape;
  c.infer_type = same_type;
  r.add(std::move(c));
}

}  // namespace mx::op
