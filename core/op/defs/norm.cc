// The norm family: InstanceNorm GroupNorm L2Normalization LRN BatchNorm_v1.
//
// InstanceNorm is GroupNorm with one group per channel: both run the "_group_norm" machinery of
// the CPU kernel (rows of (N * groups) normalised over the rest) and share one gradient graph.
// BatchNorm_v1 is BatchNorm with the channel on axis 1: its shape inference and gradient are
// BatchNorm's, called with axis=1.
#include <cmath>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

ParamSpec eps_param(const char* def, const char* doc) {
  ParamSpec eps = param_float("eps", def, doc);
  eps.min = 0;
  return eps;
}

// Spread a (C,) vector over data of shape `ds` along axis 1.
GradValue spread_channel(Grad& d, GradValue v, GradValue x, const Shape& ds) {
  Shape cs;
  for (size_t i = 0; i < ds.size(); ++i) cs.push_back(i == 1 ? ds[1] : 1);
  return d.op("broadcast_like", {reshape_to(d, v, cs), x});
}

// ---------------------------------------------------------------- GroupNorm, InstanceNorm

// True when gamma / beta hold one value per group (MXNet 1.x's GroupNorm) rather than per channel
// (the paper's, MXNet 2's); with one channel per group the two agree and the channel path is used.
bool per_group_affine(const Shape& data, const Shape& gamma, int64_t groups) {
  return groups != data[1] && gamma == Shape{groups};
}

// Gradient of y = gamma * (x - mean[n, g]) / std[n, g] + beta, the statistics over each
// (sample, group) row of x viewed as (N, G, M); outputs[1..2] are mean and std shaped (N, G, 1).
// gamma and beta are per channel (C,), or per group (G,) as MXNet 1.x's GroupNorm has them.
std::vector<GradValue> group_norm_gradient(const GradArgs& a, int64_t groups) {
  Grad d{a.g};
  const Shape& ds = a.in_shapes[0];
  const Shape rows{ds[0], groups, shape_size(ds) / (ds[0] * groups)};
  const bool per_group = per_group_affine(ds, a.in_shapes[1], groups);
  const GradValue x = a.inputs[0], og = a.out_grads[0];
  const GradValue xr = reshape_to(d, x, rows), ogr = reshape_to(d, og, rows);
  auto spread = [&](GradValue v) { return d.op("broadcast_like", {v, xr}); };
  auto row_mean = [&](GradValue v) { return spread(d.op("mean", {v}, {{"axis", "(2,)"}, {"keepdims", "True"}})); };
  const GradValue inv_std = spread(d.op("reciprocal", {a.outputs[2]}));
  const GradValue xhat = d.mul(d.op("elemwise_sub", {xr, spread(a.outputs[1])}), inv_std);
  const GradValue dxhat = per_group ? d.mul(ogr, spread(reshape_to(d, a.inputs[1], Shape{1, groups, 1})))
                                    : reshape_to(d, d.mul(og, spread_channel(d, a.inputs[1], x, ds)), rows);
  const GradValue dx = d.mul(inv_std, d.op("elemwise_sub", {d.op("elemwise_sub", {dxhat, row_mean(dxhat)}),
                                                            d.mul(xhat, row_mean(d.mul(dxhat, xhat)))}));
  if (per_group) {
    auto group_sum = [&](GradValue v) { return d.op("sum", {v}, {{"axis", "(0,2)"}}); };
    return {reshape_to(d, dx, ds), group_sum(d.mul(ogr, xhat)), group_sum(ogr)};
  }
  auto channel_sum = [&](GradValue v) { return d.op("sum", {v}, {{"axis", "(1,)"}, {"exclude", "True"}}); };
  return {reshape_to(d, dx, ds), channel_sum(d.mul(og, reshape_to(d, xhat, ds))), channel_sum(og)};
}

// Groups of a GroupNorm / InstanceNorm (one group per channel) call on data shaped `d`.
int64_t groups_of(bool instance, const Attrs& a, const Shape& d) { return instance ? d[1] : a.i("num_groups"); }

void register_group_norms(Registry& r) {
  for (bool instance : {true, false}) {
    OpSchema s;
    s.name = instance ? "InstanceNorm" : "GroupNorm";
    s.doc = instance ? "Normalises each (sample, channel) over its spatial positions, then scales by gamma and shifts by "
                       "beta (per channel): out = (x - mean) / sqrt(var + eps) * gamma + beta."
                     : "Splits the channels (axis 1) into num_groups groups and normalises each (sample, group) over its "
                       "channels and positions, then scales by gamma and shifts by beta: one per group (num_groups,), "
                       "as MXNet 1.x, or one per channel (C,).";
    s.inputs = {"data", "gamma", "beta"};
    if (instance) {
      s.params = {eps_param("0.001", "added to the variance")};
    } else {
      s.params = {with_range(param_int("num_groups", "1", "number of channel groups"), 1, double(kMaxExtent)),
                  eps_param("1e-05", "added to the variance"),
                  param_bool("output_mean_var", "False", "accepted for compatibility (mean and std stay hidden)")};
    }
    s.num_outputs = 3;  // out, and mean and std of each (sample, group), shaped (N, G, 1)
    s.num_visible_outputs = 1;
    s.dtypes = float_dtypes();
    // Unknown gamma / beta: per channel for InstanceNorm, per group for GroupNorm (MXNet 1.x's shape).
    s.infer_input_shapes = [instance](const Attrs& a, std::vector<std::optional<Shape>>& in) {
      if (!in[0] || in[0]->size() < 2) return;
      for (size_t i = 1; i < in.size(); ++i)
        if (!in[i]) in[i] = Shape{groups_of(instance, a, *in[0])};
    };
    s.infer_shape = [instance](const InferArgs& a, std::vector<Shape>& out) {
      const std::string& op = a.op.name;
      const Shape& d = a.in_shapes[0];
      if (d.size() < (instance ? 3u : 2u))
        fail(MX_ERR_SHAPE_MISMATCH, op, ": data ", shape_str(d), " must have ", instance ? 3 : 2,
             "+ dims (batch, channel, ...)");
      const int64_t g = groups_of(instance, a.attrs, d);
      if (d[1] % g != 0)
        fail(MX_ERR_INVALID_ARGUMENT, op, ": num_groups ", g, " does not divide the ", d[1], " channels of data ",
             shape_str(d));
      const Shape& gamma = a.in_shapes[1];
      if ((gamma != Shape{d[1]} && (instance || gamma != Shape{g})) || a.in_shapes[2] != gamma)
        fail(MX_ERR_SHAPE_MISMATCH, op, ": gamma ", shape_str(gamma), " and beta ", shape_str(a.in_shapes[2]),
             " must both be (", d[1], ",), one per channel of data ", shape_str(d),
             instance ? "" : ", or (" + std::to_string(g) + ",), one per group");
      const Shape stat{d[0], g, 1};
      out = {d, stat, stat};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      same_dtype(a, out);
      out = {out[0], out[0], out[0]};
    };
    s.gradient = [instance](const GradArgs& a) {
      return group_norm_gradient(a, groups_of(instance, a.attrs, a.in_shapes[0]));
    };
    r.add(std::move(s));
  }
}

// ---------------------------------------------------------------- L2Normalization

// The axes L2Normalization sums over: instance all but 0, channel 1, spatial 2.. .
std::string l2_axes(const std::string& mode, size_t ndim) {
  std::string s = "(";
  if (mode == "channel") return "(1,)";
  for (size_t i = mode == "instance" ? 1 : 2; i < ndim; ++i) s += std::to_string(i) + ",";
  return s + ")";
}

void register_l2_normalization(Registry& r) {
  OpSchema s;
  s.name = "L2Normalization";
  s.doc = "out = data / sqrt(sum(data^2) + eps), the sum over each sample (instance), over the channels at each "
          "position (channel), or over the positions of each channel (spatial).";
  s.inputs = {"data"};
  s.params = {eps_param("1e-10", "added to the sum of squares"),
              {"mode", ParamType::kEnum, "instance", false, -1e308, 1e308, {"instance", "channel", "spatial"},
               "which axes are normalised together"}};
  s.num_outputs = 2;  // out, and the norm (the summed axes kept as 1)
  s.num_visible_outputs = 1;
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const std::string& mode = a.attrs.str("mode");
    const size_t need = mode == "spatial" ? 3 : 2;
    if (d.size() < need)
      fail(MX_ERR_SHAPE_MISMATCH, "L2Normalization: mode ", mode, " needs data of ", need, "+ dims, got ", shape_str(d));
    Shape norm = d;
    for (size_t i = 1; i < d.size(); ++i)
      if (mode == "instance" || (mode == "channel" && i == 1) || (mode == "spatial" && i >= 2)) norm[i] = 1;
    out = {d, norm};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0]}; };
  s.gradient = [](const GradArgs& a) {  // dx = (og - y * sum(og * y)) / norm
    Grad d{a.g};
    const GradValue x = a.inputs[0], y = a.outputs[0], og = a.out_grads[0];
    const std::string axes = l2_axes(a.attrs.str("mode"), a.in_shapes[0].size());
    const GradValue dot = d.op("broadcast_like", {d.op("sum", {d.mul(og, y)}, {{"axis", axes}, {"keepdims", "True"}}), x});
    const GradValue inv = d.op("broadcast_like", {d.op("reciprocal", {a.outputs[1]}), x});
    return std::vector<GradValue>{d.mul(inv, d.op("elemwise_sub", {og, d.mul(y, dot)}))};
  };
  r.add(std::move(s));
}

// ---------------------------------------------------------------- LRN

std::vector<ParamSpec> lrn_params() {
  return {param_float("alpha", "0.0001", "scale of the windowed sum of squares"),
          param_float("beta", "0.75", "exponent"), param_float("knorm", "2", "added to the scaled sum"),
          param_required(with_range(param_int("nsize", "", "channels in the window"), 1, double(kMaxExtent)))};
}

void register_lrn(Registry& r) {
  OpSchema s;
  s.name = "LRN";
  s.doc = "Local response normalisation across channels: out = x / (knorm + alpha / nsize * sum of x^2 over the "
          "nsize channels around)^beta (window [c - nsize/2, c + (nsize-1)/2]).";
  s.inputs = {"data"};
  s.params = lrn_params();
  s.num_outputs = 2;  // out, and knorm + alpha / nsize * windowed sum (for the gradient)
  s.num_visible_outputs = 1;
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    if (d.size() != 4) fail(MX_ERR_SHAPE_MISMATCH, "LRN: data ", shape_str(d), " must be 4-d (batch, channel, y, x)");
    out = {d, d};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0]}; };
  s.gradient = [](const GradArgs& a) {
    std::vector<std::pair<std::string, std::string>> attrs(a.attrs.kv.begin(), a.attrs.kv.end());
    return std::vector<GradValue>{a.g.call("_backward_LRN", {a.out_grads[0], a.inputs[0], a.outputs[1]}, attrs)};
  };
  r.add(std::move(s));

  OpSchema b;
  b.name = "_backward_LRN";
  b.doc = "Gradient of LRN from the gradient of its output, its data and its scale (LRN's hidden output).";
  b.inputs = {"out_grad", "data", "scale"};
  b.params = lrn_params();
  b.dtypes = float_dtypes();
  b.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[0] != a.in_shapes[1] || a.in_shapes[2] != a.in_shapes[1] || a.in_shapes[1].size() != 4)
      fail(MX_ERR_SHAPE_MISMATCH, "_backward_LRN: out_grad ", shape_str(a.in_shapes[0]), ", data ",
           shape_str(a.in_shapes[1]), " and scale ", shape_str(a.in_shapes[2]), " must be one 4-d shape");
    out = {a.in_shapes[1]};
  };
  b.infer_type = same_dtype;
  b.gradient = no_gradient;
  r.add(std::move(b));
}

// ---------------------------------------------------------------- BatchNorm_v1

// BatchNorm's attributes for a BatchNorm_v1 call (channel axis 1).
Attrs batch_norm_attrs(const Attrs& v1) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : v1.kv) k.push_back(key.c_str()), v.push_back(val.c_str());
  k.push_back("axis"), v.push_back("1");
  return parse_attrs(registry().get("BatchNorm"), int(k.size()), k.data(), v.data());
}

void register_batch_norm_v1(Registry& r) {
  OpSchema s;
  s.name = "BatchNorm_v1";
  s.doc = "MXNet's legacy BatchNorm: BatchNorm with the channel on axis 1 (same statistics, moving averages and "
          "gradient).";
  s.inputs = {"data", "gamma", "beta", "moving_mean", "moving_var"};
  ParamSpec mom = param_float("momentum", "0.9", "moving = momentum * moving + (1 - momentum) * batch");
  mom.min = 0;
  mom.max = 1;
  s.params = {eps_param("0.001", "added to the variance"), mom,
              param_bool("fix_gamma", "True", "use gamma = 1 (and give it no gradient)"),
              param_bool("use_global_stats", "False", "normalise by the moving statistics even in training"),
              param_bool("output_mean_var", "False", "accepted for compatibility (mean and var stay hidden)")};
  s.num_outputs = 3;
  s.num_visible_outputs = 1;
  s.mutated_inputs = {3, 4};
  s.dtypes = float_dtypes();
  s.infer_input_shapes = [](const Attrs&, std::vector<std::optional<Shape>>& in) {
    if (!in[0] || in[0]->size() < 2) return;
    for (size_t i = 1; i < in.size(); ++i)
      if (!in[i]) in[i] = Shape{(*in[0])[1]};
  };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[0].size() < 2)
      fail(MX_ERR_SHAPE_MISMATCH, "BatchNorm_v1: data ", shape_str(a.in_shapes[0]), " must have 2+ dims (batch, channel, ...)");
    const OpSchema& bn = registry().get("BatchNorm");
    const Attrs attrs = batch_norm_attrs(a.attrs);
    bn.infer_shape(InferArgs{bn, attrs, a.in_shapes, a.in_dtypes}, out);
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0], a.in_dtypes[0]}; };
  s.gradient = [](const GradArgs& a) {
    const Attrs attrs = batch_norm_attrs(a.attrs);
    return registry().get("BatchNorm").gradient(GradArgs{a.g, attrs, a.inputs, a.outputs, a.out_grads, a.in_shapes, a.is_train});
  };
  r.add(std::move(s));
}

}  // namespace

void register_norm(Registry& r) {
  register_group_norms(r);
  register_l2_normalization(r);
  register_lrn(r);
  register_batch_norm_v1(r);
}

}  // namespace mx::op
