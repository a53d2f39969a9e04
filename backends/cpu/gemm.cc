#include "gemm.h"

#include <cblas.h>

#include <algorithm>

#include "parallel.h"

namespace mxcpu {
namespace {

template <typename T>
void blas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  const auto A = ta ? CblasTrans : CblasNoTrans, B = tb ? CblasTrans : CblasNoTrans;
  // OpenBLAS rejects a leading dimension of 0 even when the matrix is empty.
  const auto ld = [](int64_t x) { return blasint(std::max<int64_t>(x, 1)); };
  if constexpr (sizeof(T) == 8)
    cblas_dgemm(CblasRowMajor, A, B, blasint(m), blasint(n), blasint(k), alpha, a, ld(lda), b, ld(ldb), beta, c,
                ld(ldc));
  else
    cblas_sgemm(CblasRowMajor, A, B, blasint(m), blasint(n), blasint(k), alpha, a, ld(lda), b, ld(ldb), beta, c,
                ld(ldc));
}

// Below this many multiply-adds one call is cheaper than waking the pool (~5 us of work). Checked
// with bench/bench_small_ops.py on the FC / dot shapes of LeNet and the MLP, forward and both
// backward products: 2^18 and 2^20 (which differ on 128x500->10 only) measured alike at 2 threads.
constexpr int64_t kParallelWork = int64_t(1) << 18;

}  // namespace

void gemm_init() { openblas_set_num_threads(1); }

template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m * n * k < kParallelWork) {
    blas(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (m >= n) {  // blocks of rows of C: rows of op(A)
    parallel_for(m, 2, [&](int64_t lo, int64_t hi) {
      blas(ta, tb, hi - lo, n, k, alpha, ta ? a + lo : a + lo * lda, lda, b, ldb, beta, c + lo * ldc, ldc);
    });
  } else {  // blocks of columns of C: columns of op(B)
    parallel_for(n, 2, [&](int64_t lo, int64_t hi) {
      blas(ta, tb, m, hi - lo, k, alpha, a, lda, tb ? b + lo * ldb : b + lo, ldb, beta, c + lo, ldc);
    });
  }
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*, int64_t,
                          float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, const double*,
                           int64_t, double, double*, int64_t);

}  // namespace mxcpu
