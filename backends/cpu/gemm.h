// GEMM for CPU kernels, parallel on the backend's own pool (parallel.h). OpenBLAS runs
// single-threaded (gemm_init): its pthread build keeps its threads busy-waiting with sched_yield
// between calls, and on a small machine they fought the pool's threads for the cores (a third of
// a LeNet training step went to yielding). Large products are split here into row or column blocks
// of C, one OpenBLAS call per block; inside a parallel chunk (a convolution over samples) a GEMM
// runs serially, as nested parallel_for calls do.
#pragma once

#include <cstdint>

namespace mxcpu {

// Call once, before any kernel runs.
void gemm_init();

// Row-major C = alpha * op(A) op(B) + beta * C, with op(A) m x k and op(B) k x n.
template <typename T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
          int64_t ldb, T beta, T* c, int64_t ldc);

}  // namespace mxcpu
