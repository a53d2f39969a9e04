// Reductions over any set of axes (sum, mean, prod, max, min, nansum, norm, argmax, argmin) and
// _sum_to_like, mirroring backends/cpu/kernels/reduce.cc: every dtype accumulates in double (as
// the CPU's `acc` vector), is finished (mean: / count, norm: sqrt) in double and rounded once on
// the store, with the same conversion the CPU build performs. The CPU's three paths (A, R, B),
// (R1, K, R2) and the general odometer differ only in the order of the additions; here there is
// one plan for all: size-1 dims are dropped, neighbouring dims of the same kind (kept / reduced)
// merged, and each output walks its reduced elements through strides. Three launches of that
// walk: a thread per output (kept innermost dim: coalesced over outputs; or few elements per
// output), a warp or a 256-thread block per output (reduced innermost dim: coalesced over the
// reduced elements) with a fixed shuffle tree. A few long outputs (a full reduction) are split
// over several blocks each, whose partials (in the workspace) one thread per output merges in
// order; so results never depend on timing.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "launch.cuh"

namespace mxcuda {
namespace {

enum Kind : int { kSum, kMean, kProd, kMax, kMin, kNansum, kNorm1, kNorm2, kArgmax, kArgmin, kSumToLike };
enum Launch : int { kPerThread, kPerWarp, kPerBlock };

// The input seen from one output: kept blocks give the output's base offset (row-major over
// the kept blocks = the compact output's order), reduced blocks the walk. Offsets in elements.
struct Walk {
  int nk = 0, nr = 0;
  int64_t ksize[kMaxDims], kstride[kMaxDims];
  int64_t rsize[kMaxDims], rstride[kMaxDims];
  int64_t out_n = 1;   // outputs
  int64_t count = 1;   // reduced elements per output (CPU st.count)
  int64_t rinner = 1, rinner_stride = 0;  // the innermost reduced block (1, 0 when none)
  int64_t nq = 1;      // count / rinner: runs of the innermost block per output
};

struct State {
  int kind;
  int32_t dtype;
  int launch;
  int64_t parts = 1;  // kPerBlock: blocks per output (> 1: partials in the workspace, merged in order)
  Walk w;
};

constexpr uint64_t kPartialBytes = 16;  // sizeof the largest accumulator (ArgAcc)

int create_kind(const mx_kernel_args* args, void** out, int kind) {
  const DLTensor& x = args->inputs[0];
  const int32_t dtype = dtype_flag(x.dtype);
  if (!dispatch_numeric(dtype, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED,
                 std::string(args->op_name) + ": unsupported dtype " + dtype_name(dtype) + " on cuda");
  if (x.ndim > kMaxDims)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": more than 32 dims on cuda");
  bool mask[kMaxDims] = {false};
  if (kind == kSumToLike) {  // as the CPU: leading dims, and dims where like has 1 and x not
    const DLTensor& like = args->inputs[1];
    for (int d = 0; d < x.ndim; ++d) {
      const int k = d - (x.ndim - like.ndim);
      mask[d] = k < 0 || (like.shape[k] == 1 && x.shape[d] != 1);
    }
  } else {
    const char* axis_attr = attr(args, "axis");
    const bool none = std::strcmp(axis_attr, "None") == 0 || *axis_attr == '\0';
    for (int d = 0; d < x.ndim; ++d) mask[d] = none;
    for (int64_t a : attr_ints(axis_attr)) mask[a < 0 ? a + x.ndim : a] = true;
    if (!none && std::strcmp(attr(args, "exclude"), "True") == 0)
      for (int d = 0; d < x.ndim; ++d) mask[d] = !mask[d];
    if (kind == kNorm2 && std::strcmp(attr(args, "ord"), "1") == 0) kind = kNorm1;
  }
  auto* st = new State{};
  st->kind = kind;
  st->dtype = dtype;
  Walk& w = st->w;
  // Blocks, outermost first; size-1 dims are skipped (they move no offset), so the compact
  // stride of a dim is the size times stride of the next kept one and neighbours merge.
  int64_t stride[kMaxDims];
  int64_t s = 1;
  for (int d = x.ndim - 1; d >= 0; --d) stride[d] = s, s *= x.shape[d];
  int last = -1;  // 0 kept, 1 reduced: the kind of the block being grown
  for (int d = 0; d < x.ndim; ++d) {
    if (x.shape[d] == 1) continue;
    const int r = mask[d] ? 1 : 0;
    int& n = r ? w.nr : w.nk;
    int64_t* size = r ? w.rsize : w.ksize;
    int64_t* str = r ? w.rstride : w.kstride;
    if (r == last) {
      size[n - 1] *= x.shape[d];
      str[n - 1] = stride[d];
    } else {
      size[n] = x.shape[d];
      str[n] = stride[d];
      ++n;
    }
    last = r;
    (r ? w.count : w.out_n) *= x.shape[d];
  }
  if (w.nr > 0) {
    w.rinner = w.rsize[w.nr - 1];
    w.rinner_stride = w.rstride[w.nr - 1];
    w.nq = w.rinner == 0 ? 0 : w.count / w.rinner;
  }
  const bool inner_kept = w.nk > 0 && w.kstride[w.nk - 1] == 1;
  if ((inner_kept && w.out_n >= 512) || w.count <= 16) st->launch = kPerThread;
  else if (w.count <= 1024) st->launch = kPerWarp;
  else st->launch = kPerBlock;
  // Few long outputs: split each over several blocks, so a full reduction is not one SM's work.
  if (st->launch == kPerBlock && w.out_n > 0 && w.out_n < 512) {
    const int64_t by_len = w.count / 16384, by_grid = 512 / w.out_n;
    st->parts = by_len < by_grid ? by_len : by_grid;
    if (st->parts < 1) st->parts = 1;
  }
  *out = st;
  return 0;
}

template <int K>
int create(const mx_kernel_args* args, void** out) {
  return create_kind(args, out, K);
}

uint64_t workspace(void* state) {
  const State& st = *static_cast<const State*>(state);
  return st.parts > 1 ? uint64_t(st.w.out_n * st.parts) * kPartialBytes : 0;
}

// ---- per-kind accumulation (the CPU's switch in reduce() and Op<K>)

struct ArgAcc {
  double v;
  int64_t i;  // -1: nothing seen (the CPU's best = -1)
};

template <int K>
struct Op {
  using Acc = double;
  __device__ static double init() {
    if (K == kProd) return 1;
    if (K == kMax) return -INFINITY;
    if (K == kMin) return INFINITY;
    return 0;
  }
  __device__ static double take(double a, double v, int64_t) {
    if (K == kProd) return a * v;
    if (K == kMax) return v > a || isnan(v) ? v : a;  // a NaN sticks: nothing compares above it
    if (K == kMin) return v < a || isnan(v) ? v : a;
    if (K == kNansum) return isnan(v) ? a : a + v;
    if (K == kNorm1) return a + fabs(v);
    if (K == kNorm2) return a + v * v;
    return a + v;  // sum, mean, _sum_to_like
  }
  __device__ static double merge(double a, double b) {
    if (K == kProd) return a * b;
    if (K == kMax || K == kMin) return take(a, b, 0);
    return a + b;
  }
  __device__ static double result(double a, int64_t count) {
    if (K == kMean) return a / double(count);
    if (K == kNorm2) return sqrt(a);
    return a;
  }
};

// argmax / argmin as the CPU's sequential `b < 0 || v > a` (v < a): the first element is always
// taken, then only a strictly better one replaces it. So: a NaN first element wins; any other
// NaN never does; among the rest the best value, ties to the smallest index. That rule is
// order-free, so partial results of a tree merge agree with the sequential one.
template <int K>
struct ArgOp {
  using Acc = ArgAcc;
  __device__ static ArgAcc init() { return {0.0, -1}; }
  __device__ static ArgAcc merge(ArgAcc a, ArgAcc b) {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    if (isnan(a.v)) return a;  // only index 0 is ever kept as NaN
    if (isnan(b.v)) return b;
    if (K == kArgmax ? b.v > a.v : b.v < a.v) return b;
    if (K == kArgmax ? a.v > b.v : a.v < b.v) return a;
    return b.i < a.i ? b : a;
  }
  __device__ static ArgAcc take(ArgAcc a, double v, int64_t j) {
    if (isnan(v) && j != 0) return a;
    return merge(a, ArgAcc{v, j});
  }
  __device__ static double result(ArgAcc a, int64_t) { return double(a.i); }
};

template <int K>
using OpOf = typename std::conditional<K == kArgmax || K == kArgmin, ArgOp<K>, Op<K>>::type;

__device__ inline double shfl_down(double v, int o) { return __shfl_down_sync(0xffffffffu, v, o); }
__device__ inline ArgAcc shfl_down(ArgAcc a, int o) {
  return {__shfl_down_sync(0xffffffffu, a.v, o), (int64_t)__shfl_down_sync(0xffffffffu, (long long)a.i, o)};
}

// Lane 0 gets the merge of the warp's 32 partials (fixed tree).
template <typename O, typename A>
__device__ A warp_merge(A a) {
  for (int o = 16; o > 0; o >>= 1) a = O::merge(a, shfl_down(a, o));
  return a;
}

// The double result stored as the CPU stores it: E::store(static_cast<C>(v)). For the integer
// types that cast is what x86-64 does (cvttsd2si, 32-bit for the 8- and 32-bit types, then the
// low bits): out of range or NaN gives the "integer indefinite" INT_MIN / INT64_MIN.
template <typename S>
__device__ S store_result(double v) {
  if constexpr (std::is_same<S, int64_t>::value) {
    return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? int64_t(v) : INT64_MIN;
  } else if constexpr (std::is_integral<S>::value) {
    const int32_t i = v > -2147483649.0 && v < 2147483648.0 ? int32_t(v) : INT32_MIN;
    return S(i);
  } else {
    return Elem<S>::store(static_cast<typename Elem<S>::C>(v));
  }
}

template <typename S>
__device__ double load(const S* x, int64_t at) {
  return double(Elem<S>::load(x[at]));
}

__device__ inline int64_t kept_offset(const Walk& w, int64_t t) {
  int64_t off = 0;
  for (int d = w.nk - 1; d >= 0; --d) {
    off += (t % w.ksize[d]) * w.kstride[d];
    t /= w.ksize[d];
  }
  return off;
}
// Offset of reduced element j counted over the first nb reduced blocks.
__device__ inline int64_t reduced_offset(const Walk& w, int64_t j, int nb) {
  int64_t off = 0;
  for (int d = nb - 1; d >= 0; --d) {
    off += (j % w.rsize[d]) * w.rstride[d];
    j /= w.rsize[d];
  }
  return off;
}

// One thread per output, walking its reduced elements in order.
template <int K, typename S>
__global__ void reduce_per_thread(const __grid_constant__ Walk w, const S* __restrict__ x, S* __restrict__ y) {
  using O = OpOf<K>;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < w.out_n; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t base = kept_offset(w, t);
    typename O::Acc a = O::init();
    for (int64_t q = 0; q < w.nq; ++q) {
      const int64_t off = base + reduced_offset(w, q, w.nr - 1);
      for (int64_t r = 0; r < w.rinner; ++r) a = O::take(a, load(x, off + r * w.rinner_stride), q * w.rinner + r);
    }
    y[t] = store_result<S>(O::result(a, w.count));
  }
}

// G threads (32: a warp, or kThreads: the block) per unit u = (output t, part), striding the
// part's share of t's reduced elements. With one part the unit's result is stored in y[t];
// otherwise it goes to partial[u] for merge_parts.
template <int K, typename S, int G>
__global__ void reduce_per_group(const __grid_constant__ Walk w, int64_t parts, const S* __restrict__ x,
                                 S* __restrict__ y, typename OpOf<K>::Acc* __restrict__ partial) {
  using O = OpOf<K>;
  using A = typename O::Acc;
  constexpr int kGroups = kThreads / G, kWarps = G / 32;
  __shared__ A part[kThreads / 32];
  const int lane = threadIdx.x % G, group = threadIdx.x / G, warp = lane / 32;
  const int64_t units = w.out_n * parts;
  for (int64_t u = blockIdx.x * int64_t(kGroups) + group; u - group < units; u += int64_t(gridDim.x) * kGroups) {
    // every thread of the block runs the same iterations (u - group is the block's first
    // unit), so the __syncthreads below are reached by all
    A a = O::init();
    if (u < units) {
      const int64_t t = u / parts, p = u % parts;
      const int64_t base = kept_offset(w, t), lo = w.count * p / parts, hi = w.count * (p + 1) / parts;
      for (int64_t j = lo + lane; j < hi; j += G) a = O::take(a, load(x, base + reduced_offset(w, j, w.nr)), j);
    }
    a = warp_merge<O>(a);
    if (kWarps > 1) {
      if (lane % 32 == 0) part[warp] = a;
      __syncthreads();
      if (warp == 0) {
        a = lane < kWarps ? part[lane] : O::init();
        a = warp_merge<O>(a);
      }
      __syncthreads();
    }
    if (lane == 0 && u < units) {
      if (parts == 1) y[u] = store_result<S>(O::result(a, w.count));
      else partial[u] = a;
    }
  }
}

// One thread per output: its parts merged in order (deterministic), then stored.
template <int K, typename S>
__global__ void merge_parts(const __grid_constant__ Walk w, int64_t parts, const typename OpOf<K>::Acc* __restrict__ partial,
                            S* __restrict__ y) {
  using O = OpOf<K>;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < w.out_n; t += int64_t(gridDim.x) * blockDim.x) {
    typename O::Acc a = O::init();
    for (int64_t p = 0; p < parts; ++p) a = O::merge(a, partial[t * parts + p]);
    y[t] = store_result<S>(O::result(a, w.count));
  }
}

template <int K, typename S>
int launch_kind(const State& st, const S* x, S* y, void* temp, cudaStream_t s, const char* op) {
  using A = typename OpOf<K>::Acc;
  const Walk& w = st.w;
  A* partial = static_cast<A*>(temp);
  if (st.launch == kPerThread) {
    reduce_per_thread<K, S><<<blocks_for(w.out_n), kThreads, 0, s>>>(w, x, y);
  } else if (st.launch == kPerWarp) {
    reduce_per_group<K, S, 32><<<blocks_for(w.out_n, kThreads / 32), kThreads, 0, s>>>(w, 1, x, y, partial);
  } else {
    reduce_per_group<K, S, kThreads><<<blocks_for(w.out_n * st.parts, 1), kThreads, 0, s>>>(w, st.parts, x, y, partial);
    if (st.parts > 1) {
      if (launched(op)) return -1;
      merge_parts<K, S><<<blocks_for(w.out_n), kThreads, 0, s>>>(w, st.parts, partial, y);
    }
  }
  return launched(op);
}

template <typename S>
int launch(const State& st, const S* x, S* y, void* t, cudaStream_t s, const char* op) {
  switch (st.kind) {
    case kSum: return launch_kind<kSum>(st, x, y, t, s, op);
    case kMean: return launch_kind<kMean>(st, x, y, t, s, op);
    case kProd: return launch_kind<kProd>(st, x, y, t, s, op);
    case kMax: return launch_kind<kMax>(st, x, y, t, s, op);
    case kMin: return launch_kind<kMin>(st, x, y, t, s, op);
    case kNansum: return launch_kind<kNansum>(st, x, y, t, s, op);
    case kNorm1: return launch_kind<kNorm1>(st, x, y, t, s, op);
    case kNorm2: return launch_kind<kNorm2>(st, x, y, t, s, op);
    case kArgmax: return launch_kind<kArgmax>(st, x, y, t, s, op);
    case kArgmin: return launch_kind<kArgmin>(st, x, y, t, s, op);
    default: return launch_kind<kSum>(st, x, y, t, s, op);  // _sum_to_like sums
  }
}

const char* const kNames[] = {"sum", "mean", "prod", "max", "min", "nansum", "norm", "norm", "argmax", "argmin", "_sum_to_like"};

int run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  const char* op = kNames[st.kind];
  if (st.w.out_n == 0 || numel(out[0]) == 0) return 0;
  if (workspace(state) > 0 && (!ctx->temp_space || ctx->temp_bytes < workspace(state)))
    return error(MX_ERR_INTERNAL, std::string(op) + ": the host passed " + std::to_string(ctx->temp_bytes) +
                                      " bytes of workspace, " + std::to_string(workspace(state)) + " needed on cuda");
  cudaStream_t s = cuda_stream(ctx);
  int rc = 0;
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    rc = launch<S>(st, ptr<const S>(in[0]), ptr<S>(out[0]), ctx->temp_space, s, op);
  });
  return rc ? rc : finish(ctx, op);
}

void destroy(void* s) { delete static_cast<State*>(s); }

const mx_kernel kReduceKernels[] = {
    kernel("sum", create<kSum>, run, destroy, workspace),
    kernel("mean", create<kMean>, run, destroy, workspace),
    kernel("prod", create<kProd>, run, destroy, workspace),
    kernel("max", create<kMax>, run, destroy, workspace),
    kernel("min", create<kMin>, run, destroy, workspace),
    kernel("nansum", create<kNansum>, run, destroy, workspace),
    kernel("norm", create<kNorm2>, run, destroy, workspace),
    kernel("argmax", create<kArgmax>, run, destroy, workspace),
    kernel("argmin", create<kArgmin>, run, destroy, workspace),
    kernel("_sum_to_like", create<kSumToLike>, run, destroy, workspace),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kReduceKernels);

}  // namespace
}  // namespace mxcuda
