// Sorting ops: sort, argsort, topk (values, indices, a mask, or values and indices). The
// gradient of the value outputs sends each output gradient back to the position its value came
// from: topk is run again for the indices, and _topk_backward scatters along the axis.
#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

// The sorted axis of data (None: the flattened array), and its length.
std::pair<int, int64_t> sort_axis(const std::string& op, const Attrs& a, const Shape& d) {
  if (a.is_none("axis")) return {-1, shape_size(d)};
  const Shape ax = a.shape("axis");
  if (ax.size() != 1) fail(MX_ERR_INVALID_ARGUMENT, op, ": axis ", a.str("axis"), " must be one axis or None");
  const int64_t v = ax[0] < 0 ? ax[0] + int64_t(d.size()) : ax[0];
  if (v < 0 || v >= int64_t(d.size())) fail(MX_ERR_INVALID_ARGUMENT, op, ": axis ", ax[0], " is out of range for ", shape_str(d));
  return {int(v), d[size_t(v)]};
}

// Shape of data with the sorted axis cut to k (None: a flat (k,)).
Shape cut_shape(const Attrs& a, const Shape& d, int axis, int64_t k) {
  if (axis < 0) return Shape{k};
  Shape o = d;
  o[size_t(axis)] = k;
  return o;
}

int64_t topk_k(const Attrs& a, int64_t len) {
  const int64_t k = a.i("k");
  if (k > len) fail(MX_ERR_INVALID_ARGUMENT, "topk: k=", k, " is larger than the axis (", len, ")");
  return k < 1 ? len : k;  // MXNet: k < 1 sorts the whole axis
}

ParamSpec index_dtype(const std::string& def) {
  return {"dtype", ParamType::kEnum, def, false, -1e308, 1e308,
          {"float16", "float32", "float64", "int32", "int64", "uint8"}, "dtype of the returned indices"};
}

// Gradient of the values: og scattered to where topk found each value.
GradValue value_grad(const GradArgs& a, GradValue og, const std::string& k, bool ascend) {
  const GradValue idx = a.g.call("topk", {a.inputs[0]},
                                 {{"axis", a.attrs.str("axis")}, {"k", k}, {"ret_typ", "indices"},
                                  {"is_ascend", ascend ? "True" : "False"}, {"dtype", "int64"}});
  return a.g.call("_topk_backward", {og, idx, a.inputs[0]}, {{"axis", a.attrs.str("axis")}});
}

}  // namespace

void register_sorting(Registry& r) {
  {
    OpSchema s;
    s.name = "topk";
    s.doc = "The k largest (or smallest, is_ascend) elements along `axis` (None: of the flattened array): their "
            "values, indices, a 0/1 mask of their positions, or values and indices (ret_typ).";
    s.inputs = {"data"};
    s.params = {param_axes("axis", "-1", "the axis (None: flatten)"),
                param_int("k", "1", "how many elements (k < 1: all of them, sorted)"),
                {"ret_typ", ParamType::kEnum, "indices", false, -1e308, 1e308, {"value", "indices", "mask", "both"},
                 "what to return"},
                param_bool("is_ascend", "False", "the smallest instead of the largest"), index_dtype("float32")};
    s.dtypes = numeric_dtypes();
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& d = a.in_shapes[0];
      auto [axis, len] = sort_axis("topk", a.attrs, d);
      const Shape cut = cut_shape(a.attrs, d, axis, topk_k(a.attrs, len));
      const std::string& t = a.attrs.str("ret_typ");
      if (t == "mask") out = {d};
      else if (t == "both") out = {cut, cut};
      else out = {cut};
    };
    s.output_count = [](const Attrs& a) { return a.str("ret_typ") == "both" ? 2 : 1; };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      const std::string& t = a.attrs.str("ret_typ");
      const int32_t idx = dtype_from_name(a.attrs.str("dtype"));
      if (t == "indices") out = {idx};
      else if (t == "both") out = {a.in_dtypes[0], idx};
      else out = {a.in_dtypes[0]};
    };
    s.gradient = [](const GradArgs& a) {
      const std::string& t = a.attrs.str("ret_typ");
      if (t != "value" && t != "both") return std::vector<GradValue>{kNoGrad};  // indices and masks are constant
      return std::vector<GradValue>{value_grad(a, a.out_grads[0], a.attrs.str("k"), a.attrs.b("is_ascend"))};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "sort";
    s.doc = "Sorts along `axis` (None: the flattened array), ascending unless is_ascend is False.";
    s.inputs = {"data"};
    s.params = {param_axes("axis", "-1", "the axis (None: flatten)"), param_bool("is_ascend", "True", "ascending order")};
    s.dtypes = numeric_dtypes();
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      auto [axis, len] = sort_axis("sort", a.attrs, a.in_shapes[0]);
      out = {cut_shape(a.attrs, a.in_shapes[0], axis, len)};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{value_grad(a, a.out_grads[0], "0", a.attrs.b("is_ascend"))};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "argsort";
    s.doc = "Indices that sort `axis` (None: the flattened array); ties keep their order.";
    s.inputs = {"data"};
    s.params = {param_axes("axis", "-1", "the axis (None: flatten)"), param_bool("is_ascend", "True", "ascending order"),
                index_dtype("float32")};
    s.dtypes = numeric_dtypes();
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      auto [axis, len] = sort_axis("argsort", a.attrs, a.in_shapes[0]);
      out = {cut_shape(a.attrs, a.in_shapes[0], axis, len)};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {dtype_from_name(a.attrs.str("dtype"))}; };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  {
    OpSchema g;
    g.name = "_topk_backward";
    g.doc = "Zeros shaped like data with out_grad[..., j, ...] added at data[..., indices[..., j, ...], ...] along "
            "`axis` (None: the flattened array). The gradient of topk / sort values.";
    g.inputs = {"out_grad", "indices", "data"};
    g.params = {param_axes("axis", "-1", "the axis (None: flatten)")};
    g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      if (a.in_shapes[0] != a.in_shapes[1])
        fail(MX_ERR_SHAPE_MISMATCH, "_topk_backward: out_grad ", shape_str(a.in_shapes[0]), " and indices ",
             shape_str(a.in_shapes[1]), " differ");
      out = {a.in_shapes[2]};
    };
    g.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
    g.gradient = no_gradient;
    r.add(std::move(g));
  }
}

}  // namespace mx::op
