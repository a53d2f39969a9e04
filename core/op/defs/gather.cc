// gather_nd and scatter_nd: indices of shape (M, Y...) address the first M axes of an array
// with trailing axes Z...; gather_nd reads data[idx] into (Y..., Z...), scatter_nd writes into
// zeros of `shape`. Each is the other's gradient (the gather's through the accumulating
// _backward_gather_nd, since indices may repeat).
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

// Checks indices (M, Y...) against the indexed shape; returns Y... + full[M:].
Shape gathered_shape(const std::string& op, const Shape& full, const Shape& idx) {
  if (idx.empty() || idx[0] < 1 || size_t(idx[0]) > full.size())
    fail(MX_ERR_SHAPE_MISMATCH, op, ": indices ", shape_str(idx), " must be (M, ...) with 1 <= M <= ", full.size(),
         " for ", shape_str(full));
  Shape o(idx.begin() + 1, idx.end());
  o.append(full.begin() + idx[0], full.end());
  return o;
}

}  // namespace

void register_gather(Registry& r) {
  {
    OpSchema s;
    s.name = "gather_nd";
    s.doc = "out[y..., z...] = data[indices[0, y...], ..., indices[M-1, y...], z...]; negative indices count from the end.";
    s.inputs = {"data", "indices"};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      out = {gathered_shape("gather_nd", a.in_shapes[0], a.in_shapes[1])};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_backward_gather_nd", {a.out_grads[0], a.inputs[1], a.inputs[0]}), kNoGrad};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_backward_gather_nd";
    s.doc = "Zeros shaped like `like` with data added at each indexed position (repeats accumulate): gather_nd's gradient.";
    s.inputs = {"data", "indices", "like"};
    s.dtypes = numeric_dtypes();
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape want = gathered_shape("_backward_gather_nd", a.in_shapes[2], a.in_shapes[1]);
      if (a.in_shapes[0] != want)
        fail(MX_ERR_SHAPE_MISMATCH, "_backward_gather_nd: data is ", shape_str(a.in_shapes[0]), ", expected ", shape_str(want));
      out = {a.in_shapes[2]};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("gather_nd", {a.out_grads[0], a.inputs[1]}), kNoGrad, kNoGrad};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "scatter_nd";
    s.doc = "Zeros of `shape` with data written at each indexed position (for repeated indices one write wins).";
    s.inputs = {"data", "indices"};
    s.params = {param_required(param_shape("shape", "", "shape of the output"))};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape full = a.attrs.shape("shape");
      const Shape want = gathered_shape("scatter_nd", full, a.in_shapes[1]);
      if (a.in_shapes[0] != want)
        fail(MX_ERR_SHAPE_MISMATCH, "scatter_nd: data is ", shape_str(a.in_shapes[0]), ", expected ", shape_str(want),
             " for indices ", shape_str(a.in_shapes[1]), " into ", shape_str(full));
      out = {full};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("gather_nd", {a.out_grads[0], a.inputs[1]}), kNoGrad};
    };
    r.add(std::move(s));
  }
}

}  // namespace mx::op
