// rms_norm (LLaMA, T5): y = data / sqrt(mean(data^2 over axis) + eps) * gamma, gamma of length
// data.shape[axis] broadcast along that axis. Its gradient is two backward ops of this library,
// _backward_rms_norm_data and _backward_rms_norm_gamma: one pass each over the data instead of
// a dozen built-in ops. They are not differentiable themselves (no gradient of gradient).
// The loops are in rms_norm_math.h; this file is the schema, the kernels' plumbing and the ops.
#include "rms_norm_math.h"

#include <string>

#include "ext.h"

namespace example_ops {
namespace {

// ---------------------------------------------------------------- geometry and checks

// axis in [0, ndim), or a failure naming the op, the axis and the shape.
int32_t normalised_axis(const char* op, int64_t axis, int32_t ndim, const int64_t* dims) {
  if (axis < -ndim || axis >= ndim)
    fail(MX_ERR_INVALID_ARGUMENT, std::string(op) + ": axis " + std::to_string(axis) + " is out of range for data of shape " +
                                      shape_str(ndim, dims));
  return int32_t(axis < 0 ? axis + ndim : axis);
}

Rows rows_of(int32_t ndim, const int64_t* dims, int32_t axis) {
  Rows g{1, dims[axis], 1};
  for (int32_t d = 0; d < axis; ++d) g.outer *= dims[d];
  for (int32_t d = axis + 1; d < ndim; ++d) g.inner *= dims[d];
  return g;
}

// Checks that gamma (input `gi`) is 1-d with data.shape[axis] elements; returns that axis.
int32_t check_gamma(const char* op, const mx_ext_infer_args* a, int32_t data_i, int32_t gi) {
  const Attrs attrs(a);
  const int32_t nd = a->in_ndims[data_i];
  const int64_t* dims = a->in_shapes[data_i];
  const int64_t axis_attr = attrs.i64("axis");
  const int32_t axis = normalised_axis(op, axis_attr, nd, dims);
  if (attrs.f64("eps") < 0) fail(MX_ERR_INVALID_ARGUMENT, std::string(op) + ": eps must be >= 0, got " + attrs.str("eps"));
  if (gi >= 0 && (a->in_ndims[gi] != 1 || a->in_shapes[gi][0] != dims[axis]))
    fail(MX_ERR_SHAPE_MISMATCH, std::string(op) + ": gamma has shape " + shape_str(a->in_ndims[gi], a->in_shapes[gi]) +
                                    " but data of shape " + shape_str(nd, dims) + " has " + std::to_string(dims[axis]) +
                                    " elements along axis " + std::to_string(axis_attr) + "; gamma must be (" +
                                    std::to_string(dims[axis]) + ",)");
  return axis;
}

void copy_shape(mx_ext_infer_args* a, int32_t out, int32_t in) {
  a->out_ndims[out] = a->in_ndims[in];
  for (int32_t d = 0; d < a->in_ndims[in]; ++d) a->out_shapes[out][d] = a->in_shapes[in][d];
}

// Every input must have input 0's dtype; the output has it too. user: the op's input names.
int same_dtypes(void* user, mx_ext_infer_args* a) {
  const auto* names = static_cast<const char* const*>(user);
  return guarded(a->op_name, [&] {
    for (int32_t i = 1; i < a->num_inputs; ++i)
      if (a->in_dtypes[i] != a->in_dtypes[0])
        fail(MX_ERR_SHAPE_MISMATCH, std::string(a->op_name) + ": " + names[i] + " is " +
                                        mx_impl::dtype_name(a->in_dtypes[i]) + " but " + names[0] + " is " +
                                        mx_impl::dtype_name(a->in_dtypes[0]) + "; all inputs need one dtype");
    for (int32_t o = 0; o < a->num_outputs; ++o) a->out_dtypes[o] = a->in_dtypes[0];
    return 0;
  });
}

// ---------------------------------------------------------------- shape inference per op

// rms_norm(data, gamma) -> data's shape
int infer_forward(void*, mx_ext_infer_args* a) {
  return guarded("rms_norm", [&] {
    check_gamma("rms_norm", a, 0, 1);
    copy_shape(a, 0, 0);
    return 0;
  });
}

// _backward_rms_norm_data(out_grad, data, gamma) -> data's shape
int infer_backward_data(void*, mx_ext_infer_args* a) {
  const char* op = "_backward_rms_norm_data";
  return guarded(op, [&] {
    check_gamma(op, a, 1, 2);
    if (shape_str(a->in_ndims[0], a->in_shapes[0]) != shape_str(a->in_ndims[1], a->in_shapes[1]))
      fail(MX_ERR_SHAPE_MISMATCH, std::string(op) + ": out_grad " + shape_str(a->in_ndims[0], a->in_shapes[0]) +
                                      " and data " + shape_str(a->in_ndims[1], a->in_shapes[1]) + " differ");
    copy_shape(a, 0, 1);
    return 0;
  });
}

// _backward_rms_norm_gamma(out_grad, data) -> (data.shape[axis],)
int infer_backward_gamma(void*, mx_ext_infer_args* a) {
  const char* op = "_backward_rms_norm_gamma";
  return guarded(op, [&] {
    const int32_t axis = check_gamma(op, a, 1, -1);
    a->out_ndims[0] = 1;
    a->out_shapes[0][0] = a->in_shapes[1][axis];
    return 0;
  });
}

// ---------------------------------------------------------------- kernels

struct Plan {
  Rows rows;
  double eps;
  int32_t dtype;
};

// create() of all three ops: data is input kDataInput; every input must be float32 or float64.
template <int kDataInput>
int create(const mx_kernel_args* args, void** out_state) {
  return guarded(args->op_name, [&] {
    for (int32_t i = 0; i < args->num_inputs; ++i) {
      const int32_t dt = mx_impl::dtype_flag(args->inputs[i].dtype);
      if (dt != MX_FLOAT32 && dt != MX_FLOAT64)
        fail(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": no kernel for dtype " + mx_impl::dtype_name(dt) +
                                     " (example_ops has float32 and float64)");
    }
    const DLTensor& data = args->inputs[kDataInput];
    const Attrs attrs(args);
    const int32_t axis = normalised_axis(args->op_name, attrs.i64("axis"), data.ndim, data.shape);
    *out_state = new Plan{rows_of(data.ndim, data.shape, axis), attrs.f64("eps"), mx_impl::dtype_flag(data.dtype)};
    return 0;
  });
}

void destroy(void* state) { delete static_cast<Plan*>(state); }

template <typename T>
const T* in(const DLTensor* t, int i) {
  return reinterpret_cast<const T*>(mx_impl::data_of(t[i]));
}
template <typename T>
T* out(DLTensor* t) {
  return reinterpret_cast<T*>(mx_impl::data_of(t[0]));
}

// Calls body(float{}) or body(double{}) as the plan's dtype says; body reads T from its argument.
template <typename Body>
int dispatch(const Plan& p, Body&& body) {
  if (p.dtype == MX_FLOAT32)
    body(float{});
  else
    body(double{});
  return 0;
}

int run_forward(void* state, const mx_kernel_ctx*, const DLTensor* inputs, int32_t, DLTensor* outputs, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  return dispatch(p, [&](auto tag) {
    using T = decltype(tag);
    rms_norm_forward<T>(p.rows, p.eps, in<T>(inputs, 0), in<T>(inputs, 1), out<T>(outputs));
  });
}

int run_backward_data(void* state, const mx_kernel_ctx*, const DLTensor* inputs, int32_t, DLTensor* outputs,
                      int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  return dispatch(p, [&](auto tag) {
    using T = decltype(tag);
    rms_norm_backward_data<T>(p.rows, p.eps, in<T>(inputs, 0), in<T>(inputs, 1), in<T>(inputs, 2), out<T>(outputs));
  });
}

int run_backward_gamma(void* state, const mx_kernel_ctx*, const DLTensor* inputs, int32_t, DLTensor* outputs,
                       int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  return guarded("_backward_rms_norm_gamma", [&] {  // it allocates its accumulator
    return dispatch(p, [&](auto tag) {
      using T = decltype(tag);
      rms_norm_backward_gamma<T>(p.rows, p.eps, in<T>(inputs, 0), in<T>(inputs, 1), out<T>(outputs));
    });
  });
}

// ---------------------------------------------------------------- gradient

int gradient(void*, const mx_ext_grad_args* a) {
  return guarded("rms_norm", [&] {
    GradGraph g(a);
    const Attrs attrs(a);  // axis, eps: the backward ops take the same params
    const int32_t og = a->out_grads[0], data = a->inputs[0], gamma = a->inputs[1];
    a->in_grads[0] = g.op("_backward_rms_norm_data", {og, data, gamma}, attrs);
    a->in_grads[1] = g.op("_backward_rms_norm_gamma", {og, data}, attrs);
    return 0;
  });
}

// ---------------------------------------------------------------- the three ops

const mx_ext_param kAxis = {sizeof(mx_ext_param), "axis", MX_EXT_PARAM_INT, "-1",
                            "the axis normalised over (negative: from the end)"};
const mx_ext_param kEps = {sizeof(mx_ext_param), "eps", MX_EXT_PARAM_FLOAT, "1e-06",
                           "added to the mean square before the square root"};
const mx_ext_param* const kParams[] = {&kAxis, &kEps};

mx_ext_op make_op(const char* name, const char* doc, int32_t num_inputs, const char* const* input_names,
                  int (*infer_shape)(void*, mx_ext_infer_args*), const mx_kernel* kernel,
                  int (*grad)(void*, const mx_ext_grad_args*)) {
  mx_ext_op op{};
  op.struct_size = sizeof(mx_ext_op);
  op.name = name;
  op.doc = doc;
  op.num_inputs = num_inputs;
  op.input_names = input_names;
  op.num_outputs = 1;
  op.num_params = 2;
  op.params = kParams;
  op.infer_shape = infer_shape;
  op.infer_dtype = same_dtypes;
  op.cpu_kernel = kernel;
  op.gradient = grad;
  op.user = const_cast<char**>(input_names);  // same_dtypes names the inputs in its messages
  return op;
}

const char* const kForwardInputs[] = {"data", "gamma"};
const char* const kBackwardDataInputs[] = {"out_grad", "data", "gamma"};
const char* const kBackwardGammaInputs[] = {"out_grad", "data"};

const mx_kernel kForwardKernel = mx_impl::kernel("rms_norm", create<0>, run_forward, destroy);
const mx_kernel kBackwardDataKernel = mx_impl::kernel("_backward_rms_norm_data", create<1>, run_backward_data, destroy);
const mx_kernel kBackwardGammaKernel =
    mx_impl::kernel("_backward_rms_norm_gamma", create<1>, run_backward_gamma, destroy);

const mx_ext_op kForward =
    make_op("rms_norm",
            "Root-mean-square layer normalisation: data / sqrt(mean(data^2, axis) + eps) * gamma, gamma of length "
            "data.shape[axis]. float32 and float64.",
            2, kForwardInputs, infer_forward, &kForwardKernel, gradient);
const mx_ext_op kBackwardData =
    make_op("_backward_rms_norm_data", "Gradient of rms_norm with respect to data (not differentiable).", 3,
            kBackwardDataInputs, infer_backward_data, &kBackwardDataKernel, nullptr);
const mx_ext_op kBackwardGamma =
    make_op("_backward_rms_norm_gamma", "Gradient of rms_norm with respect to gamma (not differentiable).", 2,
            kBackwardGammaInputs, infer_backward_gamma, &kBackwardGammaKernel, nullptr);

}  // namespace

const mx_ext_op* rms_norm_op() { return &kForward; }
const mx_ext_op* rms_norm_backward_data_op() { return &kBackwardData; }
const mx_ext_op* rms_norm_backward_gamma_op() { return &kBackwardGamma; }

}  // namespace example_ops
