// The GEMM family (core/op/defs/dot.cc): dot, batch_dot and FullyConnected on OpenBLAS (gemm.h).
// The plan (GEMM dims, leading dims, transposes) is computed once in create().
// float32 / float64 on BLAS; float16 / bfloat16 through float32 scratch (widen16.h: correct, not
// fast, the same values as the core's former promotion to float32).
#include <cstring>
#include <string>

#include "../cpu_backend.h"
#include "../gemm.h"
#include "../parallel.h"
#include "widen16.h"

namespace mxcpu {
namespace {

// The dtypes every kernel here accepts.
bool gemm_dtype(int32_t dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64 || dt == MX_FLOAT16 || dt == MX_BFLOAT16; }

struct Plan {
  bool ta, tb, f64;
  int64_t m, n, k, lda, ldb;
};

int64_t prod(const DLTensor& t, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; ++i) p *= t.shape[i];
  return p;
}

int create(const mx_kernel_args* args, void** out) {
  const DLTensor& l = args->inputs[0];
  const DLTensor& r = args->inputs[1];
  const int32_t dtype = dtype_flag(l.dtype);
  if (!gemm_dtype(dtype))
    return error(MX_ERR_UNSUPPORTED, std::string("dot: unsupported dtype ") + dtype_name(dtype) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  auto* p = new Plan{};
  p->ta = attr_bool(args, "transpose_a");
  p->tb = attr_bool(args, "transpose_b");
  p->f64 = dtype == MX_FLOAT64;
  // lhs as (m, k) or, transposed, stored as (k, m); rhs as (k, n) or stored as (n, k).
  if (p->ta) {
    p->k = l.shape[0];
    p->m = prod(l, 1, l.ndim);
    p->lda = p->m;
  } else {
    p->k = l.shape[l.ndim - 1];
    p->m = prod(l, 0, l.ndim - 1);
    p->lda = p->k;
  }
  if (p->tb) {
    p->n = prod(r, 0, r.ndim - 1);
    p->ldb = p->k;
  } else {
    p->n = prod(r, 1, r.ndim);
    p->ldb = p->n;
  }
  *out = p;
  return 0;
}

void run_t(const Plan& p, const DLTensor* in, DLTensor* out) {
  auto go = [&](auto zero) {
    using T = decltype(zero);
    gemm<T>(p.ta, p.tb, p.m, p.n, p.k, T(1), reinterpret_cast<const T*>(data_of(in[0])), p.lda,
            reinterpret_cast<const T*>(data_of(in[1])), p.ldb, T(0), reinterpret_cast<T*>(data_of(out[0])), p.n);
  };
  if (p.f64) go(0.0);
  else go(0.0f);
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out) {
  const Plan& p = *static_cast<const Plan*>(state);
  if (any_16bit(in, n_in, out, n_out))
    run_widened(in, n_in, out, n_out, [&](const DLTensor* i, DLTensor* o) { run_t(p, i, o); });
  else run_t(p, in, out);
  return 0;
}

void destroy(void* s) { delete static_cast<Plan*>(s); }

// ---------------------------------------------------------------- batch_dot

struct BatchDotPlan {
  bool ta = false, tb = false;
};

void batch_dot_destroy(void* s) { delete static_cast<BatchDotPlan*>(s); }

int batch_dot_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!gemm_dtype(dt))
    return error(MX_ERR_UNSUPPORTED, std::string("batch_dot: unsupported dtype ") + dtype_name(dt) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  auto* p = new BatchDotPlan{};
  p->ta = std::strcmp(attr(args, "transpose_a"), "True") == 0;
  p->tb = std::strcmp(attr(args, "transpose_b"), "True") == 0;
  *out = p;
  return 0;
}
template <typename T>
void batch_dot_t(const BatchDotPlan& p, const DLTensor& l, const DLTensor& r, DLTensor& o) {
  const int64_t B = l.shape[0], lr = l.shape[1], lc = l.shape[2], rr = r.shape[1], rc = r.shape[2];
  const int64_t m = o.shape[1], n = o.shape[2], k = p.ta ? lr : lc;
  const T* a = reinterpret_cast<const T*>(data_of(l));
  const T* b = reinterpret_cast<const T*>(data_of(r));
  T* c = reinterpret_cast<T*>(data_of(o));
  // One product per batch element, in parallel over the batch (each GEMM then runs serially).
  parallel_for(B, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      gemm<T>(p.ta, p.tb, m, n, k, T(1), a + i * lr * lc, lc, b + i * rr * rc, rc, T(0), c + i * m * n, n);
  });
}
int batch_dot_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out) {
  const BatchDotPlan& p = *static_cast<const BatchDotPlan*>(state);
  if (in[0].dtype.bits == 64) batch_dot_t<double>(p, in[0], in[1], out[0]);
  else if (any_16bit(in, n_in, out, n_out))
    run_widened(in, n_in, out, n_out, [&](const DLTensor* i, DLTensor* o) { batch_dot_t<float>(p, i[0], i[1], o[0]); });
  else batch_dot_t<float>(p, in[0], in[1], out[0]);
  return 0;
}

// ---------------------------------------------------------------- FullyConnected

struct FcPlan {
  bool f64, bias;
  int64_t m, k, h;
};

int fc_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!gemm_dtype(dt))
    return error(MX_ERR_UNSUPPORTED, std::string("FullyConnected: unsupported dtype ") + dtype_name(dt) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  const DLTensor& w = args->inputs[1];
  auto* p = new FcPlan{dt == MX_FLOAT64, args->num_inputs > 2, numel(args->outputs[0]) / w.shape[0], w.shape[1], w.shape[0]};
  *out = p;
  return 0;
}

template <typename T>
void fc_run_t(const FcPlan& p, const DLTensor* in, DLTensor& out) {
  const T* x = reinterpret_cast<const T*>(data_of(in[0]));
  const T* w = reinterpret_cast<const T*>(data_of(in[1]));
  T* y = reinterpret_cast<T*>(data_of(out));
  // With a bias, the output starts as the bias rows and GEMM accumulates onto it (beta = 1):
  // one pass over the output instead of two.
  T beta = T(0);
  if (p.bias) {
    const T* b = reinterpret_cast<const T*>(data_of(in[2]));
    for (int64_t r = 0; r < p.m; ++r) std::memcpy(y + r * p.h, b, size_t(p.h) * sizeof(T));
    beta = T(1);
  }
  gemm<T>(false, true, p.m, p.h, p.k, T(1), x, p.k, w, p.k, beta, y, p.h);
}

int fc_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out) {
  const FcPlan& p = *static_cast<const FcPlan*>(state);
  if (p.f64) fc_run_t<double>(p, in, out[0]);
  else if (any_16bit(in, n_in, out, n_out))
    run_widened(in, n_in, out, n_out, [&](const DLTensor* i, DLTensor* o) { fc_run_t<float>(p, i, o[0]); });
  else fc_run_t<float>(p, in, out[0]);
  return 0;
}

void fc_destroy(void* s) { delete static_cast<FcPlan*>(s); }

const mx_kernel kDotKernels[] = {
    kernel("dot", create, run, destroy),
    kernel("batch_dot", batch_dot_create, batch_dot_run, batch_dot_destroy),
    kernel("FullyConnected", fc_create, fc_run, fc_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kDotKernels);

}  // namespace
}  // namespace mxcpu
