// gather_nd, scatter_nd and _backward_gather_nd on the GPU (backends/cpu/kernels/gather.cc).
// indices (M, Y...) pick a block of the trailing axes Z... of the indexed array for each of the
// n = prod(Y) positions; one thread per element of the (n, block) side computes its position's
// offset (negative indices count from the end) and moves one raw element (gather, scatter) or
// adds it (the gradient, scatter_add.cuh).
//
// Out-of-range indices: the CPU reports an error before writing anything; a kernel cannot, so here
// a position with an out-of-range index reads zeros (gather_nd) or writes nothing (scatter_nd,
// _backward_gather_nd). The core cannot check indices either (their values live on the device).
#include <cstdint>
#include <string>

#include "launch.cuh"
#include "scatter_add.cuh"

namespace mxcuda {
namespace {

enum Kind { kGather, kScatter, kGatherBackward };

template <typename F>
void by_width(int64_t eb, F&& f) {
  switch (eb) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    default: f(uint64_t{}); break;
  }
}

__device__ inline int64_t x86_to_int64(double v) {  // int64_t(v) as on the CPU backend (x86-64)
  return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? int64_t(v) : INT64_MIN;
}

// Element i of the (n, block) side -> its flat offset in the indexed array, or -1 when an index
// of its position is out of range.
struct NdMap {
  const void* idx;
  int32_t idx_dt;
  int m;
  int64_t n, block;
  int64_t dims[kMaxDims];  // the indexed array's first m dims
  __device__ int64_t operator()(int64_t i) const {
    const int64_t j = i / block;
    int64_t off = 0;
    for (int a = 0; a < m; ++a) {
      const int64_t dim = dims[a];
      int64_t v = x86_to_int64(load_index(idx, idx_dt, a * n + j));
      if (v < 0) v += dim;
      if (v < 0 || v >= dim) return -1;
      off = off * dim + v;
    }
    return off * block + i % block;
  }
};

struct State {
  int32_t idx_dt;
  uint64_t scratch;
};

template <int K>
int create(const mx_kernel_args* args, void** out) {
  const int32_t idt = dtype_flag(args->inputs[1].dtype);
  if (!is_index_dtype(idt))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported index dtype " + dtype_name(idt) + " on cuda");
  const DLTensor& full = K == kGather ? args->inputs[0] : args->outputs[0];
  if (full.ndim > kMaxDims)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": more than " + std::to_string(kMaxDims) + " dims on cuda");
  const int32_t dt = dtype_flag(full.dtype);
  if (K == kGatherBackward && !dispatch_numeric(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) + " on cuda");
  *out = new State{idt, K == kGatherBackward ? scatter_add_scratch(dt, numel(full)) : 0};
  return 0;
}
void destroy(void* s) { delete static_cast<State*>(s); }
uint64_t workspace(void* s) { return static_cast<const State*>(s)->scratch; }

template <typename U, bool SCATTER>
int move_t(const NdMap& m, U* full, U* side, int64_t n, cudaStream_t s, const char* op) {
  return for_each(n, s, op, [=] __device__(int64_t i) {
    const int64_t t = m(i);
    if (SCATTER) {
      if (t >= 0) full[t] = side[i];  // repeated indices: one write wins (as documented)
    } else {
      side[i] = t >= 0 ? full[t] : U(0);
    }
  });
}

template <int K>
int run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  const char* op = K == kGather ? "gather_nd" : K == kScatter ? "scatter_nd" : "_backward_gather_nd";
  const DLTensor& full = K == kGather ? in[0] : out[0];
  const DLTensor& side = K == kGather ? out[0] : in[0];
  const DLTensor& idx = in[1];
  NdMap m{};
  m.idx = data_of(idx);
  m.idx_dt = st.idx_dt;
  m.m = int(idx.shape[0]);
  m.n = m.m > 0 ? numel(idx) / m.m : 0;
  m.block = 1;
  for (int d = 0; d < full.ndim; ++d) {
    if (d < m.m) m.dims[d] = full.shape[d];
    else m.block *= full.shape[d];
  }
  cudaStream_t s = cuda_stream(ctx);
  const int64_t eb = (full.dtype.bits + 7) / 8;
  if (K == kGatherBackward) {
    if (scatter_add(ctx, dtype_flag(full.dtype), data_of(full), numel(full), data_of(side), numel(side), m, op)) return -1;
    return finish(ctx, op);
  }
  if (K == kScatter && numel(full) > 0 &&
      check(cudaMemsetAsync(data_of(full), 0, size_t(numel(full) * eb), s), "cudaMemsetAsync", op))
    return -1;
  int rc = 0;
  by_width(eb, [&](auto u) {
    using U = decltype(u);
    rc = move_t<U, K == kScatter>(m, reinterpret_cast<U*>(data_of(full)), reinterpret_cast<U*>(data_of(side)),
                                  numel(side), s, op);
  });
  return rc ? rc : finish(ctx, op);
}

const mx_kernel kGatherKernels[] = {
    kernel("gather_nd", create<kGather>, run<kGather>, destroy),
    kernel("scatter_nd", create<kScatter>, run<kScatter>, destroy),
    kernel("_backward_gather_nd", create<kGatherBackward>, run<kGatherBackward>, destroy, workspace),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kGatherKernels);

}  // namespace
}  // namespace mxcuda
