// The reduce family: reductions over axes (MXNet's sum, mean, prod, max, min, nansum, norm, argmax,
// argmin, argmax_channel) and _sum_to_like (the gradient of broadcasting). Their gradients put the output gradient
// back on the reduced axes with Reshape + broadcast_like.
#include <cmath>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {

std::vector<bool> reduced_axes(const std::string& op, const Shape& shape, const Attrs& attrs) {
  const int n = int(shape.size());
  std::vector<bool> mask(size_t(n), attrs.is_none("axis"));
  if (!attrs.is_none("axis")) {
    for (int64_t ax : parse_shape(attrs.str("axis"), "axis")) {
      const int64_t a = ax < 0 ? ax + n : ax;
      if (a < 0 || a >= n) fail(MX_ERR_INVALID_ARGUMENT, op, ": axis ", ax, " is out of range for shape ", shape_str(shape));
      mask[size_t(a)] = true;
    }
    bool exclude = false;
    for (auto& [k, v] : attrs.kv)
      if (k == "exclude") exclude = v == "True";
    if (exclude) mask.flip();
  }
  return mask;
}

Shape reduce_shape(const Shape& shape, const std::vector<bool>& mask, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < shape.size(); ++i)
    if (!mask[i]) out.push_back(shape[i]);
    else if (keepdims) out.push_back(1);
  if (out.empty()) out.push_back(1);  // MXNet 1.x has no 0-d arrays: a full reduction is (1,)
  return out;
}

namespace {

using GradFn = std::function<std::vector<GradValue>(const GradArgs&)>;

// og (or any value of the output's shape) spread back over the reduced axes of the input.
GradValue expand(Grad& d, const GradArgs& a, GradValue v) {
  const auto mask = reduced_axes("gradient", a.in_shapes[0], a.attrs);
  const Shape kept = reduce_shape(a.in_shapes[0], mask, true);
  return d.op("broadcast_like", {d.op("Reshape", {v}, {{"shape", shape_str(kept)}}), a.inputs[0]});
}

int64_t reduced_count(const GradArgs& a) {
  const auto mask = reduced_axes("gradient", a.in_shapes[0], a.attrs);
  uint64_t n = 1;  // modulo 2^64, as shape_size: exact for a valid input, 0 if a reduced dim is 0
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) n *= uint64_t(a.in_shapes[0][i]);
  return int64_t(n);
}

void reduction(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc,
               const std::vector<int32_t>& dtypes, GradFn grad, bool with_ord = false) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc;
  s.inputs = {"data"};
  s.params = {param_axes("axis", "None", "axes to reduce (None: all)"),
              param_bool("keepdims", "False", "keep reduced axes as size 1"),
              param_bool("exclude", "False", "reduce every axis except those in `axis`")};
  if (with_ord) s.params.push_back({"ord", ParamType::kInt, "2", false, 1, 2, {}, "1 or 2: which norm"});
  s.dtypes = dtypes;
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    out = {reduce_shape(a.in_shapes[0], reduced_axes(a.op.name, a.in_shapes[0], a.attrs), a.attrs.b("keepdims"))};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  s.gradient = std::move(grad);
  r.add(std::move(s));
}

}  // namespace

void register_reduce(Registry& r) {
  const auto& num = numeric_dtypes();
  const auto& fl = float_dtypes();
  reduction(r, "sum", {"sum_axis"}, "Sum over axes.", num, [](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{expand(d, a, a.out_grads[0])};
  });
  reduction(r, "mean", {}, "Mean over axes.", num, [](const GradArgs& a) {
    Grad d{a.g};
    return std::vector<GradValue>{d.scalar("_div_scalar", expand(d, a, a.out_grads[0]), double(reduced_count(a)))};
  });
  reduction(r, "prod", {}, "Product over axes.", num, [](const GradArgs& a) {
    Grad d{a.g};  // prod / x, spread
    const GradValue p = expand(d, a, d.mul(a.out_grads[0], a.outputs[0]));
    return std::vector<GradValue>{d.div(p, a.inputs[0])};
  });
  auto extreme = [](const GradArgs& a) {
    Grad d{a.g};  // to every element equal to the extreme (ties share, as in MXNet)
    const GradValue hit = d.op("broadcast_equal", {a.inputs[0], expand(d, a, a.outputs[0])});
    return std::vector<GradValue>{d.mul(expand(d, a, a.out_grads[0]), hit)};
  };
  reduction(r, "max", {"max_axis"}, "Maximum over axes.", num, extreme);
  reduction(r, "min", {"min_axis"}, "Minimum over axes.", num, extreme);
  reduction(r, "nansum", {}, "Sum over axes, NaN counted as 0.", fl, [](const GradArgs& a) {
    Grad d{a.g};
    const GradValue not_nan = d.op("broadcast_equal", {a.inputs[0], a.inputs[0]});
    return std::vector<GradValue>{d.mul(expand(d, a, a.out_grads[0]), not_nan)};
  });
  reduction(
      r, "norm", {}, "L1 or L2 norm over axes (ord = 1 or 2).", fl,
      [](const GradArgs& a) {
        Grad d{a.g};
        const GradValue og = expand(d, a, a.out_grads[0]);
        if (a.attrs.i("ord") == 1) return std::vector<GradValue>{d.mul(og, d.op("sign", {a.inputs[0]}))};
        return std::vector<GradValue>{d.mul(og, d.div(a.inputs[0], expand(d, a, a.outputs[0])))};
      },
      true);

  for (const char* name : {"argmax", "argmin"}) {
    OpSchema s;
    s.name = name;
    s.doc = std::string("Index of the ") + (name[3] == 'm' && name[4] == 'a' ? "largest" : "smallest") +
            " element along `axis` (None: of the flattened array), in the input's dtype.";
    s.inputs = {"data"};
    s.params = {param_axes("axis", "None", "one axis, or None for the flattened array"),
                param_bool("keepdims", "False", "keep the reduced axis as size 1")};
    s.dtypes = num;
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      if (a.attrs.is_none("axis")) {
        Shape ones;
        for (size_t i = 0; i < a.in_shapes[0].size(); ++i) ones.push_back(1);
        out = {a.attrs.b("keepdims") ? ones : Shape{1}};
        return;
      }
      const auto mask = reduced_axes(a.op.name, a.in_shapes[0], a.attrs);
      if (std::count(mask.begin(), mask.end(), true) != 1)
        fail(MX_ERR_INVALID_ARGUMENT, a.op.name, ": axis must name exactly one axis, got ", a.attrs.str("axis"));
      out = {reduce_shape(a.in_shapes[0], mask, a.attrs.b("keepdims"))};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }

  // MXNet's argmax_channel: argmax with axis fixed to -1 and keepdims False, so (N, C) -> (N,).
  OpSchema channel;
  channel.name = "argmax_channel";
  channel.doc = "Index of the largest element along the last axis (the first one on ties), in the input's dtype.";
  channel.inputs = {"data"};
  channel.dtypes = num;
  channel.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& s = a.in_shapes[0];
    if (s.empty()) fail(MX_ERR_INVALID_ARGUMENT, "argmax_channel: data of shape ", shape_str(s), " has no last axis");
    std::vector<bool> last(s.size(), false);
    last.back() = true;
    out = {reduce_shape(s, last, false)};
  };
  channel.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  channel.gradient = no_gradient;
  r.add(std::move(channel));

  OpSchema sum_to;
  sum_to.name = "_sum_to_like";
  sum_to.doc = "Sums lhs over the axes along which rhs's shape was broadcast to it (the gradient of broadcasting).";
  sum_to.inputs = {"lhs", "rhs"};
  sum_to.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (broadcast_shapes(a.op.name, a.in_shapes[1], a.in_shapes[0]) != a.in_shapes[0])
      fail(MX_ERR_SHAPE_MISMATCH, "_sum_to_like: ", shape_str(a.in_shapes[1]), " does not broadcast to ",
           shape_str(a.in_shapes[0]));
    out = {a.in_shapes[1]};
  };
  sum_to.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  sum_to.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("broadcast_like", {a.out_grads[0], a.inputs[0]}), kNoGrad};
  };
  r.add(std::move(sum_to));
}

}  // namespace mx::op
