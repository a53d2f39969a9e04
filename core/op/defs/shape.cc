// The shape family: Reshape, Flatten, expand_dims, squeeze, transpose, tile, repeat (the same
// elements in another arrangement). Reshape follows MXNet's codes: 0 copies the input dim, -1 infers one dim, -2 copies
// all remaining dims, -3 merges two consecutive dims, -4 splits one dim into the next two values.
#include <algorithm>

#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

Shape reshape_target(const std::string& op, const Shape& in, const Shape& spec) {
  auto bad = [&](const std::string& why) -> Shape {
    fail(MX_ERR_SHAPE_MISMATCH, op, ": cannot reshape ", shape_str(in), " with shape=", shape_str(spec), ": ", why);
  };
  Shape out;
  int infer = -1;
  size_t src = 0;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t c = spec[i];
    if (c > 0) {
      out.push_back(c);
      ++src;
    } else if (c == 0) {
      if (src >= in.size()) return bad("0 refers past the input's dims");
      out.push_back(in[src++]);
    } else if (c == -1) {
      if (infer >= 0) return bad("more than one -1");
      infer = int(out.size());
      out.push_back(1);
      ++src;
    } else if (c == -2) {
      while (src < in.size()) out.push_back(in[src++]);
    } else if (c == -3) {
      if (src + 1 >= in.size()) return bad("-3 needs two input dims");
      out.push_back(dims_product(in, src, src + 2, op));
      src += 2;
    } else if (c == -4) {
      if (i + 2 >= spec.size() || src >= in.size()) return bad("-4 needs an input dim and two values");
      int64_t a = spec[i + 1], b = spec[i + 2];
      const int64_t d = in[src++];
      if (a == -1 && b > 0) a = d / b;
      if (b == -1 && a > 0) b = d / a;
      int64_t ab = 0;
      if (a <= 0 || b <= 0 || !mul_size(a, b, &ab) || ab != d) return bad("-4 split does not match the dim");
      out.push_back(a);
      out.push_back(b);
      i += 2;
    } else {
      return bad("unknown code");
    }
  }
  const int64_t total = shape_size(in);
  // Counted exactly: a product that wraps around must never pass for the input's count.
  int64_t known = 0;
  if (!exact_product(out, &known, infer))
    return bad(str_cat("the target has more than 2^63-1 elements, the input ", total));
  if (infer >= 0) {
    if (known == 0 || total % known != 0) return bad("-1 cannot be inferred");
    out[size_t(infer)] = total / known;
  } else if (known != total) {
    return bad(str_cat("sizes differ (", known, " vs ", total, ")"));
  }
  return out;
}

// Reshape on partial shapes, for a target of positive dims and 0 codes only (then output dim i
// is spec[i] or a copy of input dim i: a 0 in Reshape's shape keeps its MXNet meaning, "copy",
// whether the dim it copies is known or not). Copied dims also flow back from the output. Other
// codes (-1 .. -4) wait for a complete input.
void reshape_partial(const PartialInferArgs& a) {
  const Shape spec = a.attrs.shape("shape");
  if (a.attrs.b("reverse") || std::any_of(spec.begin(), spec.end(), [](int64_t c) { return c < 0; })) return;
  const PartialShape& in = a.in[0];
  if (in && std::count(spec.begin(), spec.end(), 0) > 0 && in->size() < spec.size()) {
    for (size_t i = in->size(); i < spec.size(); ++i)
      if (spec[i] == 0)
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": cannot reshape ", partial_str(in), " with shape=", shape_str(spec),
             ": 0 refers past the input's dims");
  }
  Shape o;
  for (size_t i = 0; i < spec.size(); ++i) o.push_back(spec[i] > 0 ? spec[i] : in ? (*in)[i] : kUnknownDim);
  unify(a.out[0], PartialShape(o), a.op.name, "the reshaped " + partial_str(in), "the output");
  if (!in) return;
  Shape back = *in;
  for (size_t i = 0; i < spec.size(); ++i)
    if (spec[i] == 0) back[i] = (*a.out[0])[i];
  unify(a.in[0], PartialShape(back), a.op.name, "the data that output " + partial_str(a.out[0]) + " copies", "the data");
}

void register_layout(Registry& r) {
  OpSchema f;
  f.name = "Flatten";
  f.aliases = {"flatten"};
  f.doc = "Reshapes (N, d1, d2, ...) to (N, d1*d2*...).";
  f.inputs = {"data"};
  f.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    if (d.empty()) fail(MX_ERR_SHAPE_MISMATCH, "Flatten: needs at least one dimension");
    out = {Shape{d[0], dims_product(d, 1, d.size(), "Flatten")}};
  };
  f.infer_type = first_type;
  f.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("Reshape", {a.out_grads[0]}, {{"shape", shape_str(a.in_shapes[0])}})};
  };
  r.add(std::move(f));

  OpSchema e;
  e.name = "expand_dims";
  e.doc = "Inserts an axis of size 1 at `axis`.";
  e.inputs = {"data"};
  e.params = {param_required(param_axis("axis", "", "position of the new axis"))};
  e.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const int ax = axis_of("expand_dims", a.attrs.i("axis"), d.size() + 1);
    Shape o(d.begin(), d.begin() + ax);
    o.push_back(1);
    o.append(d.begin() + ax, d.end());
    out = {o};
  };
  e.infer_type = first_type;
  e.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("Reshape", {a.out_grads[0]}, {{"shape", shape_str(a.in_shapes[0])}})};
  };
  r.add(std::move(e));

  OpSchema t;
  t.name = "transpose";
  t.doc = "Permutes the axes (default: reverses them).";
  t.inputs = {"data"};
  t.params = {param_shape("axes", "()", "the permutation; () reverses")};
  t.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    Shape axes = a.attrs.shape("axes");
    if (axes.empty())
      for (size_t i = 0; i < d.size(); ++i) axes.push_back(int64_t(d.size() - 1 - i));
    std::vector<bool> seen(d.size(), false);
    if (axes.size() != d.size())
      fail(MX_ERR_INVALID_ARGUMENT, "transpose: axes ", shape_str(axes), " do not permute ", d.size(), " dims");
    Shape o;
    for (int64_t ax : axes) {
      if (ax < 0 || ax >= int64_t(d.size()) || seen[size_t(ax)])
        fail(MX_ERR_INVALID_ARGUMENT, "transpose: axes ", shape_str(axes), " are not a permutation of ", d.size(), " dims");
      seen[size_t(ax)] = true;
      o.push_back(d[size_t(ax)]);
    }
    out = {o};
  };
  t.infer_type = first_type;
  t.gradient = [](const GradArgs& a) {
    const size_t n = a.in_shapes[0].size();
    Shape axes = a.attrs.shape("axes"), inv;
    if (axes.empty())
      for (size_t i = 0; i < n; ++i) axes.push_back(int64_t(n - 1 - i));
    std::vector<int64_t> tmp(n);
    for (size_t i = 0; i < n; ++i) tmp[size_t(axes[i])] = int64_t(i);
    for (int64_t v : tmp) inv.push_back(v);
    return std::vector<GradValue>{Grad{a.g}.op("transpose", {a.out_grads[0]}, {{"axes", shape_str(inv)}})};
  };
  r.add(std::move(t));
}

}  // namespace

void register_shape(Registry& r) {
  register_layout(r);
  OpSchema s;
  s.name = "Reshape";
  s.aliases = {"reshape"};
  s.doc = "The same elements in another shape (codes 0, -1, -2, -3, -4 as in MXNet).";
  s.inputs = {"data"};
  ParamSpec shape = param_required(param_shape("shape", "", "target shape, with MXNet's special codes"));
  shape.min = -4;
  s.params = {shape, param_bool("reverse", "False", "accepted for compatibility; must be False")};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.attrs.b("reverse")) fail(MX_ERR_UNSUPPORTED, "Reshape: reverse=True is not supported yet");
    out = {reshape_target(a.op.name, a.in_shapes[0], a.attrs.shape("shape"))};
  };
  s.infer_shape_partial = reshape_partial;
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  s.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("Reshape", {a.out_grads[0]}, {{"shape", shape_str(a.in_shapes[0])}})};
  };
  r.add(std::move(s));
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
}

}  // namespace mx::op
