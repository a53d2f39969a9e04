// The linalg family, part 2 (core/op/defs/linalg.cc): the factorizations on LAPACK
// (_linalg_potrf, _linalg_potri, _linalg_gelqf, _linalg_syevd, _linalg_inverse, _linalg_det,
// _linalg_slogdet) and the gradient-only ops whose backward is not a graph of other ops
// (_backward_linalg_potrf, _backward_linalg_gelqf, _backward_linalg_syevd, _backward_linalg_det,
// _backward_linalg_slogdet).
//
// A matrix LAPACK cannot factor (not positive definite for potrf, singular for inverse and potri,
// no convergence for syevd) fails the op with a message naming the op and the matrix's batch index
// (the smallest one when several fail); nothing is left half-written silently.
#include <cmath>
#include <string>

#include "../gemm.h"
#include "../parallel.h"
#include "linalg_lapack.h"

namespace mxcpu {
namespace {

using la::Params;
using la::ptr;

int failure(const Params& p, const la::FirstFailure& f, const std::string& what) {
  return error(MX_ERR_INVALID_ARGUMENT, p.op + ": the matrix at batch index " + std::to_string(f.index()) + " " + what);
}

// ---------------------------------------------------------------- potrf, potri

// Row-major lower triangle = column-major upper triangle.
char uplo_of(bool lower) { return lower ? 'U' : 'L'; }

// A = L L^T (lower) or U^T U: the factor, reading only that triangle of A, the other one zeroed.
template <typename T>
int potrf_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[0], 1), count = la::batch(in[0], 2);
  T* y = ptr<T>(out[0]);
  la::copy(ptr<T>(in[0]), y, numel(out[0]));
  if (n == 0) return 0;  // LAPACK rejects a leading dimension of 0
  la::FirstFailure bad;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      T* m = y + b * n * n;
      if (const int info = lapack::potrf(uplo_of(p.lower), int(n), m)) bad.note(b, info);
      la::zero_triangle(m, n, p.lower);
    }
  });
  if (bad.failed())
    return failure(p, bad, "is not positive definite (its leading minor of order " + std::to_string(bad.info()) +
                               " is not positive)");
  return 0;
}

// (L L^T)^-1 (or (U^T U)^-1) from the triangular factor, reading only its triangle; symmetric.
template <typename T>
int potri_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[0], 1), count = la::batch(in[0], 2);
  T* y = ptr<T>(out[0]);
  la::copy(ptr<T>(in[0]), y, numel(out[0]));
  if (n == 0) return 0;  // LAPACK rejects a leading dimension of 0
  la::FirstFailure bad;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      T* m = y + b * n * n;
      if (const int info = lapack::potri(uplo_of(p.lower), int(n), m)) bad.note(b, info);
      la::mirror_triangle(m, n, p.lower);
    }
  });
  if (bad.failed())
    return failure(p, bad, "is a singular factor (diagonal entry " + std::to_string(bad.info() - 1) + " is zero)");
  return 0;
}

// ---------------------------------------------------------------- inverse, det, slogdet

template <typename T>
int inverse_op(const Params& p, const DLTensor* in, DLTensor* out) {
  // Row-major A is column-major A^T, and inverse(A^T) read row-major is inverse(A).
  const int64_t n = la::dim(in[0], 1), count = la::batch(in[0], 2);
  T* y = ptr<T>(out[0]);
  la::copy(ptr<T>(in[0]), y, numel(out[0]));
  if (n == 0) return 0;
  la::FirstFailure bad;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    std::vector<int> ipiv(static_cast<size_t>(n));
    std::vector<T> work;
    for (int64_t b = lo; b < hi; ++b) {
      T* m = y + b * n * n;
      if (const int info = lapack::getrf(int(n), m, ipiv.data())) {
        bad.note(b, info);
        continue;
      }
      lapack::getri(int(n), m, ipiv.data(), work);
    }
  });
  if (bad.failed())
    return failure(p, bad, "is singular (U(" + std::to_string(bad.info() - 1) + "," + std::to_string(bad.info() - 1) +
                               ") of its LU factorization is exactly zero)");
  return 0;
}

// sign(det A) and log|det A| of each matrix from its LU factorization (det(A^T) = det(A)); a
// singular matrix has sign 0 and log|det| -inf, as in MXNet.
template <typename T>
void signed_logdet(const DLTensor& a_t, T* sign, T* logabs) {
  const int64_t n = la::dim(a_t, 1), count = la::batch(a_t, 2);
  const T* a = ptr<T>(a_t);
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    std::vector<T> lu(static_cast<size_t>(n * n));
    std::vector<int> ipiv(static_cast<size_t>(n));
    for (int64_t b = lo; b < hi; ++b) {
      std::copy(a + b * n * n, a + (b + 1) * n * n, lu.begin());
      if (n > 0) lapack::getrf(int(n), lu.data(), ipiv.data());
      T s = 1, l = 0;
      for (int64_t j = 0; j < n; ++j) {
        const T d = lu[size_t(j * n + j)];
        if (ipiv[size_t(j)] != j + 1) s = -s;
        s *= T((d > 0) - (d < 0));
        l += std::log(std::fabs(d));
      }
      sign[b] = s;
      logabs[b] = l;
    }
  });
}

template <typename T>
int det_op(const Params&, const DLTensor* in, DLTensor* out) {
  const int64_t count = la::batch(in[0], 2);
  std::vector<T> sign(static_cast<size_t>(count)), logabs(static_cast<size_t>(count));
  signed_logdet<T>(in[0], sign.data(), logabs.data());
  T* y = ptr<T>(out[0]);
  for (int64_t b = 0; b < count; ++b) y[b] = sign[size_t(b)] * std::exp(logabs[size_t(b)]);
  return 0;
}

template <typename T>
int slogdet_op(const Params&, const DLTensor* in, DLTensor* out) {
  signed_logdet<T>(in[0], ptr<T>(out[0]), ptr<T>(out[1]));
  return 0;
}

// g_b * inverse(A_b)^T for each matrix A_b, zero where A_b is singular (MXNet stops the gradient of
// det and slogdet there rather than fail): the gradient-only ops below.
template <typename T>
void scaled_inverse_transpose(const T* g, const DLTensor& a_t, T* da) {
  const int64_t n = la::dim(a_t, 1), count = la::batch(a_t, 2);
  const T* a = ptr<T>(a_t);
  if (n == 0) return;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    std::vector<T> inv(static_cast<size_t>(n * n)), work;
    std::vector<int> ipiv(static_cast<size_t>(n));
    for (int64_t b = lo; b < hi; ++b) {
      T* out = da + b * n * n;
      std::copy(a + b * n * n, a + (b + 1) * n * n, inv.begin());
      if (lapack::getrf(int(n), inv.data(), ipiv.data()) != 0) {
        std::fill(out, out + n * n, T(0));
        continue;
      }
      lapack::getri(int(n), inv.data(), ipiv.data(), work);  // read row-major: inverse(A_b)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) out[i * n + j] = g[b] * inv[size_t(j * n + i)];
    }
  });
}

// Backward of det (Jacobi's formula): dA = ddet * det * A^-T. Inputs: ddet, det, A.
template <typename T>
int det_backward_op(const Params&, const DLTensor* in, DLTensor* out) {
  const int64_t count = la::batch(in[2], 2);
  const T* ddet = ptr<T>(in[0]);
  const T* det = ptr<T>(in[1]);
  std::vector<T> g(static_cast<size_t>(count));
  for (int64_t b = 0; b < count; ++b) g[size_t(b)] = ddet[b] * det[b];
  scaled_inverse_transpose<T>(g.data(), in[2], ptr<T>(out[0]));
  return 0;
}

// Backward of slogdet's logabsdet: dA = dlogabsdet * A^-T (the sign has no gradient).
// Inputs: dlogabsdet, A.
template <typename T>
int slogdet_backward_op(const Params&, const DLTensor* in, DLTensor* out) {
  scaled_inverse_transpose<T>(ptr<T>(in[0]), in[1], ptr<T>(out[0]));
  return 0;
}

// ---------------------------------------------------------------- gelqf

// A (m x n, m <= n) = L Q with L lower triangular (m x m) and Q's rows orthonormal (m x n).
// Row-major A is the column-major n x m matrix A^T, whose QR factorization A^T = Q' R is A's LQ:
// L = R^T, Q = Q'^T, and Q' column-major is Q row-major, so no transposition is needed.
template <typename T>
int gelqf_op(const Params&, const DLTensor* in, DLTensor* out) {
  const int64_t m = la::dim(in[0], 2), n = la::dim(in[0], 1), count = la::batch(in[0], 2);
  T* q = ptr<T>(out[0]);
  T* l = ptr<T>(out[1]);
  la::copy(ptr<T>(in[0]), q, numel(out[0]));
  if (m == 0) return 0;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    std::vector<T> tau(static_cast<size_t>(m)), work;
    for (int64_t b = lo; b < hi; ++b) {
      T* qb = q + b * m * n;
      T* lb = l + b * m * m;
      lapack::geqrf(int(n), int(m), qb, int(n), tau.data(), work);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j) lb[i * m + j] = j <= i ? qb[i * n + j] : T(0);
      lapack::orgqr(int(n), int(m), qb, int(n), tau.data(), work);
    }
  });
  return 0;
}

// ---------------------------------------------------------------- syevd

// A = U^T diag(lambda) U: eigenvalues ascending, eigenvectors in the rows of U, each row's sign
// chosen so that its entry of largest magnitude (the first of ties) is positive (MXNet's rule).
// Only the lower triangle of A is read.
template <typename T>
int syevd_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[0], 1), count = la::batch(in[0], 2);
  T* u = ptr<T>(out[0]);
  T* lambda = ptr<T>(out[1]);
  la::copy(ptr<T>(in[0]), u, numel(out[0]));
  if (n == 0) return 0;
  la::FirstFailure bad;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    std::vector<T> work;
    std::vector<int> iwork;
    for (int64_t b = lo; b < hi; ++b) {
      T* ub = u + b * n * n;
      // Column-major eigenvectors are row-major rows.
      if (const int info = lapack::syevd('U', int(n), ub, lambda + b * n, work, iwork)) bad.note(b, info);
      for (int64_t r = 0; r < n; ++r) {
        T* row = ub + r * n;
        int64_t at = 0;
        for (int64_t j = 1; j < n; ++j)
          if (std::fabs(row[j]) > std::fabs(row[at])) at = j;
        if (row[at] < 0)
          for (int64_t j = 0; j < n; ++j) row[j] = -row[j];
      }
    }
  });
  if (bad.failed()) return failure(p, bad, "did not converge in the eigensolver (LAPACK syevd info " + std::to_string(bad.info()) + ")");
  return 0;
}

// ---------------------------------------------------------------- gradient-only ops

// Backward of L = potrf(A) (lower): dA = 0.5 L^-T copyLTU(L^T dL) L^-1, where copyLTU mirrors the
// lower triangle onto the upper one; symmetric. Upper (A = U^T U): the transposed formula.
// Inputs: dL, L.
template <typename T>
int potrf_backward_op(const Params& p, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[1], 1), count = la::batch(in[1], 2);
  const T* l = ptr<T>(in[1]);
  T* da = ptr<T>(out[0]);
  la::copy(ptr<T>(in[0]), da, numel(out[0]));
  if (n == 0) return 0;
  const CBLAS_UPLO uplo = p.lower ? CblasLower : CblasUpper;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const T* f = l + b * n * n;
      T* g = da + b * n * n;
      const int ni = int(n);
      if (p.lower) {
        lapack::trmm(CblasLeft, uplo, CblasTrans, ni, ni, T(1), f, ni, g, ni);   // L^T dL
        la::mirror_triangle(g, n, true);
        lapack::trsm(CblasLeft, uplo, CblasTrans, ni, ni, T(1), f, ni, g, ni);   // L^-T .
        lapack::trsm(CblasRight, uplo, CblasNoTrans, ni, ni, T(0.5), f, ni, g, ni);  // . L^-1 / 2
      } else {
        lapack::trmm(CblasRight, uplo, CblasTrans, ni, ni, T(1), f, ni, g, ni);  // dU U^T
        la::mirror_triangle(g, n, false);
        lapack::trsm(CblasLeft, uplo, CblasNoTrans, ni, ni, T(1), f, ni, g, ni);  // U^-1 .
        lapack::trsm(CblasRight, uplo, CblasTrans, ni, ni, T(0.5), f, ni, g, ni);  // . U^-T / 2
      }
    }
  });
  return 0;
}

// Backward of (Q, L) = gelqf(A): dA = L^-T (dQ + copyLTU(M) Q), M = L^T dL - dQ Q^T.
// Inputs: dQ, dL, Q, L.
template <typename T>
int gelqf_backward_op(const Params&, const DLTensor* in, DLTensor* out) {
  const int64_t m = la::dim(in[2], 2), n = la::dim(in[2], 1), count = la::batch(in[2], 2);
  const T* dq = ptr<T>(in[0]);
  const T* dl = ptr<T>(in[1]);
  const T* q = ptr<T>(in[2]);
  const T* l = ptr<T>(in[3]);
  T* da = ptr<T>(out[0]);
  if (m == 0) return 0;
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    std::vector<T> mm(static_cast<size_t>(m * m));
    for (int64_t b = lo; b < hi; ++b) {
      const T *qb = q + b * m * n, *lb = l + b * m * m, *dqb = dq + b * m * n;
      T* g = da + b * m * n;
      const int mi = int(m), ni = int(n);
      std::copy(dl + b * m * m, dl + (b + 1) * m * m, mm.begin());
      lapack::trmm(CblasLeft, CblasLower, CblasTrans, mi, mi, T(1), lb, mi, mm.data(), mi);  // L^T dL
      gemm<T>(false, true, m, m, n, T(-1), dqb, n, qb, n, T(1), mm.data(), m);             // - dQ Q^T
      la::mirror_triangle(mm.data(), m, true);
      std::copy(dqb, dqb + m * n, g);
      gemm<T>(false, false, m, n, m, T(1), mm.data(), m, qb, n, T(1), g, n);  // dQ + copyLTU(M) Q
      lapack::trsm(CblasLeft, CblasLower, CblasTrans, mi, ni, T(1), lb, mi, g, ni);  // L^-T .
    }
  });
  return 0;
}

// Backward of (U, lambda) = syevd(A): dA = U^T Y U with X = dU U^T, Y_ii = dlambda_i and, for i != j,
// Y_ij = Y_ji = (X_ij - X_ji) / (2 max(lambda_i - lambda_j, eps)) over i > j. Inputs: dU, dlambda, U, lambda.
template <typename T>
int syevd_backward_op(const Params&, const DLTensor* in, DLTensor* out) {
  const int64_t n = la::dim(in[2], 1), count = la::batch(in[2], 2);
  const T* du = ptr<T>(in[0]);
  const T* dlambda = ptr<T>(in[1]);
  const T* u = ptr<T>(in[2]);
  const T* lambda = ptr<T>(in[3]);
  T* da = ptr<T>(out[0]);
  if (n == 0) return 0;
  const T eps = sizeof(T) == 4 ? T(1e-30) : T(1e-100);
  parallel_for(count, 2, [&](int64_t lo, int64_t hi) {
    std::vector<T> x(static_cast<size_t>(n * n)), y(static_cast<size_t>(n * n));
    for (int64_t b = lo; b < hi; ++b) {
      const T* ub = u + b * n * n;
      const T* lb = lambda + b * n;
      gemm<T>(false, true, n, n, n, T(1), du + b * n * n, n, ub, n, T(0), x.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        y[size_t(i * n + i)] = dlambda[b * n + i];
        for (int64_t j = 0; j < i; ++j) {
          const T gap = std::max(lb[i] - lb[j], eps);
          y[size_t(i * n + j)] = y[size_t(j * n + i)] = (x[size_t(i * n + j)] - x[size_t(j * n + i)]) / (2 * gap);
        }
      }
      gemm<T>(true, false, n, n, n, T(1), ub, n, y.data(), n, T(0), x.data(), n);       // U^T Y
      gemm<T>(false, false, n, n, n, T(1), x.data(), n, ub, n, T(0), da + b * n * n, n);  // . U
    }
  });
  return 0;
}

const mx_kernel kLinalgFactorKernels[] = {
    MX_LINALG_KERNEL("_linalg_potrf", potrf_op),
    MX_LINALG_KERNEL("_linalg_potri", potri_op),
    MX_LINALG_KERNEL("_linalg_inverse", inverse_op),
    MX_LINALG_KERNEL("_linalg_det", det_op),
    MX_LINALG_KERNEL("_linalg_slogdet", slogdet_op),
    MX_LINALG_KERNEL("_linalg_gelqf", gelqf_op),
    MX_LINALG_KERNEL("_linalg_syevd", syevd_op),
    MX_LINALG_KERNEL("_backward_linalg_potrf", potrf_backward_op),
    MX_LINALG_KERNEL("_backward_linalg_gelqf", gelqf_backward_op),
    MX_LINALG_KERNEL("_backward_linalg_syevd", syevd_backward_op),
    MX_LINALG_KERNEL("_backward_linalg_det", det_backward_op),
    MX_LINALG_KERNEL("_backward_linalg_slogdet", slogdet_backward_op),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kLinalgFactorKernels);

}  // namespace
}  // namespace mxcpu
