// Convolution, Deconvolution and Pooling over 1-d (NCW), 2-d (NCHW) and 3-d (NCDHW) data. The data and weight gradients of
// Convolution are the internal ops _conv_backward_data / _conv_backward_weight (im2col + GEMM on
// the CPU), the bias gradient a sum; Pooling's gradient is _pooling_backward.
#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

// The layout named by the number of spatial dims.
const char* layout_name(size_t spatial) { return spatial == 1 ? "NCW" : spatial == 2 ? "NCHW" : "NCDHW"; }

struct Geometry {
  Shape kernel, stride, dilate, pad;
};

Shape fill(const Attrs& a, const char* name, size_t n, int64_t def) {
  Shape s = a.shape(name);
  if (s.empty())
    for (size_t i = 0; i < n; ++i) s.push_back(def);
  return s;
}

Geometry geometry(const std::string& op, const Attrs& a, bool with_dilate) {
  Geometry g;
  g.kernel = a.shape("kernel");
  const size_t n = g.kernel.size();
  if (n < 1 || n > 3) fail(MX_ERR_UNSUPPORTED, op, ": kernel ", shape_str(g.kernel), " must have 1, 2 or 3 dims");
  g.stride = fill(a, "stride", n, 1);
  g.dilate = with_dilate ? fill(a, "dilate", n, 1) : fill(a, "stride", n, 1);
  if (!with_dilate)
    for (auto& d : g.dilate) d = 1;
  g.pad = fill(a, "pad", n, 0);
  for (const Shape* s : {&g.stride, &g.dilate, &g.pad})
    if (s->size() != n) fail(MX_ERR_INVALID_ARGUMENT, op, ": stride/dilate/pad must have ", n, " dims like kernel ", shape_str(g.kernel));
  for (size_t i = 0; i < n; ++i)
    if (g.stride[i] < 1 || g.dilate[i] < 1 || g.kernel[i] < 1)
      fail(MX_ERR_INVALID_ARGUMENT, op, ": kernel, stride and dilate must be >= 1");
  return g;
}

Shape conv_out_shape(const std::string& op, const Attrs& a, const Shape& data) {
  const Geometry g = geometry(op, a, true);
  const size_t n = g.kernel.size();
  if (data.size() != n + 2)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": data ", shape_str(data), " must be ", layout_name(n), " for kernel ",
         shape_str(g.kernel));
  const int64_t group = a.i("num_group");
  if (data[1] % group != 0) fail(MX_ERR_SHAPE_MISMATCH, op, ": ", data[1], " channels do not split into ", group, " groups");
  Shape out{data[0], a.i("num_filter")};
  for (size_t i = 0; i < n; ++i) {
    // Entries are at most kMaxExtent (the schema), but data dims may be anything up to 2^63-1.
    const int64_t span = g.dilate[i] * (g.kernel[i] - 1) + 1, x = checked_add(data[i + 2], 2 * g.pad[i], op);
    if (x < span)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": kernel ", shape_str(g.kernel), " (dilated) does not fit data ", shape_str(data),
           " padded by ", shape_str(g.pad));
    out.push_back((x - span) / g.stride[i] + 1);
  }
  return out;
}

Shape weight_shape(const Attrs& a, const Shape& data) {
  Shape w{a.i("num_filter"), data[1] / a.i("num_group")};
  const Shape k = a.shape("kernel");
  w.append(k.begin(), k.end());
  return w;
}

// Window geometry entries: at least 1 (0 for padding), at most what kernels index with.
ParamSpec geometry_param(const std::string& name, const std::string& def, const std::string& doc, double lowest = 1) {
  return with_range(param_shape(name, def, doc), lowest, double(kMaxExtent));
}

std::vector<ParamSpec> conv_params() {
  return {param_required(geometry_param("kernel", "", "kernel size, (w,), (h, w) or (d, h, w)")),
          geometry_param("stride", "()", "stride (default 1)"),
          geometry_param("dilate", "()", "dilation (default 1)"),
          geometry_param("pad", "()", "zero padding on both sides (default 0)", 0),
          param_required(with_range(param_int("num_filter", "", "number of output channels"), 1, double(kMaxExtent))),
          with_range(param_int("num_group", "1", "channel groups"), 1, double(kMaxExtent)),
          param_bool("no_bias", "False", "no bias input"),
          with_range(param_int("workspace", "1024", "accepted for compatibility"), 0, double(INT64_MAX)),
          {"cudnn_tune", ParamType::kEnum, "None", false, -1e308, 1e308, {"None", "off", "limited_workspace", "fastest"}, "accepted for compatibility"},
          param_bool("cudnn_off", "False", "accepted for compatibility"),
          {"layout", ParamType::kEnum, "None", false, -1e308, 1e308, {"None", "NCW", "NCHW", "NCDHW"}, "data layout (channels first)"}};
}

std::vector<std::pair<std::string, std::string>> all_attrs(const Attrs& a) { return {a.kv.begin(), a.kv.end()}; }


void register_convolution(Registry& r) {
  OpSchema s;
  s.name = "Convolution";
  s.doc = "1-d, 2-d or 3-d convolution (cross-correlation) with stride, dilation, padding and groups.";
  s.inputs = {"data", "weight", "bias"};
  s.params = conv_params();
  s.num_inputs = [](const Attrs& a) -> size_t { return a.b("no_bias") ? 2 : 3; };
  s.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (in[0] && in[0]->size() >= 2 && !in[1]) in[1] = weight_shape(a, *in[0]);
    if (in.size() > 2 && !in[2]) in[2] = Shape{a.i("num_filter")};
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape o = conv_out_shape("Convolution", a.attrs, a.in_shapes[0]);
    const Shape w = weight_shape(a.attrs, a.in_shapes[0]);
    if (a.in_shapes[1] != w)
      fail(MX_ERR_SHAPE_MISMATCH, "Convolution: weight is ", shape_str(a.in_shapes[1]), " but data ",
           shape_str(a.in_shapes[0]), " needs ", shape_str(w));
    if (a.in_shapes.size() > 2 && a.in_shapes[2] != Shape{a.attrs.i("num_filter")})
      fail(MX_ERR_SHAPE_MISMATCH, "Convolution: bias is ", shape_str(a.in_shapes[2]), ", expected (",
           a.attrs.i("num_filter"), ")");
    out = {o};
  };
  s.infer_type = same_dtype;
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const auto attrs = all_attrs(a.attrs);
    std::vector<GradValue> g = {a.g.call("_conv_backward_data", {a.out_grads[0], a.inputs[1], a.inputs[0]}, attrs),
                                a.g.call("_conv_backward_weight", {a.out_grads[0], a.inputs[0]}, attrs)};
    if (a.inputs.size() > 2) g.push_back(d.op("sum", {a.out_grads[0]}, {{"axis", "(1,)"}, {"exclude", "True"}}));
    return g;
  };
  r.add(std::move(s));

  OpSchema bd;
  bd.name = "_conv_backward_data";
  bd.doc = "Gradient of Convolution with respect to its data (the shape of `data` is used, not its values).";
  bd.inputs = {"out_grad", "weight", "data"};
  bd.params = conv_params();
  bd.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  bd.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[2]}; };
  bd.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  bd.gradient = no_gradient;
  r.add(std::move(bd));

  OpSchema bw;
  bw.name = "_conv_backward_weight";
  bw.doc = "Gradient of Convolution with respect to its weight.";
  bw.inputs = {"out_grad", "data"};
  bw.params = conv_params();
  bw.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  bw.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {weight_shape(a.attrs, a.in_shapes[1])}; };
  bw.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  bw.gradient = no_gradient;
  r.add(std::move(bw));
}

// ---------------------------------------------------------------- Deconvolution

// Deconvolution is the data gradient of a Convolution whose data is the deconvolution's output:
// weight (C, F/g, k...) maps C input channels to F output channels. target_shape, when given,
// fixes the output size and overrides pad and adj.
std::vector<ParamSpec> deconv_params() {
  std::vector<ParamSpec> p = conv_params();
  for (auto& q : p)
    if (q.name == "no_bias") q.default_value = "True";  // MXNet's default for Deconvolution
  p.push_back(geometry_param("adj", "()", "extra rows / columns at the end of the output (each < stride)", 0));
  p.push_back(geometry_param("target_shape", "()", "output spatial size; overrides pad and adj", 0));
  return p;
}

struct DeconvGeometry {
  Geometry g;
  Shape adj, out;  // out: the full output shape
};

DeconvGeometry deconv_geometry(const Attrs& a, const Shape& data) {
  DeconvGeometry d;
  d.g = geometry("Deconvolution", a, true);
  const size_t n = d.g.kernel.size();
  if (data.size() != n + 2)
    fail(MX_ERR_SHAPE_MISMATCH, "Deconvolution: data ", shape_str(data), " must be ", layout_name(n),
         " for kernel ", shape_str(d.g.kernel));
  if (data[1] % a.i("num_group") != 0 || a.i("num_filter") % a.i("num_group") != 0)
    fail(MX_ERR_SHAPE_MISMATCH, "Deconvolution: ", data[1], " input channels and num_filter ", a.i("num_filter"),
         " must both split into ", a.i("num_group"), " groups");
  d.adj = fill(a, "adj", n, 0);
  const Shape target = a.shape("target_shape");
  if (d.adj.size() != n || (!target.empty() && target.size() != n))
    fail(MX_ERR_INVALID_ARGUMENT, "Deconvolution: adj and target_shape must have ", n, " dims like kernel ",
         shape_str(d.g.kernel));
  d.out = {data[0], a.i("num_filter")};
  for (size_t i = 0; i < n; ++i) {
    const int64_t span = d.g.dilate[i] * (d.g.kernel[i] - 1) + 1;
    const int64_t full =
        checked_add(checked_mul(d.g.stride[i], data[i + 2] - 1, "Deconvolution"), span, "Deconvolution");
    if (!target.empty()) {
      const int64_t total = full - target[i];
      if (total < 0)
        fail(MX_ERR_SHAPE_MISMATCH, "Deconvolution: target_shape ", shape_str(target), " is larger than ", full,
             " on spatial axis ", i, " for data ", shape_str(data));
      d.g.pad[i] = total / 2 + total % 2;  // (total + 1) / 2 without overflow
      d.adj[i] = total % 2;
    }
    if (d.adj[i] >= d.g.stride[i])
      fail(MX_ERR_INVALID_ARGUMENT, "Deconvolution: adj ", shape_str(d.adj), " must be smaller than stride ",
           shape_str(d.g.stride));
    // With target_shape the output is the target (full - 2 * pad + adj == full - total); else pad
    // is a schema-bounded entry.
    const int64_t o = !target.empty() ? target[i] : checked_add(full, d.adj[i], "Deconvolution") - 2 * d.g.pad[i];
    if (o < 1)
      fail(MX_ERR_SHAPE_MISMATCH, "Deconvolution: pad ", shape_str(d.g.pad), " leaves no output for data ", shape_str(data));
    d.out.push_back(o);
  }
  return d;
}

void register_deconvolution(Registry& r) {
  OpSchema s;
  s.name = "Deconvolution";
  s.doc = "1-d, 2-d or 3-d transposed convolution (the data gradient of Convolution), with stride, dilation, padding, adj, "
          "target_shape and groups.";
  s.inputs = {"data", "weight", "bias"};
  s.params = deconv_params();
  s.num_inputs = [](const Attrs& a) -> size_t { return a.b("no_bias") ? 2 : 3; };
  s.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (in[0] && in[0]->size() >= 2 && !in[1]) {
      Shape w{(*in[0])[1], a.i("num_filter") / a.i("num_group")};
      const Shape k = a.shape("kernel");
      w.append(k.begin(), k.end());
      in[1] = w;
    }
    if (in.size() > 2 && !in[2]) in[2] = Shape{a.i("num_filter")};
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& data = a.in_shapes[0];
    const DeconvGeometry d = deconv_geometry(a.attrs, data);
    Shape w{data[1], a.attrs.i("num_filter") / a.attrs.i("num_group")};
    w.append(d.g.kernel.begin(), d.g.kernel.end());
    if (a.in_shapes[1] != w)
      fail(MX_ERR_SHAPE_MISMATCH, "Deconvolution: weight is ", shape_str(a.in_shapes[1]), " but data ", shape_str(data),
           " needs ", shape_str(w));
    if (a.in_shapes.size() > 2 && a.in_shapes[2] != Shape{a.attrs.i("num_filter")})
      fail(MX_ERR_SHAPE_MISMATCH, "Deconvolution: bias is ", shape_str(a.in_shapes[2]), ", expected (",
           a.attrs.i("num_filter"), ")");
    out = {d.out};
  };
  s.infer_type = same_dtype;
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const DeconvGeometry geo = deconv_geometry(a.attrs, a.in_shapes[0]);
    // The Convolution this op is the data gradient of: F channels in, C out, the effective pad.
    const std::vector<std::pair<std::string, std::string>> conv = {
        {"kernel", a.attrs.str("kernel")}, {"stride", a.attrs.str("stride")}, {"dilate", a.attrs.str("dilate")},
        {"pad", shape_str(geo.g.pad)}, {"num_filter", std::to_string(a.in_shapes[0][1])},
        {"num_group", a.attrs.str("num_group")}, {"no_bias", "True"}};
    std::vector<GradValue> g = {d.op("Convolution", {a.out_grads[0], a.inputs[1]}, conv),
                                d.op("_conv_backward_weight", {a.inputs[0], a.out_grads[0]}, conv)};
    if (a.inputs.size() > 2) g.push_back(d.op("sum", {a.out_grads[0]}, {{"axis", "(1,)"}, {"exclude", "True"}}));
    return g;
  };
  r.add(std::move(s));
}

std::vector<ParamSpec> pool_params() {
  return {geometry_param("kernel", "()", "window size (ignored with global_pool, so 0 is accepted)", 0),
          {"pool_type", ParamType::kEnum, "max", false, -1e308, 1e308, {"max", "avg", "sum"}, "reduction over the window"},
          param_bool("global_pool", "False", "pool over the whole spatial extent"),
          {"pooling_convention", ParamType::kEnum, "valid", false, -1e308, 1e308, {"valid", "full"},
           "valid: floor in the output size, full: ceil"},
          geometry_param("stride", "()", "stride (default 1)"),
          geometry_param("pad", "()", "zero padding (default 0)", 0),
          param_bool("count_include_pad", "True", "avg: divide by the full window, padding included"),
          param_bool("cudnn_off", "False", "accepted for compatibility"),
          {"layout", ParamType::kEnum, "None", false, -1e308, 1e308, {"None", "NCW", "NCHW", "NCDHW"}, "data layout (channels first)"}};
}

Shape pool_out_shape(const Attrs& a, const Shape& data) {
  if (data.size() < 3 || data.size() > 5)
    fail(MX_ERR_SHAPE_MISMATCH, "Pooling: data ", shape_str(data), " must be NCW, NCHW or NCDHW");
  const size_t n = data.size() - 2;
  Shape out{data[0], data[1]};
  if (a.b("global_pool")) {
    for (size_t i = 0; i < n; ++i) out.push_back(1);
    return out;
  }
  const Geometry g = geometry("Pooling", a, false);
  if (g.kernel.size() != n) fail(MX_ERR_SHAPE_MISMATCH, "Pooling: kernel ", shape_str(g.kernel), " does not match data ", shape_str(data));
  const bool full = a.str("pooling_convention") == "full";
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = checked_add(data[i + 2], 2 * g.pad[i], "Pooling") - g.kernel[i];
    if (x < 0) fail(MX_ERR_SHAPE_MISMATCH, "Pooling: kernel ", shape_str(g.kernel), " is larger than padded data ", shape_str(data));
    const int64_t steps = x / g.stride[i] + (full && x % g.stride[i] != 0);  // full: rounded up, without x + stride
    out.push_back(steps + 1);
  }
  return out;
}

void register_pooling(Registry& r) {
  OpSchema s;
  s.name = "Pooling";
  s.doc = "Max, average or sum pooling over 1-d, 2-d or 3-d windows.";
  s.inputs = {"data"};
  s.params = pool_params();
  s.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {pool_out_shape(a.attrs, a.in_shapes[0])}; };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  s.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{
        a.g.call("_pooling_backward", {a.out_grads[0], a.inputs[0], a.outputs[0]}, all_attrs(a.attrs))};
  };
  r.add(std::move(s));

  OpSchema b;
  b.name = "_pooling_backward";
  b.doc = "Gradient of Pooling from the output gradient, the data and the output.";
  b.inputs = {"out_grad", "data", "out"};
  b.params = pool_params();
  b.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[1]}; };
  b.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  b.gradient = no_gradient;
  r.add(std::move(b));
}

}  // namespace

void register_conv(Registry& r) {
  register_convolution(r);
  register_deconvolution(r);
  register_pooling(r);
}

}  // namespace mx::op
