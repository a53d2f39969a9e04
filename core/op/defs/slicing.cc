// Slicing ops: slice (begin / end / step with None entries, numpy's clamping), slice_like, and
// split / SliceChannel. Their gradients place the output gradient back into zeros shaped like the
// data (_slice_backward), or join the pieces again (Concat).
#include <algorithm>
#include <cstdint>

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

// One axis of a slice: elements begin, begin + step, ... (len of them).
struct AxisRange {
  int64_t begin, step, len;
};

// numpy's rules: None begin/end mean the whole axis in the step's direction, negative values
// count from the end, out-of-range values clamp. The backend kernels apply the same rules.
std::vector<AxisRange> slice_ranges(const std::string& op, const Attrs& a, const Shape& shape) {
  const auto begin = a.opt_ints("begin"), end = a.opt_ints("end"), step = a.opt_ints("step");
  if (begin.size() != end.size() || (!step.empty() && step.size() != begin.size()))
    fail(MX_ERR_INVALID_ARGUMENT, op, ": begin ", a.str("begin"), ", end ", a.str("end"), " and step ", a.str("step"),
         " must have the same length");
  if (begin.size() > shape.size())
    fail(MX_ERR_INVALID_ARGUMENT, op, ": begin ", a.str("begin"), " has more entries than data ", shape_str(shape), " has dims");
  std::vector<AxisRange> r;
  for (size_t d = 0; d < shape.size(); ++d) {
    const int64_t n = shape[d];
    if (d >= begin.size()) {
      r.push_back({0, 1, n});
      continue;
    }
    // As CPython: a step of -2^63 acts as -(2^63 - 1), so -s never overflows.
    const int64_t s = std::max<int64_t>(d < step.size() && step[d] ? *step[d] : 1, -INT64_MAX);
    if (s == 0) fail(MX_ERR_INVALID_ARGUMENT, op, ": step ", a.str("step"), " has a zero on axis ", d);
    // Bounds are clamped into [-1, n] first (v + n only for negative v: no overflow), and the
    // count is (distance - 1) / |step| + 1, which no step near +-2^63 can overflow.
    int64_t b, e;
    if (s > 0) {
      b = begin[d] ? (*begin[d] < 0 ? *begin[d] + n : *begin[d]) : 0;
      e = end[d] ? (*end[d] < 0 ? *end[d] + n : *end[d]) : n;
      b = std::clamp<int64_t>(b, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      r.push_back({b, s, e > b ? (e - b - 1) / s + 1 : 0});
    } else {
      b = begin[d] ? (*begin[d] < 0 ? *begin[d] + n : *begin[d]) : n - 1;
      e = end[d] ? (*end[d] < 0 ? *end[d] + n : *end[d]) : -1;
      b = std::clamp<int64_t>(b, -1, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      r.push_back({b, s, b > e ? (b - e - 1) / -s + 1 : 0});
    }
  }
  return r;
}

std::vector<ParamSpec> slice_params() {
  return {param_required(param_opt_ints("begin", "", "first index per axis (None: from the start)")),
          param_required(param_opt_ints("end", "", "one past the last index per axis (None: to the end)")),
          param_opt_ints("step", "()", "step per axis (None or absent: 1; negative walks backwards)")};
}

std::vector<std::pair<std::string, std::string>> all_attrs(const Attrs& a) { return {a.kv.begin(), a.kv.end()}; }

// "(a,b,...)" of a list of optional-free ints.
std::string tuple_str(const std::vector<int64_t>& v) {
  std::string s = "(";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + ")";
}

// Which axes slice_like crops, and to what.
std::vector<int64_t> like_ends(const Attrs& a, const Shape& data, const Shape& like) {
  std::vector<int64_t> end(data.begin(), data.end());
  const Shape axes = a.is_none("axes") ? Shape{} : a.shape("axes");
  if (axes.empty() && like.size() != data.size())
    fail(MX_ERR_SHAPE_MISMATCH, "slice_like: shape_like ", shape_str(like), " and data ", shape_str(data),
         " must have the same number of dims when axes is empty");
  auto crop = [&](int64_t axis) {
    const int d = axis_of("slice_like", axis, data.size());
    if (size_t(d) >= like.size())
      fail(MX_ERR_SHAPE_MISMATCH, "slice_like: axis ", axis, " is out of range for shape_like ", shape_str(like));
    if (like[size_t(d)] > data[size_t(d)])
      fail(MX_ERR_SHAPE_MISMATCH, "slice_like: shape_like ", shape_str(like), " is larger than data ", shape_str(data),
           " on axis ", d);
    end[size_t(d)] = like[size_t(d)];
  };
  if (axes.empty())
    for (size_t d = 0; d < data.size(); ++d) crop(int64_t(d));
  else
    for (int64_t ax : axes) crop(ax);
  return end;
}

void register_slice(Registry& r) {
  OpSchema s;
  s.name = "slice";
  s.aliases = {"crop"};
  s.doc = "data[begin:end:step] per axis, with numpy's rules for None, negative and out-of-range values.";
  s.inputs = {"data"};
  s.params = slice_params();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    Shape o;
    for (const AxisRange& r : slice_ranges("slice", a.attrs, a.in_shapes[0])) o.push_back(r.len);
    out = {o};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{a.g.call("_slice_backward", {a.out_grads[0], a.inputs[0]}, all_attrs(a.attrs))};
  };
  r.add(std::move(s));

  OpSchema g;
  g.name = "_slice_backward";
  g.doc = "Zeros shaped like data with out_grad written where slice read (slice's gradient).";
  g.inputs = {"out_grad", "data"};
  g.params = slice_params();
  g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    Shape want;
    for (const AxisRange& r : slice_ranges("_slice_backward", a.attrs, a.in_shapes[1])) want.push_back(r.len);
    if (want != a.in_shapes[0])
      fail(MX_ERR_SHAPE_MISMATCH, "_slice_backward: out_grad is ", shape_str(a.in_shapes[0]), " but the slice of ",
           shape_str(a.in_shapes[1]), " is ", shape_str(want));
    out = {a.in_shapes[1]};
  };
  g.infer_type = first_type;
  g.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{a.g.call("slice", {a.out_grads[0]}, all_attrs(a.attrs)), kNoGrad};
  };
  r.add(std::move(g));

  OpSchema l;
  l.name = "slice_like";
  l.doc = "data cropped from the start to the shape of shape_like, on `axes` (empty: every axis).";
  l.inputs = {"data", "shape_like"};
  l.params = {param_axes("axes", "()", "axes to crop (empty: all; negative counts from the end)")};
  l.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const auto end = like_ends(a.attrs, a.in_shapes[0], a.in_shapes[1]);
    out = {Shape(end.data(), end.data() + end.size())};
  };
  l.infer_type = first_type;
  l.gradient = [](const GradArgs& a) {
    const auto end = like_ends(a.attrs, a.in_shapes[0], a.in_shapes[1]);
    const std::vector<int64_t> begin(end.size(), 0);
    return std::vector<GradValue>{
        a.g.call("_slice_backward", {a.out_grads[0], a.inputs[0]}, {{"begin", tuple_str(begin)}, {"end", tuple_str(end)}}),
        kNoGrad};
  };
  r.add(std::move(l));
}

void register_split(Registry& r) {
  OpSchema s;
  s.name = "split";
  s.aliases = {"SliceChannel"};
  s.doc = "Splits data into num_outputs equal parts along `axis` (squeeze_axis drops that axis when the parts are 1 wide).";
  s.inputs = {"data"};
  // Each declared output becomes a name and an entry: capped so a symbol file cannot ask for billions.
  ParamSpec n = param_required(with_range(param_int("num_outputs", "", "number of parts"), 1, double(kMaxArity)));
  s.params = {n, param_axis("axis", "1", "the axis to split"),
              param_bool("squeeze_axis", "False", "remove the split axis (each part must be 1 wide)")};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const int ax = axis_of("split", a.attrs.i("axis"), d.size());
    const int64_t parts = a.attrs.i("num_outputs");
    if (d[size_t(ax)] % parts != 0)
      fail(MX_ERR_SHAPE_MISMATCH, "split: axis ", ax, " of ", shape_str(d), " does not split into ", parts, " equal parts");
    Shape o = d;
    o[size_t(ax)] /= parts;
    if (a.attrs.b("squeeze_axis")) {
      if (o[size_t(ax)] != 1)
        fail(MX_ERR_SHAPE_MISMATCH, "split: squeeze_axis needs parts 1 wide, but axis ", ax, " of ", shape_str(d), " gives ",
             o[size_t(ax)]);
      Shape squeezed(o.begin(), o.begin() + ax);
      squeezed.append(o.begin() + ax + 1, o.end());
      o = squeezed;
    }
    out.assign(size_t(parts), o);
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out.assign(size_t(a.attrs.i("num_outputs")), a.in_dtypes[0]); };
  s.output_count = [](const Attrs& a) { return int(a.i("num_outputs")); };
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const int ax = axis_of("split", a.attrs.i("axis"), a.in_shapes[0].size());
    std::vector<GradValue> parts = a.out_grads;
    if (a.attrs.b("squeeze_axis"))
      for (auto& p : parts) p = d.op("expand_dims", {p}, {{"axis", std::to_string(ax)}});
    if (parts.size() == 1) return parts;
    return std::vector<GradValue>{
        d.op("Concat", parts, {{"num_args", std::to_string(parts.size())}, {"dim", std::to_string(ax)}})};
  };
  r.add(std::move(s));
}

}  // namespace

void register_slicing(Registry& r) {
  register_slice(r);
  register_split(r);
}

}  // namespace mx::op
