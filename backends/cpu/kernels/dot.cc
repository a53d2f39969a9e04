// dot on OpenBLAS: the plan (GEMM dims, leading dims, transposes) is computed once in create().
#include <string>

#include "../cpu_backend.h"
#include "../gemm.h"

namespace mxcpu {
namespace {

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
  if (dtype != MX_FLOAT32 && dtype != MX_FLOAT64)
    return error(MX_ERR_UNSUPPORTED, "dot: cpu supports float32 and float64 only");
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

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Plan& p = *static_cast<const Plan*>(state);
  auto go = [&](auto zero) {
    using T = decltype(zero);
    gemm<T>(p.ta, p.tb, p.m, p.n, p.k, T(1), reinterpret_cast<const T*>(data_of(in[0])), p.lda,
            reinterpret_cast<const T*>(data_of(in[1])), p.ldb, T(0), reinterpret_cast<T*>(data_of(out[0])), p.n);
  };
  if (p.f64) go(0.0);
  else go(0.0f);
  return 0;
}

void destroy(void* s) { delete static_cast<Plan*>(s); }

}  // namespace

const mx_kernel kDotKernels[] = {
    {sizeof(mx_kernel), "dot", create, run, destroy},
    {0, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace mxcpu
