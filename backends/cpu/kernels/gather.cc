// The gather family (core/op/defs/gather.cc): gather_nd, scatter_nd and _backward_gather_nd.
// indices (M, Y...) pick a block of the trailing axes Z... of the indexed array for each of the
// prod(Y) positions; blocks move as raw bytes (gather, scatter) or accumulate in the compute type
// (the gradient).
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"

namespace mxcpu {
namespace {

enum Kind { kGather, kScatter, kGatherBackward };

int create(const mx_kernel_args* args, void** out) {
  if (!dispatch_numeric(dtype_flag(args->inputs[1].dtype), [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported index dtype on cpu");
  *out = nullptr;
  return 0;
}

// Flat block offsets in `full` of each of the prod(Y) index tuples; false (with the message) if
// one is out of range. Negative indices count from the end.
bool block_offsets(const char* op, const DLTensor& idx, const DLTensor& full, std::vector<int64_t>& offs,
                   int64_t& block) {
  const int64_t m = idx.shape[0], n = numel(idx) / m;
  block = 1;
  for (int d = int(m); d < full.ndim; ++d) block *= full.shape[d];
  offs.assign(size_t(n), 0);
  std::string bad;
  dispatch_numeric(dtype_flag(idx.dtype), [&](auto tag) {
    using I = decltype(tag);
    const I* ip = reinterpret_cast<const I*>(data_of(idx));
    for (int64_t j = 0; j < n && bad.empty(); ++j) {
      int64_t off = 0;
      for (int64_t a = 0; a < m; ++a) {
        const int64_t dim = full.shape[a];
        int64_t v = int64_t(double(Elem<I>::load(ip[a * n + j])));
        if (v < 0) v += dim;
        if (v < 0 || v >= dim) {
          bad = std::string(op) + ": index " + std::to_string(int64_t(double(Elem<I>::load(ip[a * n + j])))) +
                " at indices[" + std::to_string(a) + ", " + std::to_string(j) + "] is out of range for axis " +
                std::to_string(a) + " of length " + std::to_string(dim);
          break;
        }
        off = off * dim + v;
      }
      offs[size_t(j)] = off * block;
    }
  });
  if (!bad.empty()) error(MX_ERR_INVALID_ARGUMENT, bad);
  return bad.empty();
}

template <int K>
int run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const char* op = K == kGather ? "gather_nd" : K == kScatter ? "scatter_nd" : "_backward_gather_nd";
  const DLTensor& full = K == kGather ? in[0] : out[0];
  std::vector<int64_t> offs;
  int64_t block = 0;
  if (!block_offsets(op, in[1], full, offs, block)) return -1;
  const int64_t eb = (full.dtype.bits + 7) / 8;
  if (K == kGather) {
    const char* src = data_of(in[0]);
    char* dst = data_of(out[0]);
    for (size_t j = 0; j < offs.size(); ++j) std::memcpy(dst + int64_t(j) * block * eb, src + offs[j] * eb, size_t(block * eb));
    return 0;
  }
  std::memset(data_of(out[0]), 0, size_t(numel(out[0]) * eb));
  if (K == kScatter) {
    const char* src = data_of(in[0]);
    char* dst = data_of(out[0]);
    for (size_t j = 0; j < offs.size(); ++j) std::memcpy(dst + offs[j] * eb, src + int64_t(j) * block * eb, size_t(block * eb));
    return 0;
  }
  dispatch_numeric(dtype_flag(full.dtype), [&](auto tag) {
    using S = decltype(tag);
    using C = typename Elem<S>::C;
    std::vector<C> acc(static_cast<size_t>(numel(full)), C(0));
    const S* g = reinterpret_cast<const S*>(data_of(in[0]));
    for (size_t j = 0; j < offs.size(); ++j)
      for (int64_t e = 0; e < block; ++e) acc[size_t(offs[j] + e)] += Elem<S>::load(g[int64_t(j) * block + e]);
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    for (size_t t = 0; t < acc.size(); ++t) y[t] = Elem<S>::store(acc[t]);
  });
  return 0;
}

void destroy(void*) {}

const mx_kernel kGatherKernels[] = {
    kernel("gather_nd", create, run<kGather>, destroy),
    kernel("scatter_nd", create, run<kScatter>, destroy),
    kernel("_backward_gather_nd", create, run<kGatherBackward>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kGatherKernels);

}  // namespace
}  // namespace mxcpu
