// Shape ops on the GPU: Reshape, Flatten, expand_dims, squeeze (the same bytes under a new
// shape: one device copy, none when input and output share memory), transpose, tile and repeat
// (elements moved by width, whatever the dtype). Mirrors the CPU's byte-moving kernels
// (elemwise.cc's views, nn.cc's transpose, indexing.cc's tile / repeat) index for index.
#include <cstdint>
#include <string>
#include <vector>

#include "elementwise.cuh"

namespace mxcuda {
namespace {

// ---------------------------------------------------------------- views

int view_create(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}

template <int K>  // which op, for messages
int view_run(void*, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  static const char* const kNames[] = {"Reshape", "Flatten", "expand_dims", "squeeze"};
  return copy_bytes(in[0], out[0], ctx, kNames[K]);
}

// ---------------------------------------------------------------- transpose
// Output dims with the input's stride along each (the CPU's plan); dims of size 1 dropped and
// output dims merged where the input is linear across them, so a permutation that moves
// nothing becomes one copy.

struct GatherPlan {
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t stride[kMaxDims];
};

template <typename W>
__global__ void gather_kernel(int64_t n, GatherPlan p, const W* x, W* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i, off = 0;
    for (int d = p.ndim - 1; d >= 0; --d) {
      const int64_t q = r / p.shape[d];
      off += (r - q * p.shape[d]) * p.stride[d];
      r = q;
    }
    y[i] = x[off];
  }
}

using TransposeRun = int (*)(const GatherPlan&, const DLTensor&, DLTensor&, cudaStream_t);

template <typename W>
int transpose_typed(const GatherPlan& p, const DLTensor& in, DLTensor& out, cudaStream_t s) {
  const int64_t n = numel(out);
  if (n <= 0) return 0;
  gather_kernel<W><<<blocks_for(n), kThreads, 0, s>>>(n, p, ptr<W>(in), ptr<W>(out));
  return launched("transpose");
}

struct TransposeState {
  TransposeRun fn;
  GatherPlan plan;
  bool identity;  // the plan reads the input in order: a plain copy
};

int transpose_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  if (x.ndim > kMaxDims) return error(MX_ERR_UNSUPPORTED, "transpose: more than 32 dims on cuda");
  int64_t in_stride[kMaxDims];
  int64_t s = 1;
  for (int d = x.ndim - 1; d >= 0; --d) {
    in_stride[d] = s;
    s *= x.shape[d];
  }
  std::vector<int64_t> axes = attr_ints(attr(args, "axes"));
  if (axes.empty())
    for (int d = x.ndim - 1; d >= 0; --d) axes.push_back(d);
  if (int(axes.size()) != x.ndim) return error(MX_ERR_INVALID_ARGUMENT, "transpose: axes do not permute the dims on cuda");
  auto* t = new TransposeState{nullptr, {}, false};
  if (!dispatch_width(elem_bytes(x), [&](auto w) { t->fn = &transpose_typed<decltype(w)>; })) {
    delete t;
    return error(MX_ERR_UNSUPPORTED, unsupported("transpose", dtype_flag(x.dtype)));
  }
  GatherPlan& p = t->plan;
  for (int d = 0; d < x.ndim; ++d) {
    const int64_t len = x.shape[axes[size_t(d)]], stride = in_stride[axes[size_t(d)]];
    if (len == 1) continue;
    if (p.ndim > 0 && p.stride[p.ndim - 1] == stride * len) {  // linear across both: merge
      p.shape[p.ndim - 1] *= len;
      p.stride[p.ndim - 1] = stride;
      continue;
    }
    p.shape[p.ndim] = len;
    p.stride[p.ndim] = stride;
    ++p.ndim;
  }
  if (p.ndim == 0) {  // one element (or a 0-d tensor)
    p.ndim = 1;
    p.shape[0] = 1;
    p.stride[0] = 0;
  }
  t->identity = p.ndim == 1 && (p.stride[0] == 1 || p.shape[0] == 1);
  *out = t;
  return 0;
}

int transpose_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& t = *static_cast<const TransposeState*>(state);
  if (t.identity) return copy_bytes(in[0], out[0], ctx, "transpose");
  if (t.fn(t.plan, in[0], out[0], cuda_stream(ctx))) return -1;
  return finish(ctx, "transpose");
}

void transpose_destroy(void* s) { delete static_cast<TransposeState*>(s); }

// ---------------------------------------------------------------- tile
// out[i...] = in[i % d ...], in's dims right-aligned to out's (missing dims are 1).

struct TileDims {
  int ndim;
  int64_t out[kMaxDims];
  int64_t in[kMaxDims];
};

template <typename W>
__global__ void tile_kernel(int64_t n, TileDims t, const W* x, W* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i, off = 0, stride = 1;
    for (int d = t.ndim - 1; d >= 0; --d) {
      const int64_t q = r / t.out[d];
      off += ((r - q * t.out[d]) % t.in[d]) * stride;
      stride *= t.in[d];
      r = q;
    }
    y[i] = x[off];
  }
}

using TileRun = int (*)(const TileDims&, const DLTensor&, DLTensor&, cudaStream_t);

template <typename W>
int tile_typed(const TileDims& t, const DLTensor& in, DLTensor& out, cudaStream_t s) {
  const int64_t n = numel(out);
  if (n <= 0) return 0;
  tile_kernel<W><<<blocks_for(n), kThreads, 0, s>>>(n, t, ptr<W>(in), ptr<W>(out));
  return launched("tile");
}

struct TileState {
  TileRun fn;
  TileDims dims;
};

int tile_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const DLTensor& y = args->outputs[0];
  if (y.ndim > kMaxDims || x.ndim > y.ndim) return error(MX_ERR_UNSUPPORTED, "tile: more than 32 dims on cuda");
  auto* t = new TileState{nullptr, {}};
  if (!dispatch_width(elem_bytes(x), [&](auto w) { t->fn = &tile_typed<decltype(w)>; })) {
    delete t;
    return error(MX_ERR_UNSUPPORTED, unsupported("tile", dtype_flag(x.dtype)));
  }
  t->dims.ndim = y.ndim;
  for (int d = 0; d < y.ndim; ++d) {
    const int k = d - (y.ndim - x.ndim);
    t->dims.out[d] = y.shape[d];
    t->dims.in[d] = k >= 0 ? x.shape[k] : 1;
  }
  *out = t;
  return 0;
}

int tile_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& t = *static_cast<const TileState*>(state);
  if (t.fn(t.dims, in[0], out[0], cuda_stream(ctx))) return -1;
  return finish(ctx, "tile");
}

void tile_destroy(void* s) { delete static_cast<TileState*>(s); }

// ---------------------------------------------------------------- repeat
// The input as (outer, len, inner) around the axis (axis None: (1, numel, 1)), as the CPU's
// blocks(); output element ((o * len + j) * reps + r) * inner + i is input element
// (o * len + j) * inner + i.

template <typename W>
__global__ void repeat_kernel(int64_t n, int64_t inner, int64_t reps, const W* x, W* y) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
    const int64_t q = k / inner, i = k - q * inner;  // q = (o * len + j) * reps + r
    y[k] = x[(q / reps) * inner + i];
  }
}

using RepeatRun = int (*)(int64_t, int64_t, const DLTensor&, DLTensor&, cudaStream_t);

template <typename W>
int repeat_typed(int64_t inner, int64_t reps, const DLTensor& in, DLTensor& out, cudaStream_t s) {
  const int64_t n = numel(out);
  if (n <= 0) return 0;
  repeat_kernel<W><<<blocks_for(n), kThreads, 0, s>>>(n, inner, reps, ptr<W>(in), ptr<W>(out));
  return launched("repeat");
}

struct RepeatState {
  RepeatRun fn;
  int64_t inner, reps;  // elements after the axis (1 for axis None); copies of each
};

int repeat_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  auto* p = new RepeatState{nullptr, 1, attr_int(args, "repeats")};
  const auto axes = attr_ints(attr(args, "axis"));
  if (!axes.empty()) {
    const int axis = int(axes[0] < 0 ? axes[0] + x.ndim : axes[0]);
    for (int d = axis + 1; d < x.ndim; ++d) p->inner *= x.shape[d];
  }
  if (!dispatch_width(elem_bytes(x), [&](auto w) { p->fn = &repeat_typed<decltype(w)>; })) {
    delete p;
    return error(MX_ERR_UNSUPPORTED, unsupported("repeat", dtype_flag(x.dtype)));
  }
  *out = p;
  return 0;
}

int repeat_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& p = *static_cast<const RepeatState*>(state);
  if (p.reps <= 0) return finish(ctx, "repeat");  // an empty output (the schema asks repeats >= 1)
  if (p.fn(p.inner, p.reps, in[0], out[0], cuda_stream(ctx))) return -1;
  return finish(ctx, "repeat");
}

void repeat_destroy(void* s) { delete static_cast<RepeatState*>(s); }

const mx_kernel kShapeKernels[] = {
    kernel("Reshape", view_create, view_run<0>, no_destroy),
    kernel("Flatten", view_create, view_run<1>, no_destroy),
    kernel("expand_dims", view_create, view_run<2>, no_destroy),
    kernel("squeeze", view_create, view_run<3>, no_destroy),
    kernel("transpose", transpose_create, transpose_run, transpose_destroy),
    kernel("tile", tile_create, tile_run, tile_destroy),
    kernel("repeat", repeat_create, repeat_run, repeat_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kShapeKernels);

}  // namespace
}  // namespace mxcuda
