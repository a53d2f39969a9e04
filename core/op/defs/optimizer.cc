// Optimizer updates (MXNet's sgd_update, sgd_mom_update, adam_update, rmsprop_update). Each
// returns the new weight (pass the weight as the output to update in place) and updates its
// state inputs in place (mutated_inputs), so the engine orders them as writes.
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
}

}  // namespace mx::op
