// Built-in op definitions, one function per family; op/registry.cc calls them in order (libmx is
// linked from a static archive, where self-registering objects would be dropped by the linker).
#pragma once

#include <cmath>
#include <cstdint>

#include "op/schema.h"

namespace mx::op {

// Each family is one defs/<family>.cc here and one backends/cpu/kernels/<family>.cc (and
// backends/cuda/kernels/<family>.cu) holding the kernels of the same ops.
void register_elemwise(Registry& r);   // elemwise_add/sub/mul/div, _plus_scalar _minus_scalar _rminus_scalar
                                       // _mul_scalar _div_scalar _rdiv_scalar, _copy, BlockGrad, add_n, Cast, _cast_like
void register_init(Registry& r);       // _zeros _ones _full zeros_like ones_like
void register_random(Registry& r);     // _random_uniform _random_normal
void register_dot(Registry& r);        // dot batch_dot FullyConnected (the GEMM family)
void register_unary(Registry& r);      // relu sigmoid tanh softsign log_sigmoid mish exp log log1p expm1 sqrt
                                       // rsqrt square abs sign negative reciprocal floor ceil round sin cos erf; _greater_scalar
                                       // _greater_equal_scalar _lesser_scalar _lesser_equal_scalar _equal_scalar
                                       // _not_equal_scalar _mod_scalar _rmod_scalar _power_scalar _rpower_scalar
                                       // _maximum_scalar _minimum_scalar _logical_and/or/xor_scalar; clip
void register_broadcast(Registry& r);  // broadcast_add sub mul div mod power maximum minimum equal not_equal
                                       // greater greater_equal lesser lesser_equal logical_and logical_or
                                       // logical_xor, broadcast_like; _mod _power _maximum _minimum _equal
                                       // _not_equal _greater _greater_equal _lesser _lesser_equal _logical_and
                                       // _logical_or _logical_xor; where
void register_reduce(Registry& r);     // sum mean prod max min nansum norm argmax argmin argmax_channel _sum_to_like
void register_shape(Registry& r);      // Reshape Flatten expand_dims squeeze transpose tile repeat
void register_nn(Registry& r);         // Activation LeakyReLU softmax log_softmax SoftmaxOutput
                                       // _softmax_output_grad softmax_cross_entropy BatchNorm LayerNorm Dropout
void register_optimizer(Registry& r);  // sgd_update sgd_mom_update adam_update rmsprop_update
void register_conv(Registry& r);       // Convolution _conv_backward_data _conv_backward_weight Deconvolution
                                       // Pooling _pooling_backward
void register_slicing(Registry& r);    // slice _slice_backward slice_like split slice_axis _slice_axis_grad
                                       // Concat stack
void register_sorting(Registry& r);    // sort argsort topk _topk_backward
void register_gather(Registry& r);     // gather_nd scatter_nd _backward_gather_nd
void register_indexing(Registry& r);   // take _take_grad Embedding pick _pick_grad one_hot
// Issue 16's families (MXNet 1.x operator breadth):
void register_math(Registry& r);        // extra elementwise math (tan … trunc, hypot, hard_sigmoid, softmin, smooth_l1, nanprod, all_finite, amp_cast, isinf/isnan/isfinite)
void register_creation(Registry& r);    // _arange _linspace _eye diag and the other array-creating ops
void register_axes(Registry& r);        // moveaxis SwapAxis reshape_like flip depth_to_space space_to_depth broadcast_to broadcast_axis split_v2 shape_array size_array im2col col2im
void register_lookup(Registry& r);      // ravel_multi_index unravel_index batch_take choose_element_0index fill_element_0index onehot_encode histogram moments
void register_norm(Registry& r);        // InstanceNorm GroupNorm L2Normalization LRN BatchNorm_v1
void register_loss(Registry& r);        // SoftmaxActivation LinearRegressionOutput LogisticRegressionOutput MAERegressionOutput SVMOutput MakeLoss
void register_sequence(Registry& r);    // SequenceLast SequenceMask SequenceReverse
void register_resample(Registry& r);    // UpSampling Pad
void register_spatial(Registry& r);     // GridGenerator BilinearSampler SpatialTransformer BilinearResize2D AdaptiveAvgPooling2D ROIPooling ROIAlign Correlation
void register_detection(Registry& r);   // box_nms box_iou bipartite_matching MultiBoxPrior MultiBoxTarget MultiBoxDetection
void register_rnn(Registry& r);         // RNN (LSTM, GRU, rnn_relu, rnn_tanh) and its gradient
void register_contrib(Registry& r);     // boolean_mask index_copy index_array arange_like div_sqrt_dim quadratic interleaved_matmul_*
void register_ctc(Registry& r);         // ctc_loss / CTCLoss
void register_sampling(Registry& r);    // the samplers beyond uniform/normal, sample_* with per-element parameters, random_pdf_*, multinomial, shuffle, randint
void register_linalg(Registry& r);      // _linalg_* (gemm … maketrian) over LAPACK

// Ranges of int params. kMaxExtent bounds counts that become one dimension or a kernel's loop bound
// (num_filter, num_hidden, depth, input_dim, repeats, kernel / stride / pad entries): MXNet declares
// them `int`, and OpenBLAS's GEMM takes `int` sizes. kMaxArity bounds declared numbers of inputs or
// outputs (num_args, num_outputs): each becomes a name, an entry and a tensor record, so a symbol file
// must not be able to ask for billions; 65536 is far beyond what any model uses.
inline constexpr int64_t kMaxExtent = INT32_MAX;
inline constexpr int64_t kMaxArity = int64_t(1) << 16;
// `p` restricted to [lo, hi] (for a kShape param: each entry).
inline ParamSpec with_range(ParamSpec p, double lo, double hi) {
  p.min = lo;
  p.max = hi;
  return p;
}
// An int param naming an axis (negative counts from the end): no array has more than kMaxNdim dims.
inline ParamSpec param_axis(const std::string& name, const std::string& def, const std::string& doc) {
  return with_range(param_int(name, def, doc), -double(kMaxNdim), double(kMaxNdim) - 1);
}
// A float param that may be any double, inf and NaN included (fill values, clip bounds, scalar
// operands, as MXNet accepts them); every other float param must be finite.
inline ParamSpec any_float(ParamSpec p) { return with_range(std::move(p), -HUGE_VAL, HUGE_VAL); }

// Output shape = the `shape` param, for ops that create an array (_zeros, _random_uniform, ...):
// the one place their size enters, so it is checked here with the `dtype` param's element size
// and an impossible request is reported as this op's, before allocation.
void shape_from_attrs(const InferArgs& a, std::vector<Shape>& out);
// Output dtype = the inputs' common dtype; throws MX_ERR_SHAPE_MISMATCH naming the op and the two
// inputs that disagree.
void same_dtype(const InferArgs& a, std::vector<int32_t>& out);

// infer_input_shapes of ops whose inputs all share one shape: the first known one fills the rest.
void same_input_shapes(const Attrs&, std::vector<std::optional<Shape>>& in);
// infer_shape_partial of ops whose inputs and outputs all share one shape (where, add_n, Dropout
// and its mask, ...): every dim known anywhere is known everywhere. first_input_shape_partial: the
// same for input 0 and the outputs only (the other inputs have shapes of their own).
void same_shape_partial(const PartialInferArgs& a);
void first_input_shape_partial(const PartialInferArgs& a);
// "input 1 'rhs'": input i of op a.op, for messages.
std::string input_label(const OpSchema& op, size_t i);

// numpy broadcasting of two shapes; throws MX_ERR_SHAPE_MISMATCH naming op and both shapes.
Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b);
// Which axes of `shape` a reduction with attrs axis / exclude covers (axis None: all).
std::vector<bool> reduced_axes(const std::string& op, const Shape& shape, const Attrs& attrs);
// The shape after reducing `mask` axes, keeping them as 1 or dropping them.
Shape reduce_shape(const Shape& shape, const std::vector<bool>& mask, bool keepdims);
// Output dtype = the first input's.
void first_type(const InferArgs& a, std::vector<int32_t>& out);
// `axis` of an array of ndim dims as an index (negative counts from the end); throws
// MX_ERR_INVALID_ARGUMENT naming the op when out of range.
int axis_of(const std::string& op, int64_t axis, size_t ndim);
// The required `num_args` param of ops with a variable number of inputs (add_n, Concat, stack).
ParamSpec num_args();
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

// The gradient og * f'(x) of activation `act` (Activation's act_type) with input x and output y, as
// one _backward_Activation (activation.cc); Activation and the relu / sigmoid / ... ops share it.
GradValue backward_activation(Grad& d, const std::string& act, GradValue og, GradValue x, GradValue y);

// Local derivative of mish at input x (unary.cc), shared with Activation's act_type='mish' so
// both ops have one gradient (the other activations share _backward_Activation).
GradValue mish_derivative(Grad& d, GradValue x);

inline GradValue reshape_to(Grad& d, GradValue v, const Shape& s) { return d.op("Reshape", {v}, {{"shape", shape_str(s)}}); }

}  // namespace mx::op
