// The linalg family, part 1 (core/op/defs/linalg.cc): products (_linalg_gemm, _linalg_gemm2,
// _linalg_trmm, _linalg_trsm, _linalg_syrk) on BLAS, and the diagonal / triangle ops
// (_linalg_sumlogdiag, _linalg_extractdiag, _linalg_makediag, _linalg_extracttrian,
// _linalg_maketrian). The factorizations are in linalg_factor.cc. Every op works on the matrices of
// its leading (batch) axes, in parallel over the batch; float32 and float64 only, as in MXNet.
#include <cmath>
#include <cstdlib>

#include "../gemm.h"
#include "../parallel.h"
#include "linalg_lapack.h"

namespace mxcpu {
namespace {

using la::Params;
using la::ptr;

// ---------------------------------------------------------------- gemm, gemm2

// A gemm operand: its matrices have rows on axis `axis` and columns on the last axis; the axes
// before `axis` (outer) and between it and the last (inner) are batch axes, as MXNet's LaOpFlatten.
struct Operand {
  int64_t inner = 1, rows = 1, cols = 1;
  Operand(const DLTensor& t, int64_t axis) {
    const int ax = int(axis < 0 ? axis + t.ndim : axis);
    rows = t.shape[ax];
    cols = t.shape[t.ndim - 1];
    for (int i = ax + 1; i < t.ndim - 1; ++i) inner *= t.shape[i];
  }
  int64_t ld() const { return inner * cols; }
  // Offset of matrix b of the batch (outer-major, inner-minor).
  int64_t offset(int64_t b) const { return ((b / inner) * rows * inner + b % inner) * cols; }
};

// out = alpha op(A) op(B) (+ beta C, copied into out first, for gemm).
template <typename T>
int gemm_common(const Params& p, const DLTensor* in, DLTensor* out, bool with_c) {
  const Operand a(in[0], p.axis), b(in[1], p.axis), o(out[0], p.axis);
  const int64_t n_batch = numel(out[0]) / (o.rows * o.cols == 0 ? 1 : o.rows * o.cols);
  const int64_t k = p.transpose_a ? a.rows : a.cols;
  T* y = ptr<T>(out[0]);
  const T beta = with_c ? T(p.beta) : T(0);
  if (with_c) la::copy(ptr<T>(in[2]), y, numel(out[0]));
  if (o.rows * o.cols == 0) return 0;
  if (k == 0) {  // an empty product: out = beta C
    for (int64_t i = 0; i < numel(out[0]); ++i) y[i] = with_c ? beta * y[i] : T(0);
    return 0;
  }
  const T* x = ptr<T>(in[0]);
  const T* z = ptr<T>(in[1]);
  parallel_for(n_batch, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      gemm<T>(p.transpose_a, p.transpose_b, o.rows, o.cols, k, T(p.alpha), x + a.offset(i), a.ld(), z + b.offset(i),
              b.ld(), beta, y + o.offset(i), o.ld());
  });
  return 0;
}
template <typename T>
int gemm_op(const Params& p, const DLTensor* in, DLTensor* out) {
  return gemm_common<T>(p, in, out, true);
}
template <typename T>
int gemm2_op(const Params& p, const DLTensor* in, DLTensor* out) {
  return gemm_common<T>(p, in, out, false);
}

// ---------------------------------------------------------------- trmm, trsm, syrk

// out = alpha op(A) B or alpha B op(A) (trmm), or the same with op(A)^-1 (trsm), A triangular:
// only its `lower` (or upper) triangle is read, as BLAS does.
template <typename T, bool Solve>
int triangular_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[0], 1), m = la::dim(out[0], 2), k = la::dim(out[0], 1);
  const int64_t count = la::batch(out[0], 2);
  la::copy(ptr<T>(in[1]), ptr<T>(out[0]), numel(out[0]));
  if (m * k == 0) return 0;
  const T* a = ptr<T>(in[0]);
  T* y = ptr<T>(out[0]);
  const CBLAS_SIDE side = p.rightside ? CblasRight : CblasLeft;
  const CBLAS_UPLO uplo = p.lower ? CblasLower : CblasUpper;
  const CBLAS_TRANSPOSE trans = p.transpose ? CblasTrans : CblasNoTrans;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      if constexpr (Solve) lapack::trsm(side, uplo, trans, int(m), int(k), T(p.alpha), a + i * n * n, int(n), y + i * m * k, int(k));
      else lapack::trmm(side, uplo, trans, int(m), int(k), T(p.alpha), a + i * n * n, int(n), y + i * m * k, int(k));
    }
  });
  return 0;
}
template <typename T>
int trmm_op(const Params& p, const DLTensor* in, DLTensor* out) {
  return triangular_op<T, false>(p, in, out);
}
template <typename T>
int trsm_op(const Params& p, const DLTensor* in, DLTensor* out) {
  return triangular_op<T, true>(p, in, out);
}

// out = alpha A A^T (or alpha A^T A with transpose), computed in the lower triangle and mirrored.
template <typename T>
int syrk_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t rows = la::dim(in[0], 2), cols = la::dim(in[0], 1), n = la::dim(out[0], 1);
  const int64_t kdim = p.transpose ? rows : cols, count = la::batch(out[0], 2);
  const T* a = ptr<T>(in[0]);
  T* y = ptr<T>(out[0]);
  if (n == 0) return 0;
  if (kdim == 0) {
    std::fill(y, y + numel(out[0]), T(0));
    return 0;
  }
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T* c = y + i * n * n;
      lapack::syrk(p.transpose ? CblasTrans : CblasNoTrans, int(n), int(kdim), T(p.alpha), a + i * rows * cols,
                   int(cols), c, int(n));
      la::mirror_triangle(c, n, true);
    }
  });
  return 0;
}

// ---------------------------------------------------------------- diagonals and triangles

// sum(log(diag(A))) per matrix (a non-positive diagonal entry gives NaN or -inf, as in MXNet).
template <typename T>
int sumlogdiag_op(const Params&, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[0], 1), count = la::batch(in[0], 2);
  const T* a = ptr<T>(in[0]);
  T* y = ptr<T>(out[0]);
  for (int64_t b = 0; b < count; ++b) {
    T s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::log(a[(b * n + i) * n + i]);
    y[b] = s;
  }
  return 0;
}

// Row and column of entry i of diagonal `offset` (> 0 above the main one).
inline int64_t diag_row(int64_t i, int64_t offset) { return offset < 0 ? i - offset : i; }
inline int64_t diag_col(int64_t i, int64_t offset) { return offset > 0 ? i + offset : i; }

template <typename T>
int extractdiag_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[0], 1), m = la::dim(out[0], 1), count = la::batch(in[0], 2);
  const T* a = ptr<T>(in[0]);
  T* y = ptr<T>(out[0]);
  for (int64_t b = 0; b < count; ++b)
    for (int64_t i = 0; i < m; ++i) y[b * m + i] = a[(b * n + diag_row(i, p.offset)) * n + diag_col(i, p.offset)];
  return 0;
}

template <typename T>
int makediag_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t m = la::dim(in[0], 1), n = la::dim(out[0], 1), count = la::batch(in[0], 1);
  const T* a = ptr<T>(in[0]);
  T* y = ptr<T>(out[0]);
  std::fill(y, y + numel(out[0]), T(0));
  for (int64_t b = 0; b < count; ++b)
    for (int64_t i = 0; i < m; ++i) y[(b * n + diag_row(i, p.offset)) * n + diag_col(i, p.offset)] = a[b * m + i];
  return 0;
}

// Calls f(t, row, col) for the entries of the triangle extracttrian / maketrian address, t counting
// them in row-major order: offset > 0 the upper triangle starting `offset` diagonals above the main
// one, offset < 0 the lower one below it, offset 0 the lower (or upper) triangle with the diagonal.
template <typename F>
void for_triangle(int64_t n, int64_t offset, bool lower, F f) {
  const int64_t shift = std::abs(offset), m = n - shift;
  const bool low = offset < 0 || (offset == 0 && lower);
  int64_t t = 0;
  for (int64_t i = 0; i < m; ++i) {
    if (low)
      for (int64_t j = 0; j <= i; ++j) f(t++, i + shift, j);
    else
      for (int64_t j = i; j < m; ++j) f(t++, i, j + shift);
  }
}

template <typename T>
int extracttrian_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[0], 1), len = la::dim(out[0], 1), count = la::batch(in[0], 2);
  const T* a = ptr<T>(in[0]);
  T* y = ptr<T>(out[0]);
  for (int64_t b = 0; b < count; ++b)
    for_triangle(n, p.offset, p.lower, [&](int64_t t, int64_t r, int64_t c) { y[b * len + t] = a[(b * n + r) * n + c]; });
  return 0;
}

template <typename T>
int maketrian_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t len = la::dim(in[0], 1), n = la::dim(out[0], 1), count = la::batch(in[0], 1);
  const T* a = ptr<T>(in[0]);
  T* y = ptr<T>(out[0]);
  std::fill(y, y + numel(out[0]), T(0));
  for (int64_t b = 0; b < count; ++b)
    for_triangle(n, p.offset, p.lower, [&](int64_t t, int64_t r, int64_t c) { y[(b * n + r) * n + c] = a[b * len + t]; });
  return 0;
}

const mx_kernel kLinalgKernels[] = {
    MX_LINALG_KERNEL("_linalg_gemm", gemm_op),
    MX_LINALG_KERNEL("_linalg_gemm2", gemm2_op),
    MX_LINALG_KERNEL("_linalg_trmm", trmm_op),
    MX_LINALG_KERNEL("_linalg_trsm", trsm_op),
    MX_LINALG_KERNEL("_linalg_syrk", syrk_op),
    MX_LINALG_KERNEL("_linalg_sumlogdiag", sumlogdiag_op),
    MX_LINALG_KERNEL("_linalg_extractdiag", extractdiag_op),
    MX_LINALG_KERNEL("_linalg_makediag", makediag_op),
    MX_LINALG_KERNEL("_linalg_extracttrian", extracttrian_op),
    MX_LINALG_KERNEL("_linalg_maketrian", maketrian_op),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kLinalgKernels);

}  // namespace
}  // namespace mxcpu
