// The GEMM family on cuBLAS / cuBLASLt: dot, batch_dot, FullyConnected. Mirrors the CPU's dot
// (backends/cpu/kernels/dot.cc), batch_dot and FullyConnected: the same matrix views and leading
// dimensions, planned once in create(); the row-major -> column-major mapping is in gemm.cuh.
// float32 / float64 as on the CPU, plus float16 / bfloat16 (float accumulation on tensor cores; the
// CPU widens those to float32 scratch, so both round the float sums once).
// 16-bit products go through cuBLASLt, which has no handle math mode: the cuBLAS handles are in
// CUBLAS_PEDANTIC_MATH (exact float32), which would keep 16-bit GEMMs off the tensor cores.
// FullyConnected's bias: fused as a cuBLASLt epilogue (float32 / float16 / bfloat16) when the call's
// pointers suit the planned algorithm; otherwise, as the CPU does, the output starts as the bias
// rows and the GEMM accumulates onto it (beta = 1). Any call cuBLASLt cannot take (no algorithm,
// unaligned pointers, no workspace) runs on cublasGemmEx, correct but without tensor cores for 16-bit.
// Empty products as on the CPU: nothing when m, n or the batch is 0; k = 0 gives zeros (the bias
// rows for FullyConnected).
#include <memory>
#include <string>

#include "gemm.cuh"

namespace mxcuda {
namespace {

struct GemmState {
  const char* op;
  GemmShape g;
  GemmType t;
  int64_t elem = 4;            // bytes per element
  bool bias = false;           // FullyConnected with a bias input (inputs[2])
  std::unique_ptr<LtGemm> lt;  // the fused-bias plan, when planned
};

int64_t prod(const DLTensor& t, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; ++i) p *= t.shape[i];
  return p;
}

// A state for op (a literal) with every tensor of one dtype that cuBLAS multiplies; nullptr after reporting.
GemmState* new_state(const mx_kernel_args* args, const char* op) {
  const int32_t dt = dtype_flag(args->outputs[0].dtype);
  auto st = std::make_unique<GemmState>();
  st->op = op;  // a literal: the host's op_name need not outlive create()
  bool same = true;
  for (int32_t i = 0; i < args->num_inputs; ++i) same = same && dtype_flag(args->inputs[i].dtype) == dt;
  if (!gemm_type(dt, &st->t)) {
    error(MX_ERR_UNSUPPORTED, std::string(op) + ": unsupported dtype " + dtype_name(dt) + " on cuda");
    return nullptr;
  }
  if (!same) {
    error(MX_ERR_UNSUPPORTED,
          std::string(op) + ": inputs and output must share one dtype (output " + dtype_name(dt) + ") on cuda");
    return nullptr;
  }
  st->elem = elem_bytes(args->outputs[0]);
  return st.release();
}

bool is_16bit(const GemmType& t) { return t.data == CUDA_R_16F || t.data == CUDA_R_16BF; }

// Plans st's cuBLASLt product (with FullyConnected's bias epilogue when `bias`); keeps it only when
// cuBLASLt has an algorithm. Non-empty products only (gemm_run handles the empty ones). 0 or -1.
int plan_lt(GemmState& st, bool bias, int dev) {
  const GemmShape& g = st.g;
  if (g.batch == 0 || g.m == 0 || g.n == 0 || g.k == 0) return 0;
  st.lt = std::make_unique<LtGemm>();
  if (st.lt->plan(g, st.t, bias, dev, st.op)) return -1;
  if (!st.lt->ready()) st.lt.reset();  // no cuBLASLt algorithm: cuBLAS (and bias rows)
  return 0;
}

// dot: lhs as (m, k) or, transposed, stored as (k, m); rhs as (k, n) or stored as (n, k).
int dot_create(const mx_kernel_args* args, void** out) {
  if (args->inputs[0].ndim < 1 || args->inputs[1].ndim < 1)
    return error(MX_ERR_SHAPE_MISMATCH, "dot: inputs must have at least one dimension on cuda");
  GemmState* st = new_state(args, "dot");
  if (!st) return -1;
  const DLTensor& l = args->inputs[0];
  const DLTensor& r = args->inputs[1];
  GemmShape& g = st->g;
  g.ta = attr_bool(args, "transpose_a");
  g.tb = attr_bool(args, "transpose_b");
  if (g.ta) {
    g.k = l.shape[0];
    g.m = prod(l, 1, l.ndim);
    g.lda = g.m;
  } else {
    g.k = l.shape[l.ndim - 1];
    g.m = prod(l, 0, l.ndim - 1);
    g.lda = g.k;
  }
  if (g.tb) {
    g.n = prod(r, 0, r.ndim - 1);
    g.ldb = g.k;
  } else {
    g.n = prod(r, 1, r.ndim);
    g.ldb = g.n;
  }
  g.ldc = g.n;
  if (is_16bit(st->t) && plan_lt(*st, false, args->device_id)) {
    delete st;
    return -1;
  }
  *out = st;
  return 0;
}

// batch_dot: (..., r, c) matrices batched over the leading dims (the schema's (B, r, c)).
int batch_dot_create(const mx_kernel_args* args, void** out) {
  const DLTensor& l = args->inputs[0];
  const DLTensor& r = args->inputs[1];
  const DLTensor& o = args->outputs[0];
  if (l.ndim < 3 || r.ndim != l.ndim || o.ndim != l.ndim)
    return error(MX_ERR_SHAPE_MISMATCH, "batch_dot: lhs, rhs and output must share one rank >= 3 on cuda");
  GemmState* st = new_state(args, "batch_dot");
  if (!st) return -1;
  const int d = l.ndim;
  const int64_t lr = l.shape[d - 2], lc = l.shape[d - 1], rr = r.shape[d - 2], rc = r.shape[d - 1];
  GemmShape& g = st->g;
  g.ta = attr_bool(args, "transpose_a");
  g.tb = attr_bool(args, "transpose_b");
  g.batch = prod(o, 0, d - 2);
  g.m = o.shape[d - 2];
  g.n = o.shape[d - 1];
  g.k = g.ta ? lr : lc;
  g.lda = lc;
  g.ldb = rc;
  g.ldc = g.n;
  g.stride_a = lr * lc;
  g.stride_b = rr * rc;
  g.stride_c = g.m * g.n;
  if (is_16bit(st->t) && plan_lt(*st, false, args->device_id)) {
    delete st;
    return -1;
  }
  *out = st;
  return 0;
}

// FullyConnected: y (m, h) = x (m, k) . W^T, W stored (h, k); m = the output's rows (x flattened
// to 2-d, or all but its last axis with flatten=False).
int fc_create(const mx_kernel_args* args, void** out) {
  std::unique_ptr<GemmState> st(new_state(args, "FullyConnected"));
  if (!st) return -1;
  const DLTensor& w = args->inputs[1];
  GemmShape& g = st->g;
  g.tb = true;
  g.n = w.shape[0];
  g.k = w.shape[1];
  g.m = g.n > 0 ? numel(args->outputs[0]) / g.n : 0;
  g.lda = g.k;
  g.ldb = g.k;
  g.ldc = g.n;
  st->bias = args->num_inputs > 2;
  // cuBLASLt for the fused bias (not float64) and for every 16-bit product.
  if (((st->bias && st->t.data != CUDA_R_64F) || is_16bit(st->t)) && plan_lt(*st, st->bias, args->device_id))
    return -1;
  *out = st.release();
  return 0;
}

int gemm_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const GemmState& st = *static_cast<const GemmState*>(state);
  const GemmShape& g = st.g;
  if (g.batch == 0 || g.m == 0 || g.n == 0) return finish(ctx, st.op);  // empty output
  cudaStream_t s = cuda_stream(ctx);
  const void* a = data_of(in[0]);
  const void* b = data_of(in[1]);
  const void* bias = st.bias ? data_of(in[2]) : nullptr;
  void* c = data_of(out[0]);
  int rc = 0;
  if (g.k == 0) {  // empty sums: zeros, or the bias in every row
    rc = bias ? fill_rows(c, bias, g.m, g.n, st.elem, s, st.op)
              : check(cudaMemsetAsync(c, 0, size_t(g.batch * g.m * g.n * st.elem), s), "cudaMemsetAsync", st.op);
  } else if (st.lt && st.lt->usable(ctx, a, b, c, bias)) {
    rc = st.lt->run(ctx, s, a, b, c, bias, st.op);
  } else {
    if (bias) rc = fill_rows(c, bias, g.m, g.n, st.elem, s, st.op);  // then C += x W^T (beta = 1)
    if (!rc) {
      cublasHandle_t h = cublas_of(ctx, st.op);
      rc = h ? gemm_cublas(h, g, st.t, a, b, c, bias != nullptr, st.op) : -1;
    }
  }
  return rc ? rc : finish(ctx, st.op);
}

uint64_t gemm_workspace(void* state) {
  const GemmState& st = *static_cast<const GemmState*>(state);
  return st.lt ? st.lt->workspace() : 0;
}

void gemm_destroy(void* s) { delete static_cast<GemmState*>(s); }

const mx_kernel kDotKernels[] = {
    kernel("dot", dot_create, gemm_run, gemm_destroy, gemm_workspace),
    kernel("batch_dot", batch_dot_create, gemm_run, gemm_destroy, gemm_workspace),
    kernel("FullyConnected", fc_create, gemm_run, gemm_destroy, gemm_workspace),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kDotKernels);

}  // namespace
}  // namespace mxcuda
