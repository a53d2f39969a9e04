// The slicing family: slice (begin / end / step with None entries, numpy's clamping), slice_like,
// split / SliceChannel, slice_axis, Concat, stack. Their gradients place the output gradient back into zeros shaped like the
// data (_slice_backward), or join the pieces again (Concat).
#include <algorithm>
#include <cstdint>

#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {



// slice_axis on a gradient graph; the [begin, end) that slice_axis's attrs select.
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

// Concat on partial shapes (MXNet's ConcatShape): every dim but `dim` is one for the inputs and
// the output; along `dim` the output is the inputs' sum, and one unknown input the difference.
void concat_partial(const PartialInferArgs& a) {
  const char* op = "Concat";
  PartialShape rank_from = a.out[0];
  for (const PartialShape& v : a.in)
    if (!rank_from) rank_from = v;
  if (!rank_from) return;
  const size_t ndim = rank_from->size();
  const size_t ax = size_t(axis_of(op, a.attrs.i("dim"), ndim));
  auto along = [&](const PartialShape& v) { return v && v->size() == ndim ? (*v)[ax] : kUnknownDim; };
  auto outside = [&](PartialShape v) {  // the dims outside `dim` (a wrong rank is left to unify)
    if (v && v->size() == ndim) (*v)[ax] = kUnknownDim;
    return v;
  };
  PartialShape common;
  for (size_t i = 0; i < a.in.size(); ++i)
    unify(common, outside(a.in[i]), op, input_label(a.op, i), "the shape of the others outside dim " + std::to_string(ax));
  unify(common, outside(a.out[0]), op, "the output", "the inputs' shape outside dim " + std::to_string(ax));
  int64_t sum = 0;
  size_t unknown = 0, which = 0;
  for (size_t i = 0; i < a.in.size(); ++i) {
    const int64_t d = along(a.in[i]);
    if (d == kUnknownDim) ++unknown, which = i;
    else sum = checked_add(sum, d, op);
  }
  std::vector<int64_t> dims(a.in.size());
  for (size_t i = 0; i < a.in.size(); ++i) dims[i] = along(a.in[i]);
  int64_t total = along(a.out[0]);
  if (unknown == 0 && total == kUnknownDim) total = sum;
  if (unknown == 1 && total != kUnknownDim) {
    if (total < sum)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": the output has ", total, " along dim ", ax, " but the inputs have ", sum, " already");
    dims[which] = total - sum;
  }
  if (unknown == 0 && total != sum)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": the output has ", total, " along dim ", ax, " but the inputs sum to ", sum);
  for (size_t i = 0; i < a.in.size(); ++i) {
    a.in[i] = common;
    (*a.in[i])[ax] = dims[i];
  }
  a.out[0] = common;
  (*a.out[0])[ax] = total;
}

}  // namespace

void register_slicing(Registry& r) {
  register_slice(r);
  register_split(r);
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
    s.infer_shape_partial = concat_partial;
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
}

}  // namespace mx::op
