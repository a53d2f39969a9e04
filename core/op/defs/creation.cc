// The creation family: _arange, _linspace, _eye (no inputs; device and dtype from the attributes),
// _contrib_arange_like, and diag with its gradient-only op _backward_diag.
#include <cmath>
#include <cstdlib>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

void dtype_attr_type(const InferArgs& a, std::vector<int32_t>& out) {
  const int32_t t = a.attrs.dtype("dtype");
  out = {t < 0 ? MX_FLOAT32 : t};
}

std::vector<ParamSpec> device_and_dtype() {
  return {param_device("device of the output, e.g. cpu(0) or gpu(1) (default cpu(0))"),
          param_dtype("dtype", "float32", "element type of the output")};
}

OpSchema no_input_op(const std::string& name, const std::string& doc) {
  OpSchema s;
  s.name = name;
  s.doc = doc;
  s.device_from_attrs = true;
  s.infer_type = dtype_attr_type;
  s.gradient = no_gradient;
  return s;
}

// A 1-d shape of `count` elements; a count beyond one dimension's range is this op's error.
Shape checked_1d(const InferArgs& a, double count) {
  if (!(count <= double(kMaxExtent)))
    fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": ", count, " elements are more than one dimension holds");
  return Shape{int64_t(count)};
}

// _arange's `stop`: "None" or a number.
bool parse_stop(const std::string& text, double& stop) {
  if (text == "None" || text.empty()) return false;
  char* end = nullptr;
  stop = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(stop)) fail(MX_ERR_INVALID_ARGUMENT, "_arange: stop '", text, "' is not a finite number or None");
  return true;
}

void register_arange(Registry& r) {
  OpSchema s = no_input_op("_arange", "start, start + step, ... below stop (stop None: 0 .. start), each value repeated "
                                      "`repeat` times; ceil((stop - start) / step) values.");
  s.aliases = {"arange"};
  s.params = {param_required(param_float("start", "", "first value (the stop when stop is None)")),
              param_string("stop", "None", "end of the range, excluded (None: start, from 0)"),
              param_float("step", "1", "spacing"),
              with_range(param_int("repeat", "1", "times each value is repeated"), 1, double(kMaxExtent)),
              param_bool("infer_range", "False", "infer stop from the output shape (symbolic use)")};
  for (ParamSpec& p : device_and_dtype()) s.params.push_back(p);
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    double start = a.attrs.f("start"), stop = 0;
    const double step = a.attrs.f("step");
    if (step == 0) fail(MX_ERR_INVALID_ARGUMENT, "_arange: step must not be 0");
    if (!parse_stop(a.attrs.str("stop"), stop)) {
      if (a.attrs.b("infer_range"))
        fail(MX_ERR_INVALID_ARGUMENT, "_arange: infer_range needs the output shape, which is not known here; give stop");
      stop = start;
      start = 0;
    }
    const double n = std::max(0.0, std::ceil((stop - start) / step)) * double(a.attrs.i("repeat"));
    out = {checked_1d(a, n)};
  };
  r.add(std::move(s));
}

void register_linspace(Registry& r) {
  OpSchema s = no_input_op("_linspace", "num evenly spaced values from start to stop (stop excluded when endpoint is False).");
  s.params = {param_required(param_float("start", "", "first value")),
              param_required(param_float("stop", "", "last value (or the end, when endpoint is False)")),
              param_required(with_range(param_int("num", "", "number of values"), 0, double(kMaxExtent))),
              param_bool("endpoint", "True", "include stop")};
  for (ParamSpec& p : device_and_dtype()) s.params.push_back(p);
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {checked_1d(a, double(a.attrs.i("num")))}; };
  r.add(std::move(s));
}

void register_eye(Registry& r) {
  OpSchema s = no_input_op("_eye", "N x M (M = 0: N x N) array with ones on diagonal k, zeros elsewhere.");
  s.params = {param_required(with_range(param_int("N", "", "rows"), 0, double(kMaxExtent))),
              with_range(param_int("M", "0", "columns (0: N)"), 0, double(kMaxExtent)),
              with_range(param_int("k", "0", "diagonal: 0 the main one, > 0 above, < 0 below"), -double(kMaxExtent),
                         double(kMaxExtent))};
  for (ParamSpec& p : device_and_dtype()) s.params.push_back(p);
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const int64_t n = a.attrs.i("N"), m = a.attrs.i("M");
    out = {Shape{n, m == 0 ? n : m}};
  };
  r.add(std::move(s));
}

void register_arange_like(Registry& r) {
  OpSchema s;
  s.name = "_contrib_arange_like";
  s.doc = "start + (i / repeat) * step for each position i of data (axis None: data's shape) or of data's `axis`.";
  s.inputs = {"data"};
  s.params = {any_float(param_float("start", "0", "first value")), any_float(param_float("step", "1", "spacing")),
              with_range(param_int("repeat", "1", "times each value is repeated"), 1, double(kMaxExtent)),
              param_device("unused: the output is on data's device"),
              param_axes("axis", "None", "one axis of data whose length gives the output (None: data's shape)")};
  s.dtypes = numeric_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& x = a.in_shapes[0];
    if (a.attrs.is_none("axis")) {
      out = {x};
      return;
    }
    const Shape axes = parse_shape(a.attrs.str("axis"), "axis");
    if (axes.size() != 1) fail(MX_ERR_INVALID_ARGUMENT, "_contrib_arange_like: axis must be one int or None");
    out = {Shape{x[size_t(axis_of("_contrib_arange_like", axes[0], x.size()))]}};
  };
  s.infer_type = first_type;
  s.gradient = no_gradient;
  r.add(std::move(s));
}

// diag's output shape: 1-d input -> (n + |k|)^2 matrix; n-d -> the other axes, then the diagonal.
Shape diag_shape(const std::string& op, const Shape& x, const Attrs& attrs) {
  const int64_t k = attrs.i("k");
  if (x.size() == 1) return {x[0] + std::abs(k), x[0] + std::abs(k)};
  const int a1 = axis_of(op, attrs.i("axis1"), x.size()), a2 = axis_of(op, attrs.i("axis2"), x.size());
  if (a1 == a2) fail(MX_ERR_INVALID_ARGUMENT, op, ": axis1 and axis2 are both ", a1, " for shape ", shape_str(x));
  Shape out;
  for (size_t i = 0; i < x.size(); ++i)
    if (int(i) != a1 && int(i) != a2) out.push_back(x[i]);
  const int64_t d1 = x[size_t(a1)], d2 = x[size_t(a2)];
  const int64_t len = k >= 0 ? std::min(d1, d2 - k) : std::min(d1 + k, d2);
  out.push_back(std::max<int64_t>(len, 0));
  return out;
}

std::vector<ParamSpec> diag_params() {
  return {with_range(param_int("k", "0", "diagonal: 0 the main one, > 0 above, < 0 below"), -double(kMaxExtent),
                     double(kMaxExtent)),
          param_axis("axis1", "0", "first axis of the 2-d sub-arrays (n-d input)"),
          param_axis("axis2", "1", "second axis of the 2-d sub-arrays (n-d input)")};
}

void register_diag(Registry& r) {
  OpSchema s;
  s.name = "diag";
  s.doc = "1-d input: a matrix with it on diagonal k; n-d input: diagonal k of the (axis1, axis2) planes, last.";
  s.inputs = {"data"};
  s.params = diag_params();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[0].empty()) fail(MX_ERR_INVALID_ARGUMENT, "diag: input must have at least 1 dimension");
    out = {diag_shape("diag", a.in_shapes[0], a.attrs)};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{a.g.call("_backward_diag", {a.out_grads[0], a.inputs[0]}, a.attrs.kv)};
  };
  r.add(std::move(s));

  OpSchema b;
  b.name = "_backward_diag";
  b.doc = "diag's gradient: ograd (diag's output shape) back to data's shape (the diagonal taken out, or put into zeros).";
  b.inputs = {"ograd", "data"};
  b.params = diag_params();
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[1].empty()) fail(MX_ERR_INVALID_ARGUMENT, "_backward_diag: data must have at least 1 dimension");
    const Shape want = diag_shape("_backward_diag", a.in_shapes[1], a.attrs);
    if (a.in_shapes[0] != want)
      fail(MX_ERR_SHAPE_MISMATCH, "_backward_diag: ograd ", shape_str(a.in_shapes[0]), " must be ", shape_str(want),
           " for data ", shape_str(a.in_shapes[1]));
    out = {a.in_shapes[1]};
  };
  b.infer_type = first_type;
  b.gradient = [](const GradArgs& a) {  // linear in ograd: the gradient is diag again
    return std::vector<GradValue>{a.g.call("diag", {a.out_grads[0]}, a.attrs.kv), kNoGrad};
  };
  r.add(std::move(b));
}

}  // namespace

void register_creation(Registry& r) {
  register_arange(r);
  register_linspace(r);
  register_eye(r);
  register_arange_like(r);
  register_diag(r);
}

}  // namespace mx::op
