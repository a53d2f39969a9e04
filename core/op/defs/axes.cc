// The axes family: SwapAxis, reshape_like, reverse, depth_to_space / space_to_depth,
// broadcast_to / broadcast_axis, _split_v2, shape_array / size_array, im2col / col2im (MXNet 1.9's
// shape and layout ops; moveaxis is a Python function over transpose in bindings/python/mx).
// Gradients move the output gradient back with the inverse op (SwapAxis, reverse, the
// depth/space pair, im2col/col2im) or sum it over broadcast axes (_sum_to_like).
#include <algorithm>
#include <cstdint>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

using KV = std::vector<std::pair<std::string, std::string>>;
KV all_attrs(const Attrs& a) { return {a.kv.begin(), a.kv.end()}; }

Shape drop_axis(const Shape& s, int ax) {
  Shape o(s.begin(), s.begin() + ax);
  o.append(s.begin() + ax + 1, s.end());
  return o;
}

// ---- reshape_like: lhs's dims [lhs_begin, lhs_end) replaced by rhs's [rhs_begin, rhs_end)

std::pair<int64_t, int64_t> dim_range(const Attrs& a, const char* begin, const char* end, const Shape& s,
                                      const char* which) {
  const int64_t n = int64_t(s.size());
  auto one = [&](const char* name, int64_t none) -> int64_t {
    if (a.is_none(name)) return none;
    const Shape v = a.shape(name);
    if (v.size() != 1) fail(MX_ERR_INVALID_ARGUMENT, "reshape_like: ", name, " must be an int or None, got ", a.str(name));
    return v[0];
  };
  int64_t b = one(begin, 0), e = one(end, n);
  if (b < 0) b += n;
  if (e < 0) e += n;
  if (b < 0 || e > n || b > e)
    fail(MX_ERR_INVALID_ARGUMENT, "reshape_like: ", which, " range [", a.str(begin), ", ", a.str(end),
         ") is not a range of the dims of ", shape_str(s));
  return {b, e};
}

Shape reshape_like_shape(const Attrs& a, const Shape& lhs, const Shape& rhs) {
  const auto [lb, le] = dim_range(a, "lhs_begin", "lhs_end", lhs, "lhs");
  const auto [rb, re] = dim_range(a, "rhs_begin", "rhs_end", rhs, "rhs");
  Shape o(lhs.begin(), lhs.begin() + lb);
  o.append(rhs.begin() + rb, rhs.begin() + re);
  o.append(lhs.begin() + le, lhs.end());
  int64_t n = 0;
  if (!exact_product(o, &n) || n != shape_size(lhs))
    fail(MX_ERR_SHAPE_MISMATCH, "reshape_like: lhs ", shape_str(lhs), " cannot be reshaped to ", shape_str(o),
         " (from rhs ", shape_str(rhs), ")");
  return o;
}

// ---- depth_to_space / space_to_depth on NCHW, MXNet's DCR order

Shape depth_space_shape(const std::string& op, const Shape& d, int64_t b, bool to_space) {
  if (d.size() != 4) fail(MX_ERR_SHAPE_MISMATCH, op, ": data must be 4-d (N, C, H, W), got ", shape_str(d));
  if (to_space) {
    if (d[1] % (b * b) != 0)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": channels of ", shape_str(d), " are not divisible by block_size^2 = ", b * b);
    return {d[0], d[1] / (b * b), checked_mul(d[2], b, op), checked_mul(d[3], b, op)};
  }
  if (d[2] % b != 0 || d[3] % b != 0)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": height and width of ", shape_str(d), " are not divisible by block_size ", b);
  return {d[0], checked_mul(d[1], b * b, op), d[2] / b, d[3] / b};
}

void register_depth_space(Registry& r, const char* name, const char* inverse, bool to_space) {
  OpSchema s;
  s.name = name;
  s.doc = to_space ? "Moves blocks of channels into block_size x block_size spatial blocks (NCHW, DCR order)."
                   : "Moves block_size x block_size spatial blocks into channels (NCHW; depth_to_space's inverse).";
  s.inputs = {"data"};
  s.params = {param_required(with_range(param_int("block_size", "", "side of the spatial block"), 1, 65536))};
  s.infer_shape = [name, to_space](const InferArgs& a, std::vector<Shape>& out) {
    out = {depth_space_shape(name, a.in_shapes[0], a.attrs.i("block_size"), to_space)};
  };
  s.infer_type = first_type;
  s.gradient = [inverse](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op(inverse, {a.out_grads[0]}, all_attrs(a.attrs))};
  };
  r.add(std::move(s));
}

// ---- broadcast_to / broadcast_axis

Shape broadcast_to_shape(const Shape& in, const Shape& want) {
  if (in.size() != want.size())
    fail(MX_ERR_SHAPE_MISMATCH, "broadcast_to: operand of shape ", shape_str(in), " cannot be broadcast to ",
         shape_str(want), " (the number of dims must agree)");
  Shape o = want;
  for (size_t d = 0; d < in.size(); ++d) {
    if (o[d] == 0) o[d] = in[d];
    else if (in[d] != o[d] && in[d] != 1)
      fail(MX_ERR_SHAPE_MISMATCH, "broadcast_to: operand of shape ", shape_str(in), " cannot be broadcast to ",
           shape_str(want), " (dim ", d, ")");
  }
  return o;
}

Shape broadcast_axis_shape(const Attrs& a, const Shape& in) {
  const Shape axes = a.shape("axis"), size = a.shape("size");
  if (axes.size() != size.size())
    fail(MX_ERR_INVALID_ARGUMENT, "broadcast_axis: axis ", a.str("axis"), " and size ", a.str("size"),
         " must have the same length");
  Shape o = in;
  for (size_t i = 0; i < axes.size(); ++i) {
    const int ax = axis_of("broadcast_axis", axes[i], in.size());
    if (in[size_t(ax)] != 1)
      fail(MX_ERR_SHAPE_MISMATCH, "broadcast_axis: axis ", axes[i], " of ", shape_str(in), " has size ", in[size_t(ax)],
           ", not 1");
    o[size_t(ax)] = size[i];
  }
  return o;
}

std::vector<GradValue> sum_back_to_input(const GradArgs& a) {
  return {Grad{a.g}.op("_sum_to_like", {a.out_grads[0], a.inputs[0]})};
}

// ---- _split_v2: pieces [indices[i], indices[i+1]) of `axis` (the last to the end), or
// `sections` equal pieces when sections > 0.

std::vector<int64_t> split_v2_starts(const Attrs& a, const Shape& d) {
  const int ax = axis_of("_split_v2", a.i("axis"), d.size());
  const int64_t len = d[size_t(ax)], sections = a.i("sections");
  std::vector<int64_t> starts;
  if (sections > 0) {
    if (len % sections != 0)
      fail(MX_ERR_SHAPE_MISMATCH, "_split_v2: axis ", ax, " of ", shape_str(d), " does not split into ", sections,
           " equal sections");
    for (int64_t i = 0; i < sections; ++i) starts.push_back(i * (len / sections));
    return starts;
  }
  const Shape idx = a.shape("indices");
  if (idx.empty()) fail(MX_ERR_INVALID_ARGUMENT, "_split_v2: give indices or sections > 0");
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] > len || (i > 0 && idx[i] < idx[i - 1]))
      fail(MX_ERR_INVALID_ARGUMENT, "_split_v2: indices ", a.str("indices"), " must be non-decreasing and within axis ",
           ax, " of ", shape_str(d));
    // The core skips a call when any output is empty, so a piece of width 0 beside full ones
    // would leave those unwritten: refused (MXNet and numpy allow it).
    if (len > 0 && (idx[i] == len || (i > 0 && idx[i] == idx[i - 1])))
      fail(MX_ERR_INVALID_ARGUMENT, "_split_v2: indices ", a.str("indices"), " give an empty piece ", (idx[i] == len ? i : i - 1),
           " of axis ", ax, " of ", shape_str(d), "; empty pieces are not supported");
    starts.push_back(idx[i]);
  }
  return starts;
}

void register_split_v2(Registry& r) {
  OpSchema s;
  s.name = "_split_v2";
  s.doc = "Splits data along `axis` at `indices` (or into `sections` equal parts); squeeze_axis drops that axis.";
  s.inputs = {"data"};
  s.params = {with_range(param_shape("indices", "()", "start of each piece (the first is usually 0)"), 0, 9.2e18),
              param_axis("axis", "1", "the axis to split"),
              param_bool("squeeze_axis", "False", "remove the split axis (each piece must be 1 wide)"),
              with_range(param_int("sections", "0", "number of equal pieces (0: use indices)"), 0, double(kMaxArity))};
  s.output_count = [](const Attrs& a) {
    const int64_t sec = a.i("sections");
    return int(sec > 0 ? sec : std::max<int64_t>(int64_t(a.shape("indices").size()), 1));
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const int ax = axis_of("_split_v2", a.attrs.i("axis"), d.size());
    const auto starts = split_v2_starts(a.attrs, d);
    if (starts.size() > size_t(kMaxArity)) fail(MX_ERR_INVALID_ARGUMENT, "_split_v2: too many pieces");
    out.clear();
    for (size_t i = 0; i < starts.size(); ++i) {
      Shape o = d;
      o[size_t(ax)] = (i + 1 < starts.size() ? starts[i + 1] : d[size_t(ax)]) - starts[i];
      if (a.attrs.b("squeeze_axis")) {
        if (o[size_t(ax)] != 1)
          fail(MX_ERR_SHAPE_MISMATCH, "_split_v2: squeeze_axis needs pieces 1 wide, but piece ", i, " of axis ", ax,
               " of ", shape_str(d), " is ", o[size_t(ax)]);
        o = drop_axis(o, ax);
      }
      out.push_back(o);
    }
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    out.assign(split_v2_starts(a.attrs, a.in_shapes[0]).size(), a.in_dtypes[0]);
  };
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const Shape& x = a.in_shapes[0];
    const int ax = axis_of("_split_v2", a.attrs.i("axis"), x.size());
    const auto starts = split_v2_starts(a.attrs, x);
    std::vector<GradValue> parts;
    for (size_t i = 0; i < starts.size(); ++i) {
      const int64_t width = (i + 1 < starts.size() ? starts[i + 1] : x[size_t(ax)]) - starts[i];
      if (width == 0) continue;  // an empty axis: every piece is empty
      GradValue p = a.out_grads[i];
      if (a.attrs.b("squeeze_axis")) p = d.op("expand_dims", {p}, {{"axis", std::to_string(ax)}});
      parts.push_back(p);
    }
    if (parts.empty()) return std::vector<GradValue>{d.op("zeros_like", {a.inputs[0]})};  // an empty axis
    if (parts.size() == 1) return parts;
    return std::vector<GradValue>{
        d.op("Concat", parts, {{"num_args", std::to_string(parts.size())}, {"dim", std::to_string(ax)}})};
  };
  r.add(std::move(s));
}

// ---- im2col / col2im: (N, C, *spatial) <-> (N, C * prod(kernel), prod(out spatial))

struct Window {
  Shape kernel, stride, dilate, pad;
};

Window window_of(const std::string& op, const Attrs& a, size_t spatial) {
  Window w{a.shape("kernel"), a.shape("stride"), a.shape("dilate"), a.shape("pad")};
  if (w.kernel.empty() || w.kernel.size() > 3)
    fail(MX_ERR_INVALID_ARGUMENT, op, ": kernel ", a.str("kernel"), " must have 1 to 3 entries");
  const size_t k = w.kernel.size();
  auto filled = [k](int64_t v) {
    Shape f;
    for (size_t i = 0; i < k; ++i) f.push_back(v);
    return f;
  };
  if (w.stride.empty()) w.stride = filled(1);
  if (w.dilate.empty()) w.dilate = filled(1);
  if (w.pad.empty()) w.pad = filled(0);
  if (w.stride.size() != k || w.dilate.size() != k || w.pad.size() != k)
    fail(MX_ERR_INVALID_ARGUMENT, op, ": kernel ", a.str("kernel"), ", stride ", a.str("stride"), ", dilate ",
         a.str("dilate"), " and pad ", a.str("pad"), " must have the same length");
  for (size_t i = 0; i < k; ++i)
    if (w.kernel[i] < 1 || w.stride[i] < 1 || w.dilate[i] < 1)
      fail(MX_ERR_INVALID_ARGUMENT, op, ": kernel, stride and dilate entries must be >= 1");
  if (spatial != k)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": a kernel of ", k, " dims needs data with ", k, " spatial dims");
  return w;
}

// Output positions per spatial dim of a window sliding over `in`.
Shape window_positions(const std::string& op, const Window& w, const Shape& in) {
  Shape o;
  for (size_t i = 0; i < in.size(); ++i) {
    const int64_t span = checked_add(checked_mul(w.dilate[i], w.kernel[i] - 1, op), 1, op);
    const int64_t padded = checked_add(in[i], checked_mul(w.pad[i], 2, op), op);
    if (padded < span)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": kernel ", shape_str(w.kernel), " (dilated) does not fit the padded input ",
           shape_str(in));
    o.push_back((padded - span) / w.stride[i] + 1);
  }
  return o;
}

std::vector<ParamSpec> window_params() {
  auto ext = [](ParamSpec p) { return with_range(std::move(p), 0, double(kMaxExtent)); };
  return {param_required(ext(param_shape("kernel", "", "window size per spatial dim"))),
          ext(param_shape("stride", "()", "window step per spatial dim (default 1)")),
          ext(param_shape("dilate", "()", "dilation per spatial dim (default 1)")),
          ext(param_shape("pad", "()", "zero padding on both sides per spatial dim (default 0)"))};
}

void register_im2col(Registry& r) {
  OpSchema s;
  s.name = "im2col";
  s.doc = "Each sliding window of data (N, C, *spatial) as a column: (N, C * prod(kernel), windows).";
  s.inputs = {"data"};
  s.params = window_params();
  s.dtypes = numeric_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    if (d.size() < 3) fail(MX_ERR_SHAPE_MISMATCH, "im2col: data must be (N, C, *spatial), got ", shape_str(d));
    const Shape in(d.begin() + 2, d.end());
    const Window w = window_of("im2col", a.attrs, in.size());
    const Shape pos = window_positions("im2col", w, in);
    out = {Shape{d[0], checked_mul(d[1], dims_product(w.kernel, 0, w.kernel.size(), "im2col"), "im2col"),
                 dims_product(pos, 0, pos.size(), "im2col")}};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    const Shape& d = a.in_shapes[0];
    KV attrs = all_attrs(a.attrs);
    attrs.push_back({"output_size", shape_str(Shape(d.begin() + 2, d.end()))});
    return std::vector<GradValue>{Grad{a.g}.op("col2im", {a.out_grads[0]}, attrs)};
  };
  r.add(std::move(s));

  OpSchema c;
  c.name = "col2im";
  c.doc = "Sums columns (N, C * prod(kernel), windows) back into an image (N, C, *output_size) (im2col's adjoint).";
  c.inputs = {"data"};
  c.params = window_params();
  c.params.insert(c.params.begin(), param_required(with_range(param_shape("output_size", "", "spatial size of the image"), 0,
                                                              double(kMaxExtent))));
  c.dtypes = numeric_dtypes();
  c.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const Shape size = a.attrs.shape("output_size");
    if (d.size() != 3) fail(MX_ERR_SHAPE_MISMATCH, "col2im: data must be (N, C * prod(kernel), windows), got ", shape_str(d));
    const Window w = window_of("col2im", a.attrs, size.size());
    const Shape pos = window_positions("col2im", w, size);
    const int64_t k = dims_product(w.kernel, 0, w.kernel.size(), "col2im");
    if (d[1] % k != 0 || d[2] != dims_product(pos, 0, pos.size(), "col2im"))
      fail(MX_ERR_SHAPE_MISMATCH, "col2im: data ", shape_str(d), " does not hold the windows of kernel ",
           shape_str(w.kernel), " over output_size ", shape_str(size), " (", shape_str(pos), " windows)");
    Shape o{d[0], d[1] / k};
    o.append(size.begin(), size.end());
    out = {o};
  };
  c.infer_type = first_type;
  c.gradient = [](const GradArgs& a) {
    KV attrs;
    for (const auto& kv : a.attrs.kv)
      if (kv.first != "output_size") attrs.push_back(kv);
    return std::vector<GradValue>{Grad{a.g}.op("im2col", {a.out_grads[0]}, attrs)};
  };
  r.add(std::move(c));
}

}  // namespace

void register_axes(Registry& r) {
  {
    OpSchema s;
    s.name = "SwapAxis";
    s.aliases = {"swapaxes"};
    s.doc = "Interchanges two axes (dim1, dim2) of data.";
    s.inputs = {"data"};
    s.params = {param_axis("dim1", "0", "the first axis"), param_axis("dim2", "0", "the second axis")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      Shape o = a.in_shapes[0];
      const int d1 = axis_of("SwapAxis", a.attrs.i("dim1"), o.size()), d2 = axis_of("SwapAxis", a.attrs.i("dim2"), o.size());
      std::swap(o[size_t(d1)], o[size_t(d2)]);
      out = {o};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{Grad{a.g}.op("SwapAxis", {a.out_grads[0]}, all_attrs(a.attrs))};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "reshape_like";
    s.doc = "lhs reshaped so that its dims [lhs_begin, lhs_end) become rhs's dims [rhs_begin, rhs_end) (None: all).";
    s.inputs = {"lhs", "rhs"};
    s.params = {param_axes("lhs_begin", "None", "first lhs dim replaced"), param_axes("lhs_end", "None", "end of the lhs dims"),
                param_axes("rhs_begin", "None", "first rhs dim used"), param_axes("rhs_end", "None", "end of the rhs dims")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      out = {reshape_like_shape(a.attrs, a.in_shapes[0], a.in_shapes[1])};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      return std::vector<GradValue>{reshape_to(d, a.out_grads[0], a.in_shapes[0]), kNoGrad};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "reverse";
    s.aliases = {"flip"};
    s.doc = "Reverses the order of elements along each axis in `axis`.";
    s.inputs = {"data"};
    s.params = {param_required(with_range(param_shape("axis", "", "the axes to reverse"), -double(kMaxNdim),
                                          double(kMaxNdim) - 1))};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      for (int64_t ax : a.attrs.shape("axis")) axis_of("reverse", ax, a.in_shapes[0].size());
      out = {a.in_shapes[0]};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{Grad{a.g}.op("reverse", {a.out_grads[0]}, all_attrs(a.attrs))};
    };
    r.add(std::move(s));
  }
  register_depth_space(r, "depth_to_space", "space_to_depth", true);
  register_depth_space(r, "space_to_depth", "depth_to_space", false);
  {
    OpSchema s;
    s.name = "broadcast_to";
    s.doc = "data broadcast to `shape` (a 0 keeps data's dim; data's dims must be 1 or equal).";
    s.inputs = {"data"};
    s.params = {param_shape("shape", "()", "the target shape")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      out = {broadcast_to_shape(a.in_shapes[0], a.attrs.shape("shape"))};
    };
    s.infer_type = first_type;
    s.gradient = sum_back_to_input;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "broadcast_axis";
    s.aliases = {"broadcast_axes"};
    s.doc = "data broadcast along `axis` (each of size 1) to the matching `size`.";
    s.inputs = {"data"};
    s.params = {with_range(param_shape("axis", "()", "the axes to broadcast"), -double(kMaxNdim), double(kMaxNdim) - 1),
                param_shape("size", "()", "target size of each axis")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      out = {broadcast_axis_shape(a.attrs, a.in_shapes[0])};
    };
    s.infer_type = first_type;
    s.gradient = sum_back_to_input;
    r.add(std::move(s));
  }
  register_split_v2(r);
  for (const char* name : {"shape_array", "size_array"}) {
    OpSchema s;
    s.name = name;
    const bool shape = name[1] == 'h';
    s.doc = shape ? "The shape of data as a 1-d int64 array." : "The number of elements of data as a (1,) int64 array.";
    s.inputs = {"data"};
    s.infer_shape = [shape](const InferArgs& a, std::vector<Shape>& out) {
      out = {Shape{shape ? int64_t(a.in_shapes[0].size()) : 1}};
    };
    s.infer_type = [](const InferArgs&, std::vector<int32_t>& out) { out = {MX_INT64}; };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  register_im2col(r);
}

}  // namespace mx::op
