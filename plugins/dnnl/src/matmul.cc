// The GEMM family (core/op/defs/dot.cc) on oneDNN's matmul: FullyConnected, and dot and batch_dot,
// which FullyConnected's gradient emits (data: dot(og, W), weight: dot(og^T, x); the bias gradient
// is the core's `sum`). Transposes are strides of the memory descriptors, so nothing is copied;
// float32 and bfloat16 (float32 accumulation).
#include "common.h"

namespace mxdnnl {
namespace {

// A (rows, cols) matrix over memory holding it row-major, or its transpose when `transposed`.
memory::desc matrix(int64_t rows, int64_t cols, bool transposed, memory::data_type dt) {
  return memory::desc({rows, cols}, dt, transposed ? memory::dims{1, rows} : memory::dims{cols, 1});
}

// Batches of (rows, cols) matrices, each stored row-major or transposed.
memory::desc batch(int64_t b, int64_t rows, int64_t cols, bool transposed, memory::data_type dt) {
  return memory::desc({b, rows, cols}, dt, transposed ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1});
}

struct MatmulState : KernelState {
  Call call;

  explicit MatmulState(const mx_kernel_args& a) : KernelState(a) {}

  // dst = src . weights (+ bias), on mx inputs 0, 1 (and 2) and output 0.
  void build(const memory::desc& src, const memory::desc& weights, const memory::desc& bias, const memory::desc& dst) {
    const dnnl::matmul::primitive_desc pd({src, weights, bias, dst}, user_scratchpad(), engine());
    call.input(DNNL_ARG_SRC, 0, src, pd.src_desc(), plan);
    call.input(DNNL_ARG_WEIGHTS, 1, weights, pd.weights_desc(), plan);
    if (!bias.is_zero()) call.input(DNNL_ARG_BIAS, 2, bias, pd.bias_desc(), plan);
    call.output(DNNL_ARG_DST, 0, dst, pd.dst_desc(), plan);
    call.set(dnnl::matmul(pd), pd.scratchpad_desc(), plan);
  }

  void run(const mx_kernel_ctx* ctx, const DLTensor* in, DLTensor* out) const {
    call.run(Scratch(ctx, plan.bytes()), in, out);
  }
};

// out = data . weight^T + bias with data as (M, K): flatten=True folds all but the first axis
// into K, flatten=False all but the last into M; either way K = weight.shape[1].
struct FullyConnectedState : MatmulState {
  explicit FullyConnectedState(const mx_kernel_args& a) : MatmulState(a) {
    const memory::data_type dt = check_tensors(a);
    const DLTensor& w = a.inputs[1];
    const int64_t h = w.shape[0], k = w.shape[1], m = numel(a.inputs[0]) / k;
    const memory::desc bias = a.num_inputs > 2 ? memory::desc({1, h}, dt, memory::dims{h, 1}) : memory::desc();
    build(matrix(m, k, false, dt), matrix(k, h, true, dt), bias, matrix(m, h, false, dt));
  }
};

// MXNet's dot: lhs as an (m, k) matrix of its last axis (its first with transpose_a), rhs as
// (k, n) of its first (its last with transpose_b).
struct DotState : MatmulState {
  explicit DotState(const mx_kernel_args& a) : MatmulState(a) {
    const memory::data_type dt = check_tensors(a);
    const DLTensor &l = a.inputs[0], &r = a.inputs[1];
    const bool ta = attr_bool(&a, "transpose_a"), tb = attr_bool(&a, "transpose_b");
    const int64_t k = ta ? l.shape[0] : l.shape[l.ndim - 1];
    const int64_t m = numel(l) / k, n = numel(r) / k;
    build(matrix(m, k, ta, dt), matrix(k, n, tb, dt), memory::desc(), matrix(m, n, false, dt));
  }
};

struct BatchDotState : MatmulState {
  explicit BatchDotState(const mx_kernel_args& a) : MatmulState(a) {
    const memory::data_type dt = check_tensors(a);
    const DLTensor &l = a.inputs[0], &o = a.outputs[0];
    const bool ta = attr_bool(&a, "transpose_a"), tb = attr_bool(&a, "transpose_b");
    const int64_t b = o.shape[0], m = o.shape[1], n = o.shape[2], k = ta ? l.shape[1] : l.shape[2];
    build(batch(b, m, k, ta, dt), batch(b, k, n, tb, dt), memory::desc(), batch(b, m, n, false, dt));
  }
};

const mx_kernel kMatmulKernels[] = {
    make_kernel<FullyConnectedState>("FullyConnected"),
    make_kernel<DotState>("dot"),
    make_kernel<BatchDotState>("batch_dot"),
    mx_impl::kEndOfTable,
};
MX_REGISTER_KERNELS(kMatmulKernels);

}  // namespace
}  // namespace mxdnnl
