// Optimizer updates (MXNet's sgd_update, sgd_mom_update, adam_update, rmsprop_update, and
// signsgd / signum / nag_mom / ftml / ftrl / rmspropalex / adagrad updates, LAMB's two phases and
// the multi-precision mp_sgd / mp_sgd_mom / mp_nag_mom updates). Each returns the new weight (pass
// the weight as the output to update in place; lamb_update_phase1 returns the step direction) and
// updates its state inputs in place (mutated_inputs), so the engine orders them as writes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

void reg(Registry& r, const std::string& name, const std::string& doc, std::vector<std::string> inputs,
         std::vector<ParamSpec> extra, std::vector<size_t> mutated) {
  OpSchema s;
  s.name = name;
  s.doc = doc;
  s.inputs = std::move(inputs);
  s.params = {param_required(param_float("lr", "", "learning rate")), param_float("wd", "0", "weight decay"),
              param_float("rescale_grad", "1", "multiplies the gradient first"),
              param_float("clip_gradient", "-1", "clip the rescaled gradient to [-c, c] (c < 0: no clipping)"),
              param_bool("lazy_update", "True", "accepted for compatibility (dense arrays update fully)")};
  s.params.insert(s.params.end(), extra.begin(), extra.end());
  s.mutated_inputs = std::move(mutated);
  // The kernels read weight[i] and grad[i] before writing out[i]: `out=weight` runs in place.
  s.inplace = {{0, 0}, {1, 0}};
  // 16-bit weights and states are stored 16-bit; the step itself is computed in float32.
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    for (size_t i = 1; i < a.in_shapes.size(); ++i)
      if (a.in_shapes[i] != a.in_shapes[0])
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": '", a.op.inputs[i], "' is ", shape_str(a.in_shapes[i]), " but weight is ",
             shape_str(a.in_shapes[0]));
    out = {a.in_shapes[0]};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    for (size_t i = 1; i < a.in_dtypes.size(); ++i)
      if (a.in_dtypes[i] != a.in_dtypes[0]) fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": inputs must share one dtype");
    out = {a.in_dtypes[0]};
  };
  r.add(std::move(s));
}

// The common params of MXNet's updates, in its order: lr (required), wd, rescale_grad, clip_gradient.
std::vector<ParamSpec> common_params(const char* clip_name = "clip_gradient") {
  return {param_required(param_float("lr", "", "learning rate")), param_float("wd", "0", "weight decay"),
          param_float("rescale_grad", "1", "multiplies the gradient first"),
          param_float(clip_name, "-1", "clip the rescaled gradient to [-c, c] (c < 0: no clipping)")};
}

// The updates added for issue 16. Every input has the weight's shape except `scalar_inputs` (shape
// (1,), LAMB's norms); inputs from `master` on (the multi-precision states) must be float32, the
// others share the weight's dtype. The output has the weight's shape and dtype.
void add_update(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc,
                std::vector<std::string> inputs, std::vector<ParamSpec> params, std::vector<size_t> mutated,
                size_t master = SIZE_MAX, std::vector<size_t> scalar_inputs = {}) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc;
  s.inputs = std::move(inputs);
  s.params = std::move(params);
  s.mutated_inputs = std::move(mutated);
  // Kernels read weight[i] and grad[i] before writing out[i]: `out=weight` runs in place.
  s.inplace = {{0, 0}, {1, 0}};
  s.dtypes = float_dtypes();
  s.infer_shape = [scalar_inputs](const InferArgs& a, std::vector<Shape>& out) {
    for (size_t i = 1; i < a.in_shapes.size(); ++i) {
      const bool scalar = std::find(scalar_inputs.begin(), scalar_inputs.end(), i) != scalar_inputs.end();
      const Shape want = scalar ? Shape{1} : a.in_shapes[0];
      if (a.in_shapes[i] != want)
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": '", a.op.inputs[i], "' is ", shape_str(a.in_shapes[i]), " but must be ",
             shape_str(want), scalar ? "" : " (the weight's shape)");
    }
    out = {a.in_shapes[0]};
  };
  s.infer_type = [master](const InferArgs& a, std::vector<int32_t>& out) {
    for (size_t i = 1; i < a.in_dtypes.size(); ++i) {
      const int32_t want = i >= master ? int32_t(MX_FLOAT32) : a.in_dtypes[0];
      if (a.in_dtypes[i] != want)
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": '", a.op.inputs[i], "' is ", dtype_info(a.in_dtypes[i]).name,
             " but must be ", dtype_info(want).name, i >= master ? " (the float32 master copy and states)" : " (the weight's dtype)");
    }
    out = {a.in_dtypes[0]};
  };
  r.add(std::move(s));
}

std::vector<ParamSpec> plus(std::vector<ParamSpec> a, std::vector<ParamSpec> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void register_issue16_updates(Registry& r) {
  const ParamSpec momentum = param_float("momentum", "0", "decay of the momentum");
  add_update(r, "signsgd_update", {}, "(1 - lr * wd) * weight - lr * sign(grad) (rescale_grad and clip_gradient do not "
             "change a sign).", {"weight", "grad"}, common_params(), {});
  add_update(r, "signum_update", {},
             "mom = momentum * mom - (1 - momentum) * (wd * weight + clip(rescale_grad * grad)); "
             "(1 - lr * wd_lh) * weight + lr * sign(mom).",
             {"weight", "grad", "mom"},
             plus(common_params(), {momentum, param_float("wd_lh", "0", "decoupled weight decay (Loshchilov & Hutter)")}), {2});
  const std::string nag_doc =
      "g = clip(rescale_grad * grad) + wd * weight; mom = momentum * mom - lr * g; weight + momentum * mom - lr * g.";
  add_update(r, "nag_mom_update", {}, nag_doc, {"weight", "grad", "mom"}, plus(common_params(), {momentum}), {2});
  add_update(r, "ftml_update", {},
             "g = clip(rescale_grad * grad + wd * weight, clip_grad); v = beta2 v + (1 - beta2) g^2; "
             "d_t = (1 - beta1^t) / lr (sqrt(v / (1 - beta2^t)) + epsilon); z = beta1 z + (1 - beta1) g - (d_t - beta1 d) "
             "weight; d = d_t; -z / d_t.",
             {"weight", "grad", "d", "v", "z"},
             plus(common_params("clip_grad"),
                  {with_range(param_float("beta1", "0.6", "decay of z"), 0, 1),
                   with_range(param_float("beta2", "0.999", "decay of v"), 0, 1),
                   param_float("epsilon", "1e-08", "added to the denominator"),
                   param_required(with_range(param_int("t", "", "number of the update (from 1)"), 1, double(INT32_MAX)))}),
             {2, 3, 4});
  add_update(r, "ftrl_update", {},
             "g = clip(rescale_grad * grad); z += g - (sqrt(n + g^2) - sqrt(n)) weight / lr; n += g^2; "
             "(sign(z) lamda1 - z) / ((beta + sqrt(n)) / lr + wd) where |z| > lamda1, else 0.",
             {"weight", "grad", "z", "n"},
             plus(common_params(), {param_float("lamda1", "0.01", "L1 regularization"),
                                    param_float("beta", "1", "per-coordinate learning rate beta")}),
             {2, 3});
  add_update(r, "rmspropalex_update", {},
             "g = clip(rescale_grad * grad + wd * weight); n = (1 - gamma1) g^2 + gamma1 n; "
             "g_avg = (1 - gamma1) g + gamma1 g_avg; delta = gamma2 delta - lr g / sqrt(n - g_avg^2 + epsilon); "
             "clip(weight + delta, clip_weights) (Graves 2013, the centered form).",
             {"weight", "grad", "n", "g", "delta"},
             plus(common_params(), {param_float("gamma1", "0.95", "decay of n and g"), param_float("gamma2", "0.9", "decay of delta"),
                                    param_float("epsilon", "1e-08", "added under the root"),
                                    param_float("clip_weights", "-1", "clip the new weight to [-c, c] (c < 0: no clipping)")}),
             {2, 3, 4});
  // MXNet registers the sparse form under its internal name; dense arrays update every row.
  add_update(r, "_sparse_adagrad_update", {"adagrad_update"},
             "g = clip(rescale_grad * grad); history += g^2; weight - lr g / sqrt(history + epsilon). "
             "wd must be 0, as in MXNet.",
             {"weight", "grad", "history"},
             {param_required(param_float("lr", "", "learning rate")), param_float("epsilon", "1e-07", "added under the root"),
              with_range(param_float("wd", "0", "weight decay: MXNet's adagrad_update supports only 0"), 0, 0),
              param_float("rescale_grad", "1", "multiplies the gradient first"),
              param_float("clip_gradient", "-1", "clip the rescaled gradient to [-c, c] (c < 0: no clipping)")},
             {2});
  add_update(r, "lamb_update_phase1", {},
             "g = clip(rescale_grad * grad); mean, var updated with beta1, beta2; with bias_correction mean /= 1 - beta1^t, "
             "var /= 1 - beta2^t; returns mean / (sqrt(var) + epsilon) + wd * weight (the step direction).",
             {"weight", "grad", "mean", "var"},
             {param_float("beta1", "0.9", "decay of the mean"), param_float("beta2", "0.999", "decay of the variance"),
              param_float("epsilon", "1e-06", "added to the denominator"),
              param_required(with_range(param_int("t", "", "number of the update (from 1)"), 1, double(INT32_MAX))),
              param_bool("bias_correction", "True", "divide the moments by 1 - beta^t"),
              param_required(param_float("wd", "", "weight decay")),
              param_float("rescale_grad", "1", "multiplies the gradient first"),
              param_float("clip_gradient", "-1", "clip the rescaled gradient to [-c, c] (c < 0: no clipping)")},
             {2, 3});
  add_update(r, "lamb_update_phase2", {},
             "r1 clipped to [lower_bound, upper_bound] (each when >= 0); weight - lr * (r1 / r2) * g, or weight - lr * g "
             "when r1 or r2 is 0.",
             {"weight", "g", "r1", "r2"},
             {param_required(param_float("lr", "", "learning rate")),
              param_float("lower_bound", "-1", "lower limit of r1 (< 0: none)"),
              param_float("upper_bound", "-1", "upper limit of r1 (< 0: none)")},
             {}, SIZE_MAX, {2, 3});
  // Multi-precision: a 16-bit (or any float) weight with a float32 master copy weight32 (and float32
  // momentum); the step runs in float32 on weight32 and the output is weight32 rounded.
  const auto lazy = param_bool("lazy_update", "True", "accepted for compatibility (dense arrays update fully)");
  add_update(r, "mp_sgd_update", {}, "weight32 = (1 - lr * wd) weight32 - lr clip(rescale_grad * grad); out = weight32.",
             {"weight", "grad", "weight32"}, plus(common_params(), {lazy}), {2}, 2);
  add_update(r, "mp_sgd_mom_update", {},
             "mom = momentum mom - lr (wd weight32 + clip(rescale_grad * grad)); weight32 += mom; out = weight32.",
             {"weight", "grad", "mom", "weight32"}, plus(common_params(), {momentum, lazy}), {2, 3}, 2);
  add_update(r, "mp_nag_mom_update", {}, nag_doc + " Computed on weight32 (float32); out = weight32.",
             {"weight", "grad", "mom", "weight32"}, plus(common_params(), {momentum}), {2, 3}, 2);
}

// ---------------------------------------------------------------- multi-tensor SGD (MXNet 1.9.1)
// multi_sgd_update and its momentum / multi-precision forms update num_weights weights in one call.
// Inputs are interleaved per weight: (weight, grad[, mom][, weight32]); outputs are the new
// weights. As MXNet's kernel (MultiSGDKernelParam::N), one call takes at most kMaxMultiWeights.
constexpr size_t kMaxMultiWeights = 60;

// The floats of `lrs` / `wds`: "(0.1, 0.2)", "[0.1,0.2]" or "0.1,0.2"; each finite.
std::vector<double> float_tuple(const std::string& op, const char* name, const std::string& text) {
  std::vector<double> v;
  const char* p = text.c_str();
  while (*p == ' ' || *p == '(' || *p == '[') ++p;
  while (*p && *p != ')' && *p != ']') {
    char* end = nullptr;
    const double x = std::strtod(p, &end);
    if (end == p || !std::isfinite(x))
      fail(MX_ERR_INVALID_ARGUMENT, op, ": ", name, "='", text, "' is not a tuple of finite floats");
    v.push_back(x);
    p = end;
    while (*p == ' ' || *p == ',') ++p;
  }
  return v;
}

void add_multi_sgd(Registry& r, const std::string& name, const std::string& doc, bool has_mom, bool mp) {
  const size_t stride = 2 + size_t(has_mom) + size_t(mp);
  OpSchema s;
  s.name = name;
  s.doc = doc + " Inputs interleaved per weight: weight, grad" + (has_mom ? ", mom" : "") + (mp ? ", weight32" : "") +
          "; outputs the num_weights new weights (pass out=weights to update in place).";
  s.inputs = {"data"};
  s.params = {param_required(param_string("lrs", "", "learning rates, one per weight")),
              param_required(param_string("wds", "", "weight decays, one per weight"))};
  if (has_mom) s.params.push_back(param_float("momentum", "0", "decay of the momentum"));
  s.params.push_back(param_float("rescale_grad", "1", "multiplies the gradient first"));
  s.params.push_back(param_float("clip_gradient", "-1", "clip the rescaled gradient to [-c, c] (c < 0: no clipping)"));
  s.params.push_back(with_range(param_int("num_weights", "1", "number of weights updated"), 1, double(kMaxMultiWeights)));
  s.num_inputs = [stride](const Attrs& a) { return size_t(a.i("num_weights")) * stride; };
  s.output_count = [](const Attrs& a) { return int(a.i("num_weights")); };
  // Listed for the largest call; the core skips indices past a call's inputs.
  for (size_t k = 0; k < kMaxMultiWeights; ++k) {
    if (has_mom) s.mutated_inputs.push_back(k * stride + 2);
    if (mp) s.mutated_inputs.push_back(k * stride + stride - 1);
    s.inplace.push_back({k * stride, k});  // out=weights: each element read before it is written
  }
  s.dtypes = float_dtypes();
  s.infer_shape = [stride](const InferArgs& a, std::vector<Shape>& out) {
    const size_t n = size_t(a.attrs.i("num_weights"));
    for (const char* key : {"lrs", "wds"})
      if (const size_t got = float_tuple(a.op.name, key, a.attrs.str(key)).size(); got != n)
        fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": ", key, " has ", got, " values but num_weights is ", n);
    out.assign(n, Shape{});
    for (size_t k = 0; k < n; ++k) {
      const Shape& w = a.in_shapes[k * stride];
      for (size_t j = 1; j < stride; ++j)
        if (a.in_shapes[k * stride + j] != w)
          fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": weight ", k, ": input ", k * stride + j, " is ",
               shape_str(a.in_shapes[k * stride + j]), " but the weight is ", shape_str(w));
      out[k] = w;
    }
  };
  s.infer_type = [stride, mp](const InferArgs& a, std::vector<int32_t>& out) {
    const size_t n = a.in_dtypes.size() / stride;
    out.assign(n, 0);
    for (size_t k = 0; k < n; ++k) {
      const int32_t w = a.in_dtypes[k * stride];
      for (size_t j = 1; j < stride; ++j) {
        // With mp, the states after grad (mom, weight32) are float32.
        const int32_t want = mp && j >= 2 ? int32_t(MX_FLOAT32) : w;
        const int32_t got = a.in_dtypes[k * stride + j];
        if (got != want)
          fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": weight ", k, ": input ", k * stride + j, " is ",
               dtype_info(got).name, " but must be ", dtype_info(want).name);
      }
      if (k > 0 && w != a.in_dtypes[0])
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": weight ", k, " is ", dtype_info(w).name, " but weight 0 is ",
             dtype_info(a.in_dtypes[0]).name, " (one call updates weights of one dtype)");
      out[k] = w;
    }
  };
  r.add(std::move(s));
}

void register_multi_sgd(Registry& r) {
  const std::string sgd = "Per weight k: weight - lrs[k] * (clip(rescale_grad * grad) + wds[k] * weight).";
  const std::string mom = "Per weight k: mom = momentum * mom - lrs[k] * (clip(rescale_grad * grad) + wds[k] * weight); "
                          "weight + mom.";
  add_multi_sgd(r, "multi_sgd_update", sgd, false, false);
  add_multi_sgd(r, "multi_sgd_mom_update", mom, true, false);
  add_multi_sgd(r, "multi_mp_sgd_update", sgd + " Computed on the float32 weight32; out = weight32.", false, true);
  add_multi_sgd(r, "multi_mp_sgd_mom_update", mom + " Computed on the float32 weight32; out = weight32.", true, true);
}

}  // namespace

void register_optimizer(Registry& r) {
  reg(r, "sgd_update", "weight - lr * (clip(rescale_grad * grad) + wd * weight).", {"weight", "grad"}, {}, {});
  reg(r, "sgd_mom_update", "mom = momentum * mom - lr * (clip(rescale_grad * grad) + wd * weight); weight + mom.",
      {"weight", "grad", "mom"}, {param_float("momentum", "0", "momentum")}, {2});
  reg(r, "adam_update",
      "g = clip(rescale_grad * grad) + wd * weight; mean, var updated with beta1, beta2; "
      "weight - lr * mean / (sqrt(var) + epsilon). Bias correction is the caller's (folded into lr).",
      {"weight", "grad", "mean", "var"},
      {param_float("beta1", "0.9", "decay of the mean"), param_float("beta2", "0.999", "decay of the variance"),
       param_float("epsilon", "1e-08", "added to the denominator")},
      {2, 3});
  reg(r, "rmsprop_update",
      "g = clip(rescale_grad * grad) + wd * weight; n = (1 - gamma1) g^2 + gamma1 n; weight - lr g / sqrt(n + epsilon).",
      {"weight", "grad", "n"},
      {param_float("gamma1", "0.95", "decay of n"), param_float("epsilon", "1e-08", "added under the root"),
       param_float("clip_weights", "-1", "clip the new weight to [-c, c] (c < 0: no clipping)")},
      {2});
  register_issue16_updates(r);
  register_multi_sgd(r);
}

}  // namespace mx::op
