// Built-in op definitions, one function per family; op/registry.cc calls them in order.
#pragma once

#include "op/schema.h"

namespace mx::op {

void register_elemwise(Registry& r);  // elemwise_* and *_scalar arithmetic, _copy
void register_init(Registry& r);      // _zeros, _ones, _full
void register_random(Registry& r);    // _random_uniform, _random_normal
void register_dot(Registry& r);       // dot
void register_unary(Registry& r);     // relu ... erf, scalar comparisons, zeros_like, ones_like
void register_broadcast(Registry& r); // broadcast_* binary ops, broadcast_like, _sum_to_like
void register_reduce(Registry& r);    // sum mean prod max min nansum norm argmax argmin
void register_shape(Registry& r);     // Reshape
void register_nn(Registry& r);        // FullyConnected Activation softmax SoftmaxOutput Flatten expand_dims transpose
void register_optimizer(Registry& r); // sgd_update sgd_mom_update adam_update rmsprop_update
void register_conv(Registry& r);      // Convolution, Pooling and their backward ops
void register_slicing(Registry& r);   // slice slice_like split/SliceChannel
void register_sorting(Registry& r);   // sort argsort topk
void register_gather(Registry& r);    // gather_nd scatter_nd
void register_indexing(Registry& r);  // Cast BlockGrad add_n squeeze Concat slice_axis stack one_hot take Embedding batch_dot

// Output dtype = the inputs' common dtype; throws MX_ERR_SHAPE_MISMATCH naming the op and the two
// inputs that disagree.
void same_dtype(const InferArgs& a, std::vector<int32_t>& out);

// infer_input_shapes of ops whose inputs all share one shape: the first known one fills the rest.
void same_input_shapes(const Attrs&, std::vector<std::optional<Shape>>& in);

// numpy broadcasting of two shapes; throws MX_ERR_SHAPE_MISMATCH naming op and both shapes.
Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b);
// Which axes of `shape` a reduction with attrs axis / exclude covers (axis None: all).
std::vector<bool> reduced_axes(const std::string& op, const Shape& shape, const Attrs& attrs);
// The shape after reducing `mask` axes, keeping them as 1 or dropping them.
Shape reduce_shape(const Shape& shape, const std::vector<bool>& mask, bool keepdims);
// dtypes of arithmetic ops (bool has no arithmetic), and of transcendental math.
const std::vector<int32_t>& numeric_dtypes();
const std::vector<int32_t>& float_dtypes();

// Shorthands for writing gradients as op graphs.
struct Grad {
  GradBuilder& g;
  GradValue op(const char* name, std::vector<GradValue> in, std::vector<std::pair<std::string, std::string>> a = {}) {
    return g.call(name, std::move(in), std::move(a));
  }
  GradValue mul(GradValue a, GradValue b) { return op("elemwise_mul", {a, b}); }
  GradValue div(GradValue a, GradValue b) { return op("elemwise_div", {a, b}); }
  GradValue neg(GradValue a) { return op("negative", {a}); }
  GradValue scalar(const char* name, GradValue a, double s) { return op(name, {a}, {{"scalar", float_str(s)}}); }
};

}  // namespace mx::op
