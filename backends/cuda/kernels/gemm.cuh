// GEMM for the CUDA kernels: row-major products on cuBLAS (cublasGemmEx / cublasGemmStridedBatchedEx)
// and, for a fused bias epilogue, cuBLASLt (one handle per device, a descriptor set and heuristic
// algorithm cached per kernel state). The CUDA counterpart of backends/cpu/gemm.{h,cc}.
//
// Row-major to column-major, without copies
// -----------------------------------------
// Every tensor is compact row-major; cuBLAS is column-major. A row-major matrix X (r x c, leading
// dimension ld) is, read column-major, the matrix X^T (c x r, same ld). So the row-major product
//
//     C (m x n, ldc) = op(A) (m x k) . op(B) (k x n)
//
// is the column-major product C^T (n x m, ldc) = op(B)^T (n x k) . op(A)^T (k x m), i.e. one cuBLAS
// call with the operands swapped and the dimensions (n, m, k):
//
//     cuBLAS A := our B, transa := (tb ? T : N), lda := ldb   (stored n x k, or k x n when tb)
//     cuBLAS B := our A, transb := (ta ? T : N), ldb := lda   (stored k x m, or m x k when ta)
//     cuBLAS C := our C, ldc (n x m)
//
// Row-major leading dimensions as the CPU passes them: A is m x k (lda = k), or stored k x m when
// ta (lda = m); B is k x n (ldb = n), or stored n x k when tb (ldb = k); C is m x n (ldc = n).
// A cuBLASLt bias epilogue adds a vector along the rows of column-major D = C^T, i.e. one value per
// column of our row-major C: exactly FullyConnected's bias (length n, broadcast over the m rows).
//
// Compute types: float32 CUBLAS_COMPUTE_32F (exact float; the handle's math mode is pedantic) or
// CUBLAS_COMPUTE_32F_FAST_TF32 when tensor_cores_allowed(); float64 CUBLAS_COMPUTE_64F; float16 /
// bfloat16 storage with CUBLAS_COMPUTE_32F (float accumulation; tensor cores through cuBLASLt, as
// the pedantic cuBLAS handles keep cublasGemmEx off them). alpha / beta are in the scale type:
// double for float64, float otherwise.
#pragma once

#include <cublasLt.h>

#include <climits>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "launch.cuh"

namespace mxcuda {

// A row-major (batched) product C = op(A) op(B); see the mapping above. Strides in elements.
struct GemmShape {
  bool ta = false, tb = false;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
};

// The library types of one storage dtype.
struct GemmType {
  cudaDataType_t data = CUDA_R_32F;
  cudaDataType_t scale = CUDA_R_32F;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
};

// False for a dtype cuBLAS does not multiply here (the integer dtypes, bool).
inline bool gemm_type(int32_t dtype, GemmType* t) {
  switch (dtype) {
    case MX_FLOAT32:
      *t = {CUDA_R_32F, CUDA_R_32F, tensor_cores_allowed() ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F};
      return true;
    case MX_FLOAT64:
      *t = {CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F};
      return true;
    case MX_FLOAT16:
      *t = {CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F};
      return true;
    case MX_BFLOAT16:
      *t = {CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F};
      return true;
  }
  return false;
}

// alpha = 1 and beta = 0 or 1, in the scale type (host pointers: the default pointer mode).
struct GemmScalars {
  float f[2];
  double d[2];
  GemmScalars(bool accumulate) : f{1.0f, accumulate ? 1.0f : 0.0f}, d{1.0, accumulate ? 1.0 : 0.0} {}
  const void* alpha(const GemmType& t) const { return t.scale == CUDA_R_64F ? static_cast<const void*>(&d[0]) : &f[0]; }
  const void* beta(const GemmType& t) const { return t.scale == CUDA_R_64F ? static_cast<const void*>(&d[1]) : &f[1]; }
};

// C = op(A) op(B) (+ C when accumulate) on the stream-bound handle h (cublas_of). Needs m, n, k >= 1
// (callers handle empty products). The 64-bit entry points only when a dimension exceeds int.
inline int gemm_cublas(cublasHandle_t h, const GemmShape& s, const GemmType& t, const void* a, const void* b, void* c,
                       bool accumulate, const char* op) {
  const GemmScalars sc(accumulate);
  const cublasOperation_t opa = s.tb ? CUBLAS_OP_T : CUBLAS_OP_N, opb = s.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  bool fits = true;
  for (int64_t v : {s.m, s.n, s.k, s.lda, s.ldb, s.ldc, s.batch}) fits = fits && v <= INT_MAX;
  if (s.batch == 1) {
    if (fits)
      return check_cublas(
          cublasGemmEx(h, opa, opb, int(s.n), int(s.m), int(s.k), sc.alpha(t), b, t.data, int(s.ldb), a, t.data,
                       int(s.lda), sc.beta(t), c, t.data, int(s.ldc), t.compute, CUBLAS_GEMM_DEFAULT),
          "cublasGemmEx", op);
    return check_cublas(cublasGemmEx_64(h, opa, opb, s.n, s.m, s.k, sc.alpha(t), b, t.data, s.ldb, a, t.data, s.lda,
                                        sc.beta(t), c, t.data, s.ldc, t.compute, CUBLAS_GEMM_DEFAULT),
                        "cublasGemmEx_64", op);
  }
  if (fits)
    return check_cublas(
        cublasGemmStridedBatchedEx(h, opa, opb, int(s.n), int(s.m), int(s.k), sc.alpha(t), b, t.data, int(s.ldb),
                                   s.stride_b, a, t.data, int(s.lda), s.stride_a, sc.beta(t), c, t.data, int(s.ldc),
                                   s.stride_c, int(s.batch), t.compute, CUBLAS_GEMM_DEFAULT),
        "cublasGemmStridedBatchedEx", op);
  return check_cublas(cublasGemmStridedBatchedEx_64(h, opa, opb, s.n, s.m, s.k, sc.alpha(t), b, t.data, s.ldb,
                                                    s.stride_b, a, t.data, s.lda, s.stride_a, sc.beta(t), c, t.data,
                                                    s.ldc, s.stride_c, s.batch, t.compute, CUBLAS_GEMM_DEFAULT),
                      "cublasGemmStridedBatchedEx_64", op);
}

// The cuBLASLt handle of device dev (created on first use, never destroyed; an Lt handle is not
// bound to a stream, cublasLtMatmul takes one per call). nullptr after reporting an error.
inline cublasLtHandle_t lt_handle(int dev, const char* op) {
  static std::mutex mu;
  static std::vector<cublasLtHandle_t> handles;
  std::lock_guard<std::mutex> lk(mu);
  if (dev < 0) {
    error(MX_ERR_INVALID_ARGUMENT, std::string(op) + ": invalid cuda device " + std::to_string(dev));
    return nullptr;
  }
  if (int(handles.size()) <= dev) handles.resize(size_t(dev) + 1, nullptr);
  if (handles[size_t(dev)]) return handles[size_t(dev)];
  int prev = 0;  // create() may run on any host thread: leave its current device as found
  if (check(cudaGetDevice(&prev), "cudaGetDevice", op) || check(cudaSetDevice(dev), "cudaSetDevice", op))
    return nullptr;
  cublasLtHandle_t h = nullptr;
  const int rc = check_cublas(cublasLtCreate(&h), "cublasLtCreate", op);
  cudaSetDevice(prev);
  if (rc) return nullptr;
  handles[size_t(dev)] = h;
  return h;
}

// Workspace offered to cuBLASLt's heuristic; the state then reserves what the chosen algorithm needs.
constexpr uint64_t kLtMaxWorkspace = uint64_t(32) << 20;
// The pointer alignment cuBLASLt's heuristic assumes by default (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*).
constexpr uintptr_t kLtAlignment = 256;

// One cuBLASLt product, planned once (descriptors and the heuristic's first algorithm, no device
// work): C = op(A) op(B), plus a bias along the rows of row-major C (length n) when `bias`.
class LtGemm {
 public:
  LtGemm() = default;
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;
  ~LtGemm() {
    if (a_) cublasLtMatrixLayoutDestroy(a_);
    if (b_) cublasLtMatrixLayoutDestroy(b_);
    if (c_) cublasLtMatrixLayoutDestroy(c_);
    if (desc_) cublasLtMatmulDescDestroy(desc_);
  }

  // 0 when planned (ready() says whether cuBLASLt has an algorithm for it; if not, use
  // gemm_cublas); -1 after reporting a library failure.
  int plan(const GemmShape& s, const GemmType& t, bool bias, int dev, const char* op) {
    t_ = t;
    bias_ = bias;
    if (s.batch > INT32_MAX) return 0;  // CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT is int32
    h_ = lt_handle(dev, op);
    if (!h_) return -1;
    const cublasOperation_t opa = s.tb ? CUBLAS_OP_T : CUBLAS_OP_N, opb = s.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (check_cublas(cublasLtMatmulDescCreate(&desc_, t.compute, t.scale), "cublasLtMatmulDescCreate", op) ||
        check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSA, &opa, sizeof(opa)),
                     "cublasLtMatmulDescSetAttribute", op) ||
        check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_TRANSB, &opb, sizeof(opb)),
                     "cublasLtMatmulDescSetAttribute", op))
      return -1;
    if (bias) {
      const cublasLtEpilogue_t e = CUBLASLT_EPILOGUE_BIAS;  // bias type: the output's (the default)
      if (check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_EPILOGUE, &e, sizeof(e)),
                       "cublasLtMatmulDescSetAttribute", op))
        return -1;
    }
    // Column-major layouts of the stored matrices (see the mapping at the top of this file).
    if (layout(&a_, s.tb ? s.k : s.n, s.tb ? s.n : s.k, s.ldb, s.batch, s.stride_b, op) ||
        layout(&b_, s.ta ? s.m : s.k, s.ta ? s.k : s.m, s.lda, s.batch, s.stride_a, op) ||
        layout(&c_, s.n, s.m, s.ldc, s.batch, s.stride_c, op))
      return -1;
    cublasLtMatmulPreference_t pref = nullptr;
    if (check_cublas(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate", op)) return -1;
    const uint64_t ws = kLtMaxWorkspace;
    int rc = check_cublas(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
        "cublasLtMatmulPreferenceSetAttribute", op);
    if (!rc) {
      // No algorithm (NOT_SUPPORTED or an empty answer) is not an error: the caller uses cuBLAS.
      cublasLtMatmulHeuristicResult_t r{};
      int count = 0;
      int prev = 0;
      cudaGetDevice(&prev);
      cudaSetDevice(dev);
      const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h_, desc_, a_, b_, c_, c_, pref, 1, &r, &count);
      cudaSetDevice(prev);
      if (st == CUBLAS_STATUS_SUCCESS && count > 0 && r.state == CUBLAS_STATUS_SUCCESS &&
          r.workspaceSize <= kLtMaxWorkspace) {
        algo_ = r.algo;
        workspace_ = r.workspaceSize;
        ready_ = true;
      }
    }
    cublasLtMatmulPreferenceDestroy(pref);
    return rc;
  }

  bool ready() const { return ready_; }
  uint64_t workspace() const { return ready_ ? workspace_ : 0; }

  // Whether this call can take the planned algorithm: pointers as aligned as the heuristic assumed
  // and the workspace it needs provided by the host.
  bool usable(const mx_kernel_ctx* ctx, const void* a, const void* b, const void* c, const void* bias) const {
    if (!ready_) return false;
    for (const void* p : {a, b, c, bias})
      if (p && reinterpret_cast<uintptr_t>(p) % kLtAlignment) return false;
    return workspace_ == 0 || (ctx->temp_space && ctx->temp_bytes >= workspace_);
  }

  // Enqueues C = op(A) op(B) (+ bias) on stream (usable() must hold).
  int run(const mx_kernel_ctx* ctx, cudaStream_t stream, const void* a, const void* b, void* c, const void* bias,
          const char* op) {
    const GemmScalars sc(false);
    // The bias pointer lives in the shared descriptor: set it and enqueue under the lock (run() may
    // be called from several threads with one state).
    std::unique_lock<std::mutex> lk(mu_, std::defer_lock);
    if (bias_) {
      lk.lock();
      if (check_cublas(cublasLtMatmulDescSetAttribute(desc_, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
                       "cublasLtMatmulDescSetAttribute", op))
        return -1;
    }
    return check_cublas(cublasLtMatmul(h_, desc_, sc.alpha(t_), b, a_, a, b_, sc.beta(t_), c, c_, c, c_, &algo_,
                                       workspace_ ? ctx->temp_space : nullptr, workspace_, stream),
                        "cublasLtMatmul", op);
  }

 private:
  int layout(cublasLtMatrixLayout_t* l, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride,
             const char* op) {
    if (check_cublas(cublasLtMatrixLayoutCreate(l, t_.data, uint64_t(rows), uint64_t(cols), ld),
                     "cublasLtMatrixLayoutCreate", op))
      return -1;
    if (batch == 1) return 0;
    const int32_t count = int32_t(batch);
    if (check_cublas(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
                     "cublasLtMatrixLayoutSetAttribute", op) ||
        check_cublas(
            cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
            "cublasLtMatrixLayoutSetAttribute", op))
      return -1;
    return 0;
  }

  GemmType t_;
  bool bias_ = false, ready_ = false;
  cublasLtHandle_t h_ = nullptr;
  cublasLtMatmulDesc_t desc_ = nullptr;
  cublasLtMatrixLayout_t a_ = nullptr, b_ = nullptr, c_ = nullptr;  // cuBLAS's A (our B), B (our A), C = D
  cublasLtMatmulAlgo_t algo_{};
  size_t workspace_ = 0;
  std::mutex mu_;
};

template <typename W>
int fill_rows_as(void* y, const void* row, int64_t rows, int64_t width, cudaStream_t s, const char* op) {
  W* o = static_cast<W*>(y);
  const W* r = static_cast<const W*>(row);
  return for_each(rows * width, s, op, [=] __device__(int64_t i) { o[i] = r[i % width]; });
}

// Row-major y (rows x width) := `row` (width elements of elem_bytes) in every row; copies bits.
inline int fill_rows(void* y, const void* row, int64_t rows, int64_t width, int64_t elem_bytes, cudaStream_t s,
                     const char* op) {
  switch (elem_bytes) {
    case 2:
      return fill_rows_as<uint16_t>(y, row, rows, width, s, op);
    case 4:
      return fill_rows_as<uint32_t>(y, row, rows, width, s, op);
    default:
      return fill_rows_as<uint64_t>(y, row, rows, width, s, op);
  }
}

}  // namespace mxcuda
