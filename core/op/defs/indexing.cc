// Shape and indexing ops: Cast, BlockGrad, add_n, squeeze, Concat, slice_axis, stack, one_hot,
// take, Embedding, batch_dot. Gradients of the gathering ops scatter-add through internal ops.
#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

void first_type(const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; }

int axis_of(const std::string& op, int64_t axis, size_t ndim) {
  const int64_t a = axis < 0 ? axis + int64_t(ndim) : axis;
  if (a < 0 || a >= int64_t(ndim)) fail(MX_ERR_INVALID_ARGUMENT, op, ": axis ", axis, " is out of range for ", ndim, " dims");
  return int(a);
}

GradValue reshape_to(Grad& d, GradValue v, const Shape& s) { return d.op("Reshape", {v}, {{"shape", shape_str(s)}}); }

GradValue slice_axis(Grad& d, GradValue v, int axis, int64_t begin, int64_t end) {
  return d.op("slice_axis", {v}, {{"axis", std::to_string(axis)}, {"begin", std::to_string(begin)}, {"end", std::to_string(end)}});
}

std::pair<int64_t, int64_t> slice_range(const std::string& op, const Attrs& a, int64_t len) {
  int64_t b = a.i("begin");
  int64_t e = a.is_none("end") ? len : a.shape("end")[0];
  if (b < 0) b += len;
  if (e < 0) e += len;
  if (b < 0 || e > len || b >= e)
    fail(MX_ERR_INVALID_ARGUMENT, op, ": range [", a.str("begin"), ", ", a.str("end"), ") is empty or outside an axis of ", len);
  return {b, e};
}

ParamSpec num_args() {
  return param_required(with_range(param_int("num_args", "", "number of inputs"), 1, double(kMaxArity)));
}

}  // namespace

void register_repeat_ops(Registry& r);

void register_indexing(Registry& r) {
  register_repeat_ops(r);
  {
    OpSchema s;
    s.name = "Cast";
    s.aliases = {"cast"};
    s.doc = "Converts to another dtype.";
    s.inputs = {"data"};
    s.params = {param_required(param_dtype("dtype", "", "target dtype"))};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
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
  {
    OpSchema s;
    s.name = "squeeze";
    s.doc = "Removes axes of size 1 (all of them, or those in `axis`).";
    s.inputs = {"data"};
    s.params = {param_axes("axis", "None", "axes to remove (None: every size-1 axis)")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& d = a.in_shapes[0];
      std::vector<bool> drop(d.size(), false);
      if (a.attrs.is_none("axis")) {
        for (size_t i = 0; i < d.size(); ++i) drop[i] = d[i] == 1;
      } else {
        for (int64_t ax : a.attrs.shape("axis")) {
          const int i = axis_of("squeeze", ax, d.size());
          if (d[size_t(i)] != 1) fail(MX_ERR_SHAPE_MISMATCH, "squeeze: axis ", ax, " of ", shape_str(d), " is not of size 1");
          drop[size_t(i)] = true;
        }
      }
      Shape o;
      for (size_t i = 0; i < d.size(); ++i)
        if (!drop[i]) o.push_back(d[i]);
      out = {o};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      return std::vector<GradValue>{reshape_to(d, a.out_grads[0], a.in_shapes[0])};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "Concat";
    s.aliases = {"concat"};
    s.doc = "Joins num_args arrays along `dim`.";
    s.inputs = {"args"};
    s.params = {num_args(), param_axis("dim", "1", "the axis to join along")};
    s.num_inputs = [](const Attrs& a) { return size_t(a.i("num_args")); };
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      Shape o = a.in_shapes[0];
      const int ax = axis_of("Concat", a.attrs.i("dim"), o.size());
      for (size_t i = 1; i < a.in_shapes.size(); ++i) {
        const Shape& s = a.in_shapes[i];
        bool ok = s.size() == o.size();
        for (size_t d = 0; ok && d < s.size(); ++d) ok = int(d) == ax || s[d] == o[d];
        if (!ok)
          fail(MX_ERR_SHAPE_MISMATCH, "Concat: input ", i, " ", shape_str(s), " does not match input 0 ",
               shape_str(a.in_shapes[0]), " outside dim ", ax);
        o[size_t(ax)] = checked_add(o[size_t(ax)], s[size_t(ax)], "Concat");
      }
      out = {o};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      for (size_t i = 1; i < a.in_dtypes.size(); ++i)
        if (a.in_dtypes[i] != a.in_dtypes[0]) fail(MX_ERR_SHAPE_MISMATCH, "Concat: inputs must share one dtype");
      out = {a.in_dtypes[0]};
    };
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const int ax = axis_of("Concat", a.attrs.i("dim"), a.in_shapes[0].size());
      std::vector<GradValue> g;
      int64_t off = 0;
      for (const Shape& s : a.in_shapes) {
        g.push_back(slice_axis(d, a.out_grads[0], ax, off, off + s[size_t(ax)]));
        off += s[size_t(ax)];
      }
      return g;
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "slice_axis";
    s.doc = "Elements [begin, end) along `axis` (negative values count from the end; end None: to the end).";
    s.inputs = {"data"};
    s.params = {param_required(param_axis("axis", "", "the axis")),
                param_required(param_int("begin", "", "first index")),
                param_axes("end", "None", "one past the last index")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      Shape o = a.in_shapes[0];
      const int ax = axis_of("slice_axis", a.attrs.i("axis"), o.size());
      auto [b, e] = slice_range("slice_axis", a.attrs, o[size_t(ax)]);
      o[size_t(ax)] = e - b;
      out = {o};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      std::vector<std::pair<std::string, std::string>> attrs(a.attrs.kv.begin(), a.attrs.kv.end());
      return std::vector<GradValue>{a.g.call("_slice_axis_grad", {a.out_grads[0], a.inputs[0]}, attrs)};
    };
    r.add(std::move(s));
    OpSchema g;
    g.name = "_slice_axis_grad";
    g.doc = "Zeros of data's shape with lhs placed where slice_axis took it (slice_axis's gradient).";
    g.inputs = {"out_grad", "data"};
    g.params = {param_required(param_axis("axis", "", "the axis")),
                param_required(param_int("begin", "", "first index")),
                param_axes("end", "None", "one past the last index")};
    g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[1]}; };
    g.infer_type = first_type;
    g.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const int ax = axis_of("slice_axis", a.attrs.i("axis"), a.in_shapes[1].size());
      auto [b, e] = slice_range("slice_axis", a.attrs, a.in_shapes[1][size_t(ax)]);
      return std::vector<GradValue>{slice_axis(d, a.out_grads[0], ax, b, e), kNoGrad};
    };
    r.add(std::move(g));
  }
  {
    OpSchema s;
    s.name = "stack";
    s.doc = "Joins num_args arrays of one shape along a new axis.";
    s.inputs = {"args"};
    s.params = {num_args(), param_axis("axis", "0", "position of the new axis")};
    s.num_inputs = [](const Attrs& a) { return size_t(a.i("num_args")); };
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& d = a.in_shapes[0];
      for (size_t i = 1; i < a.in_shapes.size(); ++i)
        if (a.in_shapes[i] != d)
          fail(MX_ERR_SHAPE_MISMATCH, "stack: input ", i, " is ", shape_str(a.in_shapes[i]), " but input 0 is ", shape_str(d));
      const int ax = axis_of("stack", a.attrs.i("axis"), d.size() + 1);
      Shape o(d.begin(), d.begin() + ax);
      o.push_back(int64_t(a.in_shapes.size()));
      o.append(d.begin() + ax, d.end());
      out = {o};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const int ax = axis_of("stack", a.attrs.i("axis"), a.in_shapes[0].size() + 1);
      std::vector<GradValue> g;
      for (size_t i = 0; i < a.inputs.size(); ++i)
        g.push_back(reshape_to(d, slice_axis(d, a.out_grads[0], ax, int64_t(i), int64_t(i) + 1), a.in_shapes[i]));
      return g;
    };
    r.add(std::move(s));
  }
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
    s.name = "batch_dot";
    s.doc = "Matrix products of matching batches: (B, M, K) . (B, K, N) -> (B, M, N).";
    s.inputs = {"lhs", "rhs"};
    s.params = {param_bool("transpose_a", "False", "use each lhs matrix transposed"),
                param_bool("transpose_b", "False", "use each rhs matrix transposed"),
                {"forward_stype", ParamType::kEnum, "None", false, -1e308, 1e308, {"None", "default"}, "dense only"}};
    s.dtypes = {MX_FLOAT32, MX_FLOAT64};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& l = a.in_shapes[0];
      const Shape& r2 = a.in_shapes[1];
      const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
      if (l.size() != 3 || r2.size() != 3 || l[0] != r2[0] || (ta ? l[1] : l[2]) != (tb ? r2[2] : r2[1]))
        fail(MX_ERR_SHAPE_MISMATCH, "batch_dot: cannot multiply ", shape_str(l), (ta ? "^T" : ""), " by ", shape_str(r2),
             (tb ? "^T" : ""), " (expected (B, M, K) and (B, K, N))");
      out = {Shape{l[0], ta ? l[2] : l[1], tb ? r2[1] : r2[2]}};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
      const GradValue A = a.inputs[0], B = a.inputs[1], og = a.out_grads[0];
      auto bd = [&](GradValue x, GradValue y, bool tx, bool ty) {
        return d.op("batch_dot", {x, y}, {{"transpose_a", tx ? "True" : "False"}, {"transpose_b", ty ? "True" : "False"}});
      };
      if (!ta && !tb) return std::vector<GradValue>{bd(og, B, false, true), bd(A, og, true, false)};
      if (ta && !tb) return std::vector<GradValue>{bd(B, og, false, true), bd(A, og, false, false)};
      if (!ta && tb) return std::vector<GradValue>{bd(og, B, false, false), bd(og, A, true, false)};
      return std::vector<GradValue>{bd(B, og, true, true), bd(og, A, true, true)};
    };
    r.add(std::move(s));
  }
}

}  // namespace mx::op

namespace mx::op {

void register_repeat_ops(Registry& r) {
  {
    OpSchema s;
    s.name = "tile";
    s.doc = "Repeats the whole array reps[i] times along each axis (numpy.tile).";
    s.inputs = {"data"};
    s.params = {param_required(param_shape("reps", "", "repetitions per axis"))};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape reps = a.attrs.shape("reps");
      const Shape& d = a.in_shapes[0];
      const size_t n = std::max(reps.size(), d.size());
      Shape o;
      for (size_t i = 0; i < n; ++i) {
        const int64_t di = i + d.size() >= n ? d[i + d.size() - n] : 1, ri = i + reps.size() >= n ? reps[i + reps.size() - n] : 1;
        o.push_back(checked_mul(di, ri, "tile"));
      }
      out = {o};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      // og viewed as (r0, d0, r1, d1, ...) summed over the r axes.
      Grad d{a.g};
      const Shape reps = a.attrs.shape("reps");
      const Shape& ds = a.in_shapes[0];
      const size_t n = std::max(reps.size(), ds.size());
      Shape split;
      std::string axes = "(";
      for (size_t i = 0; i < n; ++i) {
        split.push_back(i + reps.size() >= n ? reps[i + reps.size() - n] : 1);
        split.push_back(i + ds.size() >= n ? ds[i + ds.size() - n] : 1);
        axes += std::to_string(2 * i) + ",";
      }
      const GradValue summed = d.op("sum", {d.op("Reshape", {a.out_grads[0]}, {{"shape", shape_str(split)}})}, {{"axis", axes + ")"}});
      return std::vector<GradValue>{d.op("Reshape", {summed}, {{"shape", shape_str(ds)}})};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "repeat";
    s.doc = "Repeats each element `repeats` times along `axis` (None: of the flattened array), as numpy.repeat.";
    s.inputs = {"data"};
    s.params = {param_required(with_range(param_int("repeats", "", "copies of each element"), 1, double(kMaxExtent))),
                param_axes("axis", "None", "the axis (None: flatten first)")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const int64_t k = a.attrs.i("repeats");
      if (a.attrs.is_none("axis")) {
        out = {Shape{checked_mul(shape_size(a.in_shapes[0]), k, "repeat")}};
        return;
      }
      Shape o = a.in_shapes[0];
      const int ax = axis_of("repeat", a.attrs.shape("axis")[0], o.size());
      o[size_t(ax)] = checked_mul(o[size_t(ax)], k, "repeat");
      out = {o};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      // og viewed as (..., d_axis, repeats, ...) summed over the repeats axis.
      Grad d{a.g};
      const int64_t k = a.attrs.i("repeats");
      const Shape& ds = a.in_shapes[0];
      Shape split;
      int ax;
      if (a.attrs.is_none("axis")) {
        split = {shape_size(ds), k};
        ax = 0;
      } else {
        ax = axis_of("repeat", a.attrs.shape("axis")[0], ds.size());
        for (size_t i = 0; i < ds.size(); ++i) {
          split.push_back(ds[i]);
          if (int(i) == ax) split.push_back(k);
        }
      }
      const GradValue summed = d.op("sum", {d.op("Reshape", {a.out_grads[0]}, {{"shape", shape_str(split)}})},
                                    {{"axis", "(" + std::to_string(ax + 1) + ",)"}});
      return std::vector<GradValue>{d.op("Reshape", {summed}, {{"shape", shape_str(ds)}})};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "pick";
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
