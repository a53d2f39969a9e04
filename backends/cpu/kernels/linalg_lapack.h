// LAPACK and CBLAS level-3 calls of the linalg kernels (linalg.cc, linalg_factor.cc), overloaded on
// float / double. Debian's OpenBLAS carries LAPACK but no lapack.h is installed, so the Fortran
// prototypes are declared here (32-bit integers: OpenBLAS is built without INTERFACE64; the trailing
// size_t arguments are gfortran's hidden lengths of the character arguments).
//
// Row-major data seen by column-major LAPACK is the transpose: a row-major lower triangle is a
// column-major upper one, so the wrappers' callers pass uplo 'U' for a row-major lower matrix.
#pragma once

#include <cblas.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "../cpu_backend.h"

extern "C" {
void spotrf_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void spotri_(const char* uplo, const int* n, float* a, const int* lda, int* info, size_t);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void sgetrf_(const int* m, const int* n, float* a, const int* lda, int* ipiv, int* info);
void dgetrf_(const int* m, const int* n, double* a, const int* lda, int* ipiv, int* info);
void sgetri_(const int* n, float* a, const int* lda, const int* ipiv, float* work, const int* lwork, int* info);
void dgetri_(const int* n, double* a, const int* lda, const int* ipiv, double* work, const int* lwork, int* info);
void sgeqrf_(const int* m, const int* n, float* a, const int* lda, float* tau, float* work, const int* lwork, int* info);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work, const int* lwork,
             int* info);
void sorgqr_(const int* m, const int* n, const int* k, float* a, const int* lda, const float* tau, float* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau, double* work,
             const int* lwork, int* info);
void ssyevd_(const char* jobz, const char* uplo, const int* n, float* a, const int* lda, float* w, float* work,
             const int* lwork, int* iwork, const int* liwork, int* info, size_t, size_t);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w, double* work,
             const int* lwork, int* iwork, const int* liwork, int* info, size_t, size_t);
}

namespace mxcpu::lapack {

// Each returns LAPACK's info (0: success; > 0: the routine's documented numerical failure).
inline int potrf(char uplo, int n, float* a) { int info = 0; spotrf_(&uplo, &n, a, &n, &info, 1); return info; }
inline int potrf(char uplo, int n, double* a) { int info = 0; dpotrf_(&uplo, &n, a, &n, &info, 1); return info; }
inline int potri(char uplo, int n, float* a) { int info = 0; spotri_(&uplo, &n, a, &n, &info, 1); return info; }
inline int potri(char uplo, int n, double* a) { int info = 0; dpotri_(&uplo, &n, a, &n, &info, 1); return info; }
inline int getrf(int n, float* a, int* ipiv) { int info = 0; sgetrf_(&n, &n, a, &n, ipiv, &info); return info; }
inline int getrf(int n, double* a, int* ipiv) { int info = 0; dgetrf_(&n, &n, a, &n, ipiv, &info); return info; }

// The routines with a workspace query it (lwork = -1) and keep the buffer in `work` across calls.
template <typename T>
int getri(int n, T* a, const int* ipiv, std::vector<T>& work) {
  auto call = [&](T* w, int lw) {
    int info = 0;
    if constexpr (sizeof(T) == 4) sgetri_(&n, a, &n, ipiv, w, &lw, &info);
    else dgetri_(&n, a, &n, ipiv, w, &lw, &info);
    return info;
  };
  if (work.empty()) {
    T q = 0;
    call(&q, -1);
    work.resize(size_t(q) + 1);
  }
  return call(work.data(), int(work.size()));
}

// QR of the m x n column-major a (m >= n), then its m x n orthonormal Q in place of a.
template <typename T>
int geqrf(int m, int n, T* a, int lda, T* tau, std::vector<T>& work) {
  auto qr = [&](T* w, int lw) {
    int info = 0;
    if constexpr (sizeof(T) == 4) sgeqrf_(&m, &n, a, &lda, tau, w, &lw, &info);
    else dgeqrf_(&m, &n, a, &lda, tau, w, &lw, &info);
    return info;
  };
  auto org = [&](T* w, int lw) {
    int info = 0;
    if constexpr (sizeof(T) == 4) sorgqr_(&m, &n, &n, a, &lda, tau, w, &lw, &info);
    else dorgqr_(&m, &n, &n, a, &lda, tau, w, &lw, &info);
    return info;
  };
  if (work.empty()) {
    T q1 = 0, q2 = 0;
    qr(&q1, -1);
    org(&q2, -1);
    work.resize(size_t(q1 > q2 ? q1 : q2) + 1);
  }
  return qr(work.data(), int(work.size()));
}
template <typename T>
int orgqr(int m, int n, T* a, int lda, const T* tau, std::vector<T>& work) {
  int info = 0, lw = int(work.size());
  if constexpr (sizeof(T) == 4) sorgqr_(&m, &n, &n, a, &lda, tau, work.data(), &lw, &info);
  else dorgqr_(&m, &n, &n, a, &lda, tau, work.data(), &lw, &info);
  return info;
}

// Eigenvalues (ascending) into w and eigenvectors into the columns of the column-major a.
template <typename T>
int syevd(char uplo, int n, T* a, T* w, std::vector<T>& work, std::vector<int>& iwork) {
  const char jobz = 'V';
  auto call = [&](T* wk, int lw, int* iw, int liw) {
    int info = 0;
    if constexpr (sizeof(T) == 4) ssyevd_(&jobz, &uplo, &n, a, &n, w, wk, &lw, iw, &liw, &info, 1, 1);
    else dsyevd_(&jobz, &uplo, &n, a, &n, w, wk, &lw, iw, &liw, &info, 1, 1);
    return info;
  };
  if (work.empty()) {
    T q = 0;
    int iq = 0;
    call(&q, -1, &iq, -1);
    work.resize(size_t(q) + 1);
    iwork.resize(size_t(iq) + 1);
  }
  return call(work.data(), int(work.size()), iwork.data(), int(iwork.size()));
}

// ---- CBLAS level 3 on row-major matrices

inline void trsm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, int m, int n, float alpha, const float* a, int lda,
                 float* b, int ldb) {
  cblas_strsm(CblasRowMajor, s, u, t, CblasNonUnit, m, n, alpha, a, lda, b, ldb);
}
inline void trsm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, int m, int n, double alpha, const double* a, int lda,
                 double* b, int ldb) {
  cblas_dtrsm(CblasRowMajor, s, u, t, CblasNonUnit, m, n, alpha, a, lda, b, ldb);
}
inline void trmm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, int m, int n, float alpha, const float* a, int lda,
                 float* b, int ldb) {
  cblas_strmm(CblasRowMajor, s, u, t, CblasNonUnit, m, n, alpha, a, lda, b, ldb);
}
inline void trmm(CBLAS_SIDE s, CBLAS_UPLO u, CBLAS_TRANSPOSE t, int m, int n, double alpha, const double* a, int lda,
                 double* b, int ldb) {
  cblas_dtrmm(CblasRowMajor, s, u, t, CblasNonUnit, m, n, alpha, a, lda, b, ldb);
}
inline void syrk(CBLAS_TRANSPOSE t, int n, int k, float alpha, const float* a, int lda, float* c, int ldc) {
  cblas_ssyrk(CblasRowMajor, CblasLower, t, n, k, alpha, a, lda, 0.0f, c, ldc);
}
inline void syrk(CBLAS_TRANSPOSE t, int n, int k, double alpha, const double* a, int lda, double* c, int ldc) {
  cblas_dsyrk(CblasRowMajor, CblasLower, t, n, k, alpha, a, lda, 0.0, c, ldc);
}

}  // namespace mxcpu::lapack

// ---- kernel plumbing shared by the linalg kernels

namespace mxcpu::la {

// Every param any linalg op has; create() reads those the op's schema gives (all, validated).
struct Params {
  std::string op;
  bool transpose_a, transpose_b, transpose, rightside, lower;
  double alpha, beta;
  int64_t axis, offset;
};

inline int create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64)
    return error(MX_ERR_UNSUPPORTED,
                 std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) + " on cpu (float32, float64)");
  auto* p = new (std::nothrow) Params{args->op_name,
                                      attr_bool(args, "transpose_a"),
                                      attr_bool(args, "transpose_b"),
                                      attr_bool(args, "transpose"),
                                      attr_bool(args, "rightside"),
                                      attr_bool(args, "lower"),
                                      attr_float(args, "alpha"),
                                      attr_float(args, "beta"),
                                      attr_int(args, "axis"),
                                      attr_int(args, "offset")};
  if (!p) return error(MX_ERR_OUT_OF_MEMORY, std::string(args->op_name) + ": out of memory");
  *out = p;
  return 0;
}
inline void destroy(void* s) { delete static_cast<Params*>(s); }

// The run() slot of a kernel written as fn<float> / fn<double>(params, inputs, outputs); the
// scratch vectors may throw bad_alloc, which must not leave the plugin.
using Fn = int (*)(const Params&, const DLTensor*, DLTensor*);
template <Fn F32, Fn F64>
int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Params& p = *static_cast<const Params*>(state);
  try {
    return in[0].dtype.bits == 64 ? F64(p, in, out) : F32(p, in, out);
  } catch (const std::bad_alloc&) {
    return error(MX_ERR_OUT_OF_MEMORY, p.op + ": out of memory for LAPACK workspace");
  }
}
#define MX_LINALG_KERNEL(name, fn) kernel(name, la::create, la::run<fn<float>, fn<double>>, la::destroy)

template <typename T>
T* ptr(const DLTensor& t) {
  return reinterpret_cast<T*>(data_of(t));
}
// Number of matrices (or vectors) in t: the product of all but its last `dims` axes.
inline int64_t batch(const DLTensor& t, int dims) {
  int64_t b = 1;
  for (int i = 0; i + dims < t.ndim; ++i) b *= t.shape[i];
  return b;
}
inline int64_t dim(const DLTensor& t, int from_end) { return t.shape[t.ndim - from_end]; }

// out = in, unless they are the same memory (the core may run an op in place).
template <typename T>
void copy(const T* in, T* out, int64_t n) {
  if (in != out) std::memmove(out, in, size_t(n) * sizeof(T));
}

// The matrix of a batch whose numerical check failed first (LAPACK info > 0), across the chunks of
// a parallel loop: kernels report the smallest such index, so the message does not depend on
// scheduling.
class FirstFailure {
 public:
  void note(int64_t index, int info) {
    std::lock_guard<std::mutex> lock(mu_);
    if (index_ < 0 || index < index_) index_ = index, info_ = info;
  }
  bool failed() const { return index_ >= 0; }
  int64_t index() const { return index_; }
  int info() const { return info_; }

 private:
  std::mutex mu_;
  int64_t index_ = -1;
  int info_ = 0;
};

// Sets every entry above (upper = true) or below the diagonal of the n x n row-major m to zero.
template <typename T>
void zero_triangle(T* m, int64_t n, bool upper) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = upper ? i + 1 : 0; j < (upper ? n : i); ++j) m[i * n + j] = T(0);
}
// Mirrors the lower triangle onto the upper one (from_lower) or the other way round.
template <typename T>
void mirror_triangle(T* m, int64_t n, bool from_lower) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < i; ++j) {
      if (from_lower) m[j * n + i] = m[i * n + j];
      else m[i * n + j] = m[j * n + i];
    }
}

}  // namespace mxcpu::la
