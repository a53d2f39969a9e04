// The spatial family: GridGenerator BilinearSampler SpatialTransformer BilinearResize2D AdaptiveAvgPooling2D
// ROIPooling ROIAlign Correlation, with MXNet 1.9.1's names, params and defaults. Every data input is
// NCHW. Gradients go through gradient-only ops (_backward_<op>) with CPU kernels in
// backends/cpu/kernels/spatial.cc (sampling) and roi.cc (ROI pooling, correlation); the gradient with
// respect to ROI boxes is zero, as in MXNet.
#include <cstdlib>
#include <functional>
#include <optional>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

KV all_attrs(const Attrs& a) { return {a.kv.begin(), a.kv.end()}; }

const std::vector<int32_t> kFloats = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};

ParamSpec enum_param(const std::string& name, const std::string& def, std::vector<std::string> choices,
                     const std::string& doc, bool required = false) {
  return {name, ParamType::kEnum, def, required, -1e308, 1e308, std::move(choices), doc};
}

void require_nchw(const std::string& op, const char* what, const Shape& s) {
  if (s.size() != 4) fail(MX_ERR_SHAPE_MISMATCH, op, ": ", what, " ", shape_str(s), " must be 4-d (N, C, H, W)");
}

// A 2-entry positive (height, width) from target_shape / pooled_size.
Shape hw_param(const std::string& op, const Attrs& a, const char* name) {
  const Shape s = a.shape(name);
  if (s.size() != 2 || s[0] < 1 || s[1] < 1)
    fail(MX_ERR_INVALID_ARGUMENT, op, ": ", name, " ", shape_str(s), " must be two positive entries (height, width)");
  return s;
}

// An optional float given as a string ("None" or a number), as MXNet's dmlc::optional<float>.
std::optional<double> opt_float(const std::string& op, const Attrs& a, const char* name) {
  const std::string& v = a.str(name);
  if (v == "None" || v.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (*end != '\0' || !std::isfinite(d) || d <= 0)
    fail(MX_ERR_INVALID_ARGUMENT, op, ": attribute '", name, "' is '", v, "', expected a positive number or None");
  return d;
}

// The forward output shape a gradient-only op's out_grad (input 0) must have, from its other inputs.
using OutGradShape = std::function<Shape(const InferArgs&)>;

void check_out_grad(const InferArgs& a, const OutGradShape& expected) {
  const Shape want = expected(a);
  if (a.in_shapes[0] != want)
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": out_grad ", shape_str(a.in_shapes[0]), " is not the forward output shape ",
         shape_str(want));
}

// Gradient-only op: one output shaped like input `like` (its dtype from input 0).
OpSchema backward_op(const std::string& name, const std::string& doc, std::vector<std::string> inputs,
                     std::vector<ParamSpec> params, size_t like, OutGradShape expected) {
  OpSchema b;
  b.name = name;
  b.doc = doc;
  b.inputs = std::move(inputs);
  b.params = std::move(params);
  b.dtypes = kFloats;
  b.infer_shape = [like, expected](const InferArgs& a, std::vector<Shape>& out) {
    check_out_grad(a, expected);
    out = {a.in_shapes[like]};
  };
  b.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  b.gradient = no_gradient;
  return b;
}

// ---------------------------------------------------------------- GridGenerator, BilinearSampler, SpatialTransformer

std::vector<ParamSpec> grid_params() {
  return {enum_param("transform_type", "", {"affine", "warp"},
                     "affine: data (N, 6) holds 2x3 matrices applied to a target_shape grid; warp: data (N, 2, H, W) is "
                     "an optical flow added to the pixel grid",
                     true),
          with_range(param_shape("target_shape", "(0,0)", "output (height, width) of the affine grid"), 0, 10000)};
}

Shape grid_shape(const Attrs& a, const Shape& data) {
  if (a.str("transform_type") == "affine") {
    if (data.size() != 2 || data[1] != 6)
      fail(MX_ERR_SHAPE_MISMATCH, "GridGenerator: affine data ", shape_str(data), " must be (N, 6)");
    const Shape t = hw_param("GridGenerator", a, "target_shape");
    return {data[0], 2, t[0], t[1]};
  }
  if (data.size() != 4 || data[1] != 2)
    fail(MX_ERR_SHAPE_MISMATCH, "GridGenerator: warp data ", shape_str(data), " must be a flow field (N, 2, H, W)");
  return data;
}

Shape sampled_shape(const std::string& op, const Shape& data, const Shape& grid) {
  require_nchw(op, "data", data);
  if (grid.size() != 4 || grid[1] != 2 || grid[0] != data[0])
    fail(MX_ERR_SHAPE_MISMATCH, op, ": grid ", shape_str(grid), " must be (N, 2, H, W) with N = ", data[0], " of data ",
         shape_str(data));
  return {data[0], data[1], grid[2], grid[3]};
}

std::vector<ParamSpec> transformer_params() {
  return {with_range(param_shape("target_shape", "(0,0)", "output (height, width)"), 0, 10000),
          enum_param("transform_type", "affine", {"affine"}, "the transformation (affine only, as MXNet)"),
          enum_param("sampler_type", "bilinear", {"bilinear"}, "the sampler (bilinear only, as MXNet)"),
          param_bool("cudnn_off", "False", "accepted for compatibility")};
}

void register_sampling_ops(Registry& r) {
  {
    OpSchema s;
    s.name = "GridGenerator";
    s.doc = "Sampling grid in [-1, 1] coordinates (x channel first) from affine matrices or a flow field.";
    s.inputs = {"data"};
    s.params = grid_params();
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {grid_shape(a.attrs, a.in_shapes[0])}; };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{
          a.g.call("_backward_GridGenerator", {a.out_grads[0], a.inputs[0]}, all_attrs(a.attrs))};
    };
    r.add(std::move(s));
    r.add(backward_op("_backward_GridGenerator", "Gradient of GridGenerator with respect to its data.",
                      {"out_grad", "data"}, grid_params(), 1,
                      [](const InferArgs& a) { return grid_shape(a.attrs, a.in_shapes[1]); }));
  }
  {
    OpSchema s;
    s.name = "BilinearSampler";
    s.doc = "Samples data at grid points ((x, y) in [-1, 1], corners aligned) by bilinear interpolation; points "
            "outside read zeros.";
    s.inputs = {"data", "grid"};
    s.params = {param_bool("cudnn_off", "False", "accepted for compatibility")};
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      out = {sampled_shape("BilinearSampler", a.in_shapes[0], a.in_shapes[1])};
    };
    s.infer_type = same_dtype;
    s.gradient = [](const GradArgs& a) {
      return a.g.call_all("_backward_BilinearSampler", {a.out_grads[0], a.inputs[0], a.inputs[1]});
    };
    r.add(std::move(s));

    OpSchema b;
    b.name = "_backward_BilinearSampler";
    b.doc = "Gradients of BilinearSampler with respect to data and grid.";
    b.inputs = {"out_grad", "data", "grid"};
    b.num_outputs = 2;
    b.dtypes = kFloats;
    b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      check_out_grad(a, [](const InferArgs& x) { return sampled_shape(x.op.name, x.in_shapes[1], x.in_shapes[2]); });
      out = {a.in_shapes[1], a.in_shapes[2]};
    };
    b.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0]}; };
    b.gradient = no_gradient;
    r.add(std::move(b));
  }
  {
    OpSchema s;
    s.name = "SpatialTransformer";
    s.doc = "BilinearSampler of data on the affine GridGenerator grid of loc (N, 6) at target_shape.";
    s.inputs = {"data", "loc"};
    s.params = transformer_params();
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& data = a.in_shapes[0];
      require_nchw("SpatialTransformer", "data", data);
      const Shape& loc = a.in_shapes[1];
      if (loc.size() != 2 || loc[1] != 6 || loc[0] != data[0])
        fail(MX_ERR_SHAPE_MISMATCH, "SpatialTransformer: loc ", shape_str(loc), " must be (", data[0], ", 6) for data ",
             shape_str(data));
      const Shape t = hw_param("SpatialTransformer", a.attrs, "target_shape");
      out = {Shape{data[0], data[1], t[0], t[1]}};
    };
    s.infer_type = same_dtype;
    s.gradient = [](const GradArgs& a) {
      const KV grid_attrs = {{"transform_type", "affine"}, {"target_shape", a.attrs.str("target_shape")}};
      const GradValue grid = a.g.call("GridGenerator", {a.inputs[1]}, grid_attrs);
      const auto g = a.g.call_all("_backward_BilinearSampler", {a.out_grads[0], a.inputs[0], grid});
      return std::vector<GradValue>{g[0], a.g.call("_backward_GridGenerator", {g[1], a.inputs[1]}, grid_attrs)};
    };
    r.add(std::move(s));
  }
}

// ---------------------------------------------------------------- BilinearResize2D, AdaptiveAvgPooling2D

std::vector<ParamSpec> resize_params() {
  return {with_range(param_int("height", "1", "output height (mode size without scale_height)"), 1, 10000),
          with_range(param_int("width", "1", "output width (mode size without scale_width)"), 1, 10000),
          param_string("scale_height", "None", "height scale (modes size and odd_scale)"),
          param_string("scale_width", "None", "width scale (modes size and odd_scale)"),
          enum_param("mode", "size", {"size", "odd_scale", "like", "to_even_down", "to_even_up", "to_odd_down", "to_odd_up"},
                     "how the output size is chosen"),
          param_bool("align_corners", "True", "corner pixels of input and output coincide (else half-pixel centres)")};
}

// The output extent of one axis of size n, with MXNet's rules per mode (scaled sizes truncate).
int64_t resized(const std::string& mode, int64_t n, int64_t fixed, std::optional<double> scale, const char* which) {
  auto truncated = [&](double v) -> int64_t {
    if (!(v < double(kMaxExtent)))
      fail(MX_ERR_SHAPE_MISMATCH, "_contrib_BilinearResize2D: scale_", which, " ", *scale, " makes the ", which, " too large");
    return int64_t(v);
  };
  if (mode == "size") return scale ? truncated(*scale * double(n)) : fixed;
  if (mode == "odd_scale") {
    if (!scale) fail(MX_ERR_INVALID_ARGUMENT, "_contrib_BilinearResize2D: mode odd_scale needs scale_", which);
    return n % 2 == 0 ? truncated(double(n) * *scale) : truncated(double(n - 1) * *scale) + 1;
  }
  const bool even = n % 2 == 0;
  if (mode == "to_even_down") return even ? n : n - 1;
  if (mode == "to_even_up") return even ? n : n + 1;
  if (mode == "to_odd_down") return even ? n - 1 : n;
  return even ? n + 1 : n;  // to_odd_up
}

// out_grad of the resizing ops: 4-d with data's batch and channels (any spatial size).
Shape same_planes(const InferArgs& a) {
  const Shape &g = a.in_shapes[0], &d = a.in_shapes[1];
  require_nchw(a.op.name, "data", d);
  if (g.size() != 4 || g[0] != d[0] || g[1] != d[1])
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": out_grad ", shape_str(g), " must be (", d[0], ", ", d[1], ", h, w) for data ",
         shape_str(d));
  return g;
}

void register_resize_ops(Registry& r) {
  {
    OpSchema s;
    s.name = "_contrib_BilinearResize2D";
    s.doc = "Bilinear resize of NCHW data to a size given by height/width, scales, a second input (mode like) or "
            "rounding to even / odd sizes.";
    s.inputs = {"data", "like"};
    s.params = resize_params();
    s.num_inputs = [](const Attrs& a) -> size_t { return a.str("mode") == "like" ? 2 : 1; };
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const std::string op = "_contrib_BilinearResize2D";
      const Shape& data = a.in_shapes[0];
      require_nchw(op, "data", data);
      if (data[2] < 1 || data[3] < 1)
        fail(MX_ERR_SHAPE_MISMATCH, op, ": data ", shape_str(data), " has no pixels to interpolate from");
      const std::string mode = a.attrs.str("mode");
      Shape o = data;
      if (mode == "like") {
        require_nchw(op, "like", a.in_shapes[1]);
        o[2] = a.in_shapes[1][2];
        o[3] = a.in_shapes[1][3];
      } else {
        o[2] = resized(mode, data[2], a.attrs.i("height"), opt_float(op, a.attrs, "scale_height"), "height");
        o[3] = resized(mode, data[3], a.attrs.i("width"), opt_float(op, a.attrs, "scale_width"), "width");
      }
      if (o[2] < 1 || o[3] < 1 || o[2] > kMaxExtent || o[3] > kMaxExtent)
        fail(MX_ERR_SHAPE_MISMATCH, op, ": mode ", mode, " gives no valid output size for data ", shape_str(data));
      out = {o};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      std::vector<GradValue> g = {a.g.call("_backward_contrib_BilinearResize2D", {a.out_grads[0], a.inputs[0]},
                                           all_attrs(a.attrs))};
      if (a.inputs.size() > 1) g.push_back(kNoGrad);  // like: its values are never read
      return g;
    };
    r.add(std::move(s));
    r.add(backward_op("_backward_contrib_BilinearResize2D", "Gradient of BilinearResize2D with respect to its data.",
                      {"out_grad", "data"}, resize_params(), 1, same_planes));
  }
  {
    const auto params = [] {
      return std::vector<ParamSpec>{with_range(param_shape("output_size", "()", "output size: () for 1, (s,) for s x s, or (h, w)"), 1,
                                               double(kMaxExtent))};
    };
    OpSchema s;
    s.name = "_contrib_AdaptiveAvgPooling2D";
    s.doc = "Average pooling of NCHW data to a fixed output size over windows [floor(i*H/h), ceil((i+1)*H/h)).";
    s.inputs = {"data"};
    s.params = params();
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& data = a.in_shapes[0];
      require_nchw("_contrib_AdaptiveAvgPooling2D", "data", data);
      const Shape os = a.attrs.shape("output_size");
      if (os.size() > 2)
        fail(MX_ERR_INVALID_ARGUMENT, "_contrib_AdaptiveAvgPooling2D: output_size ", shape_str(os), " has more than 2 entries");
      const int64_t h = os.empty() ? 1 : os[0], w = os.empty() ? 1 : os.back();
      out = {Shape{data[0], data[1], h, w}};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_backward_contrib_AdaptiveAvgPooling2D", {a.out_grads[0], a.inputs[0]},
                                             all_attrs(a.attrs))};
    };
    r.add(std::move(s));
    r.add(backward_op("_backward_contrib_AdaptiveAvgPooling2D", "Gradient of AdaptiveAvgPooling2D.",
                      {"out_grad", "data"}, params(), 1, same_planes));
  }
}

// ---------------------------------------------------------------- ROIPooling, ROIAlign

void check_rois(const std::string& op, const Shape& data, const Shape& rois) {
  require_nchw(op, "data", data);
  if (rois.size() != 2 || rois[1] != 5)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": rois ", shape_str(rois), " must be (num_rois, 5) rows of [batch_index, x1, y1, x2, y2]");
}

std::vector<ParamSpec> roi_pool_params() {
  return {param_required(with_range(param_shape("pooled_size", "", "output (height, width) per ROI"), 1, 10000)),
          param_required(with_range(param_float("spatial_scale", "", "ROI coordinates times this give data coordinates"),
                                    1e-30, 1e30))};
}

std::vector<ParamSpec> roi_align_params() {
  std::vector<ParamSpec> p = roi_pool_params();
  p.push_back(with_range(param_int("sample_ratio", "-1", "samples per bin side (<= 0: ceil(roi size / pooled size))"), -1,
                         10000));
  p.push_back(param_bool("position_sensitive", "False", "channel c of bin (i, j) reads input channel (c*ph + i)*pw + j"));
  p.push_back(param_bool("aligned", "False", "shift ROI coordinates by -0.5 pixel (and allow ROIs under one pixel)"));
  return p;
}

Shape roi_align_shape(const Attrs& a, const Shape& data, const Shape& rois) {
  check_rois("_contrib_ROIAlign", data, rois);
  const Shape p = hw_param("_contrib_ROIAlign", a, "pooled_size");
  int64_t c = data[1];
  if (a.b("position_sensitive")) {
    if (c % (p[0] * p[1]) != 0)
      fail(MX_ERR_SHAPE_MISMATCH, "_contrib_ROIAlign: position_sensitive needs channels of data ", shape_str(data),
           " divisible by pooled_size ", shape_str(p));
    c /= p[0] * p[1];
  }
  return {rois[0], c, p[0], p[1]};
}

void register_roi_ops(Registry& r) {
  {
    OpSchema s;
    s.name = "ROIPooling";
    s.doc = "Max pooling of each ROI (rounded to data pixels) into pooled_size bins.";
    s.inputs = {"data", "rois"};
    s.params = roi_pool_params();
    s.num_outputs = 2;  // the output and, for the gradient, the flat data index of each maximum (-1: empty bin)
    s.num_visible_outputs = 1;
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      check_rois("ROIPooling", a.in_shapes[0], a.in_shapes[1]);
      const Shape p = hw_param("ROIPooling", a.attrs, "pooled_size");
      const Shape o{a.in_shapes[1][0], a.in_shapes[0][1], p[0], p[1]};
      out = {o, o};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      same_dtype(a, out);
      out = {out[0], MX_INT64};
    };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{
          a.g.call("_backward_ROIPooling", {a.out_grads[0], a.outputs[1], a.inputs[0]}), kNoGrad};
    };
    r.add(std::move(s));

    OpSchema b;
    b.name = "_backward_ROIPooling";
    b.doc = "Gradient of ROIPooling: out_grad scatter-added at each bin's argmax.";
    b.inputs = {"out_grad", "argmax", "data"};
    b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      if (a.in_shapes[0] != a.in_shapes[1])
        fail(MX_ERR_SHAPE_MISMATCH, "_backward_ROIPooling: out_grad ", shape_str(a.in_shapes[0]), " and argmax ",
             shape_str(a.in_shapes[1]), " differ");
      out = {a.in_shapes[2]};
    };
    b.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      if (a.in_dtypes[1] != MX_INT64) fail(MX_ERR_INVALID_ARGUMENT, "_backward_ROIPooling: argmax must be int64");
      out = {a.in_dtypes[0]};
    };
    b.gradient = no_gradient;
    r.add(std::move(b));
  }
  {
    OpSchema s;
    s.name = "_contrib_ROIAlign";
    s.doc = "Average of bilinear samples over each of pooled_size bins of each ROI (Mask R-CNN's ROIAlign).";
    s.inputs = {"data", "rois"};
    s.params = roi_align_params();
    s.dtypes = kFloats;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      out = {roi_align_shape(a.attrs, a.in_shapes[0], a.in_shapes[1])};
    };
    s.infer_type = same_dtype;
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{
          a.g.call("_backward_ROIAlign", {a.out_grads[0], a.inputs[1], a.inputs[0]}, all_attrs(a.attrs)), kNoGrad};
    };
    r.add(std::move(s));
    r.add(backward_op("_backward_ROIAlign", "Gradient of ROIAlign with respect to its data.", {"out_grad", "rois", "data"},
                      roi_align_params(), 2,
                      [](const InferArgs& a) { return roi_align_shape(a.attrs, a.in_shapes[2], a.in_shapes[1]); }));
  }
}

// ---------------------------------------------------------------- Correlation

std::vector<ParamSpec> correlation_params() {
  return {with_range(param_int("kernel_size", "1", "patch side (odd)"), 1, 1000),
          with_range(param_int("max_displacement", "1", "largest displacement compared"), 0, 1000),
          with_range(param_int("stride1", "1", "stride over data1 positions"), 1, 1000),
          with_range(param_int("stride2", "1", "stride over displacements"), 1, 1000),
          with_range(param_int("pad_size", "0", "zero padding of both inputs"), 0, 1000),
          param_bool("is_multiply", "True", "products (True) or absolute differences (False)")};
}

Shape correlation_shape(const Attrs& a, const Shape& d1, const Shape& d2) {
  const std::string op = "Correlation";
  require_nchw(op, "data1", d1);
  if (d1 != d2) fail(MX_ERR_SHAPE_MISMATCH, op, ": data1 ", shape_str(d1), " and data2 ", shape_str(d2), " differ");
  const int64_t k = a.i("kernel_size"), md = a.i("max_displacement"), s1 = a.i("stride1"), s2 = a.i("stride2"),
                pad = a.i("pad_size");
  if (k % 2 == 0) fail(MX_ERR_INVALID_ARGUMENT, op, ": kernel_size ", k, " must be odd");
  const int64_t border = md + (k - 1) / 2;
  const int64_t h = d1[2] + 2 * pad - 2 * border, w = d1[3] + 2 * pad - 2 * border;
  if (h < 1 || w < 1)
    fail(MX_ERR_SHAPE_MISMATCH, op, ": kernel_size ", k, " and max_displacement ", md, " do not fit data ", shape_str(d1),
         " padded by ", pad);
  const int64_t grid = 2 * (md / s2) + 1;
  return {d1[0], grid * grid, (h + s1 - 1) / s1, (w + s1 - 1) / s1};
}

void register_correlation(Registry& r) {
  OpSchema s;
  s.name = "Correlation";
  s.doc = "FlowNet's correlation: mean over kernel patches and channels of data1 * data2 (or |data1 - data2|) at each "
          "displacement.";
  s.inputs = {"data1", "data2"};
  s.params = correlation_params();
  s.dtypes = kFloats;
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    out = {correlation_shape(a.attrs, a.in_shapes[0], a.in_shapes[1])};
  };
  s.infer_type = same_dtype;
  s.gradient = [](const GradArgs& a) {
    return a.g.call_all("_backward_Correlation", {a.out_grads[0], a.inputs[0], a.inputs[1]}, all_attrs(a.attrs));
  };
  r.add(std::move(s));

  OpSchema b;
  b.name = "_backward_Correlation";
  b.doc = "Gradients of Correlation with respect to data1 and data2.";
  b.inputs = {"out_grad", "data1", "data2"};
  b.params = correlation_params();
  b.num_outputs = 2;
  b.dtypes = kFloats;
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    check_out_grad(a, [](const InferArgs& x) { return correlation_shape(x.attrs, x.in_shapes[1], x.in_shapes[2]); });
    out = {a.in_shapes[1], a.in_shapes[2]};
  };
  b.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0]}; };
  b.gradient = no_gradient;
  r.add(std::move(b));
}

}  // namespace

void register_spatial(Registry& r) {
  register_sampling_ops(r);
  register_resize_ops(r);
  register_roi_ops(r);
  register_correlation(r);
}

}  // namespace mx::op
