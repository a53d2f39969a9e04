// The indexing family: one_hot, take, Embedding (and their scatter-add gradient _take_grad), pick
// (and _pick_grad). Gradients of the gathering ops scatter-add through internal ops.
#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {

void register_indexing(Registry& r) {
  {
    OpSchema s;
    s.name = "one_hot";
    s.doc = "on_value at each index's position along a new last axis of size depth, off_value elsewhere.";
    s.inputs = {"indices"};
    s.params = {param_required(with_range(param_int("depth", "", "number of classes"), 1, double(kMaxExtent))),
                any_float(param_float("on_value", "1", "value at the index")),
                any_float(param_float("off_value", "0", "value elsewhere")),
                param_dtype("dtype", "float32", "output dtype")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      Shape o = a.in_shapes[0];
      o.push_back(a.attrs.i("depth"));
      out = {o};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.attrs.dtype("dtype")}; };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  auto take_like = [&](const std::string& name, const std::string& doc, bool embedding) {
    OpSchema s;
    s.name = name;
    s.doc = doc;
    if (embedding) {
      s.inputs = {"data", "weight"};
      s.params = {param_required(with_range(param_int("input_dim", "", "vocabulary size"), 1, double(kMaxExtent))),
                  param_required(with_range(param_int("output_dim", "", "embedding size"), 1, double(kMaxExtent))),
                  param_dtype("dtype", "float32", "dtype of the weight"),
                  param_bool("sparse_grad", "False", "accepted for compatibility (dense gradient)")};
    } else {
      s.inputs = {"a", "indices"};
      s.params = {param_axis("axis", "0", "the axis to gather along"),
                  {"mode", ParamType::kEnum, "clip", false, -1e308, 1e308, {"clip", "wrap", "raise"},
                   "out-of-range indices: clip to the ends, wrap around, or (raise) clip as well"}};
    }
    if (embedding)
      s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
        if (!in[1]) in[1] = Shape{a.i("input_dim"), a.i("output_dim")};
      };
    s.infer_shape = [embedding](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& src = a.in_shapes[embedding ? 1 : 0];
      const Shape& idx = a.in_shapes[embedding ? 0 : 1];
      if (embedding && src != Shape{a.attrs.i("input_dim"), a.attrs.i("output_dim")})
        fail(MX_ERR_SHAPE_MISMATCH, "Embedding: weight is ", shape_str(src), ", expected (", a.attrs.i("input_dim"), ",",
             a.attrs.i("output_dim"), ")");
      const int ax = embedding ? 0 : axis_of("take", a.attrs.i("axis"), src.size());
      Shape o(src.begin(), src.begin() + ax);
      o.append(idx.begin(), idx.end());
      o.append(src.begin() + ax + 1, src.end());
      out = {o};
    };
    s.infer_type = [embedding](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[embedding ? 1 : 0]}; };
    s.gradient = [embedding](const GradArgs& a) {
      const GradValue src = a.inputs[embedding ? 1 : 0], idx = a.inputs[embedding ? 0 : 1];
      const std::string axis = embedding ? "0" : a.attrs.str("axis");
      const std::string mode = embedding ? "clip" : a.attrs.str("mode");
      const GradValue g = a.g.call("_take_grad", {a.out_grads[0], idx, src}, {{"axis", axis}, {"mode", mode}});
      return embedding ? std::vector<GradValue>{kNoGrad, g} : std::vector<GradValue>{g, kNoGrad};
    };
    r.add(std::move(s));
  };
  take_like("take", "Gathers slices of `a` along `axis` at `indices`.", false);
  take_like("Embedding", "Rows of weight at each index of data.", true);
  {
    OpSchema g;
    g.name = "_take_grad";
    g.doc = "Scatter-adds out_grad into zeros shaped like `a` at `indices` (take's gradient).";
    g.inputs = {"out_grad", "indices", "a"};
    g.params = {param_axis("axis", "0", "the axis gathered along"),
                {"mode", ParamType::kEnum, "clip", false, -1e308, 1e308, {"clip", "wrap", "raise"}, "index mode"}};
    g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[2]}; };
    g.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[2]}; };
    g.gradient = no_gradient;
    r.add(std::move(g));
  }
  {
    OpSchema s;
    s.name = "pick";
    s.aliases = {"choose_element_0index"};  // MXNet's legacy name (its axis -1 default is pick's)
    s.doc = "data[..., index[...], ...]: one element along `axis` per position of index.";
    s.inputs = {"data", "index"};
    s.params = {param_axis("axis", "-1", "the axis to pick along"),
                param_bool("keepdims", "False", "keep that axis as 1"),
                {"mode", ParamType::kEnum, "clip", false, -1e308, 1e308, {"clip", "wrap"}, "out-of-range indices"}};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& d = a.in_shapes[0];
      const int ax = axis_of("pick", a.attrs.i("axis"), d.size());
      Shape kept, dropped;
      for (size_t i = 0; i < d.size(); ++i) {
        kept.push_back(int(i) == ax ? 1 : d[i]);
        if (int(i) != ax) dropped.push_back(d[i]);
      }
      if (a.in_shapes[1] != dropped && a.in_shapes[1] != kept)
        fail(MX_ERR_SHAPE_MISMATCH, "pick: index is ", shape_str(a.in_shapes[1]), " but data ", shape_str(d), " needs ",
             shape_str(dropped), " along axis ", ax);
      out = {a.attrs.b("keepdims") ? kept : dropped};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      std::vector<std::pair<std::string, std::string>> attrs(a.attrs.kv.begin(), a.attrs.kv.end());
      return std::vector<GradValue>{a.g.call("_pick_grad", {a.out_grads[0], a.inputs[1], a.inputs[0]}, attrs), kNoGrad};
    };
    r.add(std::move(s));
    OpSchema g;
    g.name = "_pick_grad";
    g.doc = "Zeros shaped like data with out_grad placed at the picked positions (pick's gradient).";
    g.inputs = {"out_grad", "index", "data"};
    g.params = {param_axis("axis", "-1", "the axis picked along"), param_bool("keepdims", "False", "as in pick"),
                {"mode", ParamType::kEnum, "clip", false, -1e308, 1e308, {"clip", "wrap"}, "out-of-range indices"}};
    g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[2]}; };
    g.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[2]}; };
    g.gradient = no_gradient;
    r.add(std::move(g));
  }
}

}  // namespace mx::op
