// The nn family: Activation (activation.cc), LeakyReLU, softmax / log_softmax, SoftmaxOutput (and
// _softmax_output_grad), softmax_cross_entropy, BatchNorm, LayerNorm, Dropout.
#include <cmath>
#include <numeric>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

std::string axis_tuple(int axis) { return "(" + std::to_string(axis) + ",)"; }

void register_softmax(Registry& r) {
  for (bool log : {false, true}) {
    OpSchema s;
    s.name = log ? "log_softmax" : "softmax";
    s.doc = log ? "log(softmax(data / temperature)) along axis." : "exp(x / T) / sum(exp(x / T)) along axis.";
    s.inputs = {"data"};
    ParamSpec t = param_float("temperature", "1", "divides the input before the exponential");
    t.min = 1e-30;
    s.params = {param_axis("axis", "-1", "the axis to normalise over"), t};
    s.dtypes = float_dtypes();
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      axis_of(a.op.name, a.attrs.i("axis"), a.in_shapes[0].size());
      out = {a.in_shapes[0]};
    };
    s.infer_shape_partial = same_shape_partial;
    s.infer_type = first_type;
    s.gradient = [log](const GradArgs& a) {
      Grad d{a.g};
      const int axis = axis_of(a.attrs.kv.empty() ? "softmax" : "softmax", a.attrs.i("axis"), a.in_shapes[0].size());
      const std::vector<std::pair<std::string, std::string>> red = {{"axis", axis_tuple(axis)}, {"keepdims", "True"}};
      const GradValue og = a.out_grads[0], y = a.outputs[0];
      GradValue g;
      if (log) {  // og - softmax * sum(og)
        g = d.op("broadcast_sub", {og, d.op("broadcast_mul", {d.op("exp", {y}), d.op("sum", {og}, red)})});
      } else {  // y * (og - sum(og * y))
        g = d.mul(y, d.op("broadcast_sub", {og, d.op("sum", {d.mul(og, y)}, red)}));
      }
      return std::vector<GradValue>{d.scalar("_div_scalar", g, a.attrs.f("temperature"))};
    };
    r.add(std::move(s));
  }
}

std::vector<ParamSpec> softmax_output_params() {
  return {param_float("grad_scale", "1", "scales the gradient"),
          param_float("ignore_label", "-1", "label to ignore when use_ignore"),
          param_bool("multi_output", "False", "softmax over axis 1 with one label per position"),
          param_bool("use_ignore", "False", "give no gradient to samples labelled ignore_label"),
          param_bool("preserve_shape", "False", "softmax over the last axis, keeping the shape"),
          {"normalization", ParamType::kEnum, "null", false, -1e308, 1e308, {"null", "batch", "valid"},
           "divide the gradient by nothing, the batch size, or the number of non-ignored labels"},
          param_bool("out_grad", "False", "accepted for compatibility; must be False"),
          param_float("smooth_alpha", "0", "accepted for compatibility; must be 0")};
}

void register_softmax_output(Registry& r) {
  OpSchema s;
  s.name = "SoftmaxOutput";
  s.aliases = {"Softmax"};
  s.doc = "Softmax forward; as a loss layer its gradient is (softmax - one_hot(label)) * grad_scale / norm, "
          "whatever the gradient flowing in.";
  s.inputs = {"data", "label"};
  s.params = softmax_output_params();
  s.dtypes = float_dtypes();
  s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (!in[0] || in[1] || in[0]->empty()) return;
    const Shape& d = *in[0];
    Shape l{d[0]};
    if (a.b("multi_output")) l.append(d.begin() + 2, d.end());  // (N, C, d...) -> (N, d...)
    else if (d.size() > 2) l = Shape(d.begin(), d.end() - 1);
    in[1] = l;
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const Shape& l = a.in_shapes[1];
    if (a.attrs.b("out_grad") || a.attrs.f("smooth_alpha") != 0)
      fail(MX_ERR_UNSUPPORTED, "SoftmaxOutput: out_grad and smooth_alpha are not supported yet");
    Shape expect;
    if (a.attrs.b("multi_output")) {
      if (d.size() < 2) fail(MX_ERR_SHAPE_MISMATCH, "SoftmaxOutput: multi_output needs data of 2+ dims, got ", shape_str(d));
      expect.push_back(d[0]);
      expect.append(d.begin() + 2, d.end());
    } else if (a.attrs.b("preserve_shape")) {
      expect = Shape(d.begin(), d.end() - 1);
    } else {
      expect = {d[0]};
    }
    if (shape_size(l) != dims_product(expect, 0, expect.size(), "SoftmaxOutput: label size"))
      fail(MX_ERR_SHAPE_MISMATCH, "SoftmaxOutput: label is ", shape_str(l), " but data ", shape_str(d), " needs ",
           shape_str(expect));
    out = {d};
  };
  s.infer_type = first_type;
  s.gradient = [](const GradArgs& a) {
    std::vector<std::pair<std::string, std::string>> attrs(a.attrs.kv.begin(), a.attrs.kv.end());
    return std::vector<GradValue>{a.g.call("_softmax_output_grad", {a.outputs[0], a.inputs[1]}, attrs), kNoGrad};
  };
  r.add(std::move(s));

  OpSchema g;
  g.name = "_softmax_output_grad";
  g.doc = "Gradient of SoftmaxOutput from its output and label.";
  g.inputs = {"out", "label"};
  g.params = softmax_output_params();
  g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
  g.infer_type = first_type;
  g.gradient = no_gradient;
  r.add(std::move(g));
}

constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluLambda = 1.0507009873554804934193349852946;

void register_leaky_relu(Registry& r) {
  OpSchema s;
  s.name = "LeakyReLU";
  s.doc = "leaky: x or slope*x; elu: x or slope*(e^x - 1); selu: scaled elu; gelu: x*Phi(x); "
          "prelu: x or gamma[c]*x with a learned gamma per channel (axis 1).";
  s.inputs = {"data", "gamma"};
  s.params = {{"act_type", ParamType::kEnum, "leaky", false, -1e308, 1e308, {"leaky", "elu", "prelu", "selu", "gelu"},
               "the activation"},
              param_float("slope", "0.25", "negative slope (leaky, elu)"),
              param_float("lower_bound", "0.125", "accepted for compatibility (rrelu)"),
              param_float("upper_bound", "0.334", "accepted for compatibility (rrelu)")};
  s.num_inputs = [](const Attrs& a) -> size_t { return a.str("act_type") == "prelu" ? 2 : 1; };
  s.dtypes = float_dtypes();
  s.infer_input_shapes = [](const Attrs&, std::vector<std::optional<Shape>>& in) {
    if (in.size() > 1 && in[0] && in[0]->size() > 1 && !in[1]) in[1] = Shape{(*in[0])[1]};
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes.size() > 1) {
      const Shape& d = a.in_shapes[0];
      if (d.size() < 2 || a.in_shapes[1] != Shape{d[1]})
        fail(MX_ERR_SHAPE_MISMATCH, "LeakyReLU: prelu gamma is ", shape_str(a.in_shapes[1]), " but data ", shape_str(d),
             " has ", d.size() < 2 ? 0 : d[1], " channels on axis 1");
    }
    out = {a.in_shapes[0]};
  };
  s.infer_shape_partial = first_input_shape_partial;  // prelu's gamma has a shape of its own
  s.infer_type = same_dtype;
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const std::string& t = a.attrs.str("act_type");
    const double slope = a.attrs.f("slope");
    const GradValue x = a.inputs[0], y = a.outputs[0], og = a.out_grads[0];
    const GradValue pos = d.scalar("_greater_scalar", x, 0), ones = d.op("ones_like", {x});
    if (t == "leaky") return std::vector<GradValue>{d.mul(og, d.scalar("_plus_scalar", d.scalar("_mul_scalar", pos, 1 - slope), slope))};
    if (t == "elu") return std::vector<GradValue>{d.mul(og, d.op("where", {pos, ones, d.scalar("_plus_scalar", y, slope)}))};
    if (t == "selu")
      return std::vector<GradValue>{d.mul(og, d.op("where", {pos, d.scalar("_mul_scalar", ones, kSeluLambda),
                                                             d.scalar("_plus_scalar", y, kSeluLambda * kSeluAlpha)}))};
    if (t == "gelu") {
      const GradValue cdf = d.scalar("_mul_scalar", d.scalar("_plus_scalar", d.op("erf", {d.scalar("_mul_scalar", x, M_SQRT1_2)}), 1), 0.5);
      const GradValue pdf = d.scalar("_mul_scalar", d.op("exp", {d.scalar("_mul_scalar", d.op("square", {x}), -0.5)}), 0.3989422804014327);
      return std::vector<GradValue>{d.mul(og, d.op("elemwise_add", {cdf, d.mul(x, pdf)}))};
    }
    // prelu: gamma broadcast over axis 1
    Shape gshape;
    for (size_t i = 0; i < a.in_shapes[0].size(); ++i) gshape.push_back(i == 1 ? a.in_shapes[0][1] : 1);
    const GradValue gb = d.op("broadcast_like", {d.op("Reshape", {a.inputs[1]}, {{"shape", shape_str(gshape)}}), x});
    const GradValue neg = d.scalar("_rminus_scalar", pos, 1);
    return std::vector<GradValue>{d.mul(og, d.op("where", {pos, ones, gb})),
                                  d.op("sum", {d.mul(og, d.mul(x, neg))}, {{"axis", "(1,)"}, {"exclude", "True"}})};
  };
  r.add(std::move(s));
}

// MXNet's mask: the data's shape with each of `axes` set to 1, so that one mask value is shared
// (broadcast) along those axes.
Shape dropout_mask_shape(const Attrs& a, const Shape& data) {
  Shape mask = data;
  for (int64_t axis : a.shape("axes")) {
    const int64_t nd = int64_t(data.size());
    if (axis < -nd || axis >= nd)
      fail(MX_ERR_INVALID_ARGUMENT, "Dropout: axes ", a.str("axes"), " out of range for data ", shape_str(data));
    mask[size_t(axis < 0 ? axis + nd : axis)] = 1;
  }
  return mask;
}

void register_dropout(Registry& r) {
  OpSchema s;
  s.name = "Dropout";
  s.doc = "Zeroes each element with probability p and scales the rest by 1/(1-p), in training (or always with "
          "mode='always'); the identity otherwise. The mask is a hidden second output the gradient reuses.";
  s.inputs = {"data"};
  ParamSpec p = param_float("p", "0.5", "probability of dropping an element");
  p.min = 0;
  p.max = 1;
  s.params = {p,
              {"mode", ParamType::kEnum, "training", false, -1e308, 1e308, {"training", "always"},
               "drop only in training, or always"},
              param_shape("axes", "()", "axes along which one mask value is shared (variational dropout)"),
              param_bool("cudnn_off", "False", "accepted for compatibility")};
  s.num_outputs = 2;
  s.num_visible_outputs = 1;
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    out = {a.in_shapes[0], dropout_mask_shape(a.attrs, a.in_shapes[0])};
  };
  s.infer_shape_partial = [](const PartialInferArgs& a) {  // data, output and (without axes) mask: one shape
    if (a.attrs.shape("axes").empty()) return same_shape_partial(a);
    std::vector<PartialShape> out = {a.out[0]};
    same_shape_partial(PartialInferArgs{a.op, a.attrs, a.in, out});
    a.out[0] = out[0];
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0]}; };
  s.random_blocks = [](const Attrs&, const std::vector<Shape>& out) { return (uint64_t(shape_size(out[1])) + 3) / 4; };
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    if (a.attrs.shape("axes").empty()) return std::vector<GradValue>{d.mul(a.out_grads[0], a.outputs[1])};
    return std::vector<GradValue>{d.op("broadcast_mul", {a.out_grads[0], a.outputs[1]})};
  };
  r.add(std::move(s));
}

}  // namespace

void register_activation(Registry& r);  // activation.cc
void register_batch_norm(Registry& r);
void register_norm_and_loss(Registry& r);

void register_nn(Registry& r) {
  register_batch_norm(r);
  register_norm_and_loss(r);
  register_leaky_relu(r);
  register_dropout(r);
  register_activation(r);
  register_softmax(r);
  register_softmax_output(r);
}

}  // namespace mx::op

namespace mx::op {
namespace {

// (1, C, 1, ...) for per-channel vectors of data shaped `d` along `axis`.
Shape channel_shape(const Shape& d, int axis) {
  Shape s;
  for (size_t i = 0; i < d.size(); ++i) s.push_back(int(i) == axis ? d[i] : 1);
  return s;
}

}  // namespace

void register_batch_norm(Registry& r) {
  OpSchema s;
  s.name = "BatchNorm";
  s.doc = "Normalises each channel (axis) by the batch's mean and variance in training — updating moving_mean / "
          "moving_var (auxiliary states) with momentum — and by the moving statistics otherwise; then scales by gamma "
          "(1 with fix_gamma) and shifts by beta.";
  s.inputs = {"data", "gamma", "beta", "moving_mean", "moving_var"};
  ParamSpec eps = param_float("eps", "0.001", "added to the variance");
  eps.min = 0;
  ParamSpec mom = param_float("momentum", "0.9", "moving = momentum * moving + (1 - momentum) * batch");
  mom.min = 0;
  mom.max = 1;
  s.params = {eps, mom, param_bool("fix_gamma", "True", "use gamma = 1 (and give it no gradient)"),
              param_bool("use_global_stats", "False", "normalise by the moving statistics even in training"),
              param_bool("output_mean_var", "False", "accepted for compatibility (mean and var stay hidden)"),
              param_axis("axis", "1", "the channel axis"),
              param_bool("cudnn_off", "False", "accepted for compatibility")};
  s.num_outputs = 3;  // out, and the mean and variance used (for the gradient)
  s.num_visible_outputs = 1;
  s.mutated_inputs = {3, 4};
  s.dtypes = float_dtypes();  // 16-bit: stored 16-bit (moving stats too), computed as float32
  s.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (!in[0]) return;
    const Shape c{(*in[0])[size_t(axis_of("BatchNorm", a.i("axis"), in[0]->size()))]};
    for (size_t i = 1; i < in.size(); ++i)
      if (!in[i]) in[i] = c;
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const int ax = axis_of("BatchNorm", a.attrs.i("axis"), d.size());
    const Shape c{d[size_t(ax)]};
    for (size_t i = 1; i < 5; ++i)
      if (a.in_shapes[i] != c)
        fail(MX_ERR_SHAPE_MISMATCH, "BatchNorm: ", a.op.inputs[i], " is ", shape_str(a.in_shapes[i]), " but data ",
             shape_str(d), " has ", c[0], " channels on axis ", ax);
    out = {d, c, c};
  };
  // Partial shapes: output = data; gamma, beta, the moving stats and the hidden mean / var are all
  // (C,), C being data's dim on axis (known from any of them).
  s.infer_shape_partial = [](const PartialInferArgs& a) {
    PartialShape d = a.in[0];
    unify(d, a.out[0], "BatchNorm", "output", "data");
    a.in[0] = a.out[0] = d;
    if (!d) return;
    const size_t ax = size_t(axis_of("BatchNorm", a.attrs.i("axis"), d->size()));
    PartialShape c = Shape{(*d)[ax]};
    for (size_t i = 1; i < a.in.size(); ++i) unify(c, a.in[i], "BatchNorm", "'" + a.op.inputs[i] + "'", "the channels of data on axis " + std::to_string(ax));
    for (size_t o = 1; o < a.out.size(); ++o) unify(c, a.out[o], "BatchNorm", "output " + std::to_string(o), "the channels of data");
    (*d)[ax] = (*c)[0];
    a.in[0] = a.out[0] = d;
    for (size_t i = 1; i < a.in.size(); ++i) a.in[i] = c;
    for (size_t o = 1; o < a.out.size(); ++o) a.out[o] = c;
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0], a.in_dtypes[0]}; };
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const Shape& ds = a.in_shapes[0];
    const int ax = axis_of("BatchNorm", a.attrs.i("axis"), ds.size());
    const std::string cshape = shape_str(channel_shape(ds, ax)), red = "(" + std::to_string(ax) + ",)";
    const GradValue x = a.inputs[0], og = a.out_grads[0];
    auto spread = [&](GradValue v) { return d.op("broadcast_like", {d.op("Reshape", {v}, {{"shape", cshape}}), x}); };
    auto chan_sum = [&](GradValue v) { return d.op("sum", {v}, {{"axis", red}, {"exclude", "True"}}); };
    auto chan_mean_b = [&](GradValue v) {
      return d.op("broadcast_like", {d.op("mean", {v}, {{"axis", red}, {"exclude", "True"}, {"keepdims", "True"}}), x});
    };
    const GradValue mean = a.outputs[1], var = a.outputs[2];
    const GradValue invstd_b = spread(d.op("rsqrt", {d.scalar("_plus_scalar", var, a.attrs.f("eps"))}));
    const GradValue xhat = d.mul(d.op("elemwise_sub", {x, spread(mean)}), invstd_b);
    const bool fix = a.attrs.b("fix_gamma");
    const GradValue dxhat = fix ? og : d.mul(og, spread(a.inputs[1]));
    GradValue dx;
    if (a.is_train && !a.attrs.b("use_global_stats")) {  // batch statistics depend on x
      dx = d.mul(invstd_b, d.op("elemwise_sub", {d.op("elemwise_sub", {dxhat, chan_mean_b(dxhat)}),
                                                 d.mul(xhat, chan_mean_b(d.mul(dxhat, xhat)))}));
    } else {
      dx = d.mul(dxhat, invstd_b);
    }
    return std::vector<GradValue>{dx, fix ? kNoGrad : chan_sum(d.mul(og, xhat)), chan_sum(og), kNoGrad, kNoGrad};
  };
  r.add(std::move(s));
}

}  // namespace mx::op

namespace mx::op {

void register_norm_and_loss(Registry& r) {
  OpSchema ln;
  ln.name = "LayerNorm";
  ln.doc = "Normalises over `axis` by each sample's mean and standard deviation, then scales by gamma and shifts by "
           "beta (both of the axis's length).";
  ln.inputs = {"data", "gamma", "beta"};
  ParamSpec eps = param_float("eps", "1e-05", "added to the variance");
  eps.min = 0;
  ln.params = {param_axis("axis", "-1", "the normalised axis"), eps,
               param_bool("output_mean_var", "False", "accepted for compatibility (mean and std stay hidden)")};
  ln.num_outputs = 3;  // out, mean, std (keepdims shape)
  ln.num_visible_outputs = 1;
  ln.dtypes = float_dtypes();
  ln.infer_input_shapes = [](const Attrs& a, std::vector<std::optional<Shape>>& in) {
    if (!in[0]) return;
    const Shape c{(*in[0])[size_t(axis_of("LayerNorm", a.i("axis"), in[0]->size()))]};
    for (size_t i = 1; i < in.size(); ++i)
      if (!in[i]) in[i] = c;
  };
  ln.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const int64_t ax0 = a.attrs.i("axis"), ax = ax0 < 0 ? ax0 + int64_t(d.size()) : ax0;
    if (ax < 0 || ax >= int64_t(d.size())) fail(MX_ERR_INVALID_ARGUMENT, "LayerNorm: axis ", ax0, " is out of range for ", shape_str(d));
    for (size_t i = 1; i < 3; ++i)
      if (a.in_shapes[i] != Shape{d[size_t(ax)]})
        fail(MX_ERR_SHAPE_MISMATCH, "LayerNorm: ", a.op.inputs[i], " is ", shape_str(a.in_shapes[i]), ", expected (",
             d[size_t(ax)], ")");
    Shape stat = d;
    stat[size_t(ax)] = 1;
    out = {d, stat, stat};
  };
  ln.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0], a.in_dtypes[0]}; };
  ln.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const Shape& ds = a.in_shapes[0];
    const int64_t ax0 = a.attrs.i("axis"), ax = ax0 < 0 ? ax0 + int64_t(ds.size()) : ax0;
    Shape vshape;
    for (size_t i = 0; i < ds.size(); ++i) vshape.push_back(int64_t(i) == ax ? ds[i] : 1);
    const std::string red = "(" + std::to_string(ax) + ",)";
    const GradValue x = a.inputs[0], og = a.out_grads[0];
    auto spread_stat = [&](GradValue v) { return d.op("broadcast_like", {v, x}); };
    auto spread_vec = [&](GradValue v) {
      return d.op("broadcast_like", {d.op("Reshape", {v}, {{"shape", shape_str(vshape)}}), x});
    };
    auto row_mean_b = [&](GradValue v) {
      return d.op("broadcast_like", {d.op("mean", {v}, {{"axis", red}, {"keepdims", "True"}}), x});
    };
    auto others_sum = [&](GradValue v) { return d.op("sum", {v}, {{"axis", red}, {"exclude", "True"}}); };
    const GradValue inv_std = spread_stat(d.op("reciprocal", {a.outputs[2]}));
    const GradValue xhat = d.mul(d.op("elemwise_sub", {x, spread_stat(a.outputs[1])}), inv_std);
    const GradValue dxhat = d.mul(og, spread_vec(a.inputs[1]));
    const GradValue dx = d.mul(inv_std, d.op("elemwise_sub", {d.op("elemwise_sub", {dxhat, row_mean_b(dxhat)}),
                                                              d.mul(xhat, row_mean_b(d.mul(dxhat, xhat)))}));
    return std::vector<GradValue>{dx, others_sum(d.mul(og, xhat)), others_sum(og)};
  };
  r.add(std::move(ln));

  OpSchema ce;
  ce.name = "softmax_cross_entropy";
  ce.doc = "sum over the batch of -log(softmax(data)[label]); data (N, C), label (N,); output (1,).";
  ce.inputs = {"data", "label"};
  ce.dtypes = float_dtypes();
  ce.infer_input_shapes = [](const Attrs&, std::vector<std::optional<Shape>>& in) {
    if (in[0] && !in[0]->empty() && !in[1]) in[1] = Shape{(*in[0])[0]};
  };
  ce.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    if (d.size() != 2 || a.in_shapes[1] != Shape{d[0]})
      fail(MX_ERR_SHAPE_MISMATCH, "softmax_cross_entropy: data ", shape_str(d), " and label ", shape_str(a.in_shapes[1]),
           " must be (N, C) and (N,)");
    out = {Shape{1}};
  };
  ce.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  ce.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const std::string depth = std::to_string(a.in_shapes[0][1]);
    const GradValue p = d.op("softmax", {a.inputs[0]});
    const GradValue onehot = a.g.call("_cast_like", {d.op("one_hot", {a.inputs[1]}, {{"depth", depth}}), a.inputs[0]});
    const GradValue og = d.op("Reshape", {a.out_grads[0]}, {{"shape", "(1,1)"}});
    return std::vector<GradValue>{d.op("broadcast_mul", {d.op("elemwise_sub", {p, onehot}), og}), kNoGrad};
  };
  r.add(std::move(ce));
}

}  // namespace mx::op
