// Elementwise arithmetic on the GPU: elemwise_{add,sub,mul,div}, the arithmetic *_scalar ops,
// _copy, BlockGrad, add_n and Cast / _cast_like. The CPU's elemwise.cc and (add_n, Cast) its
// indexing family: the same formulas (backends/common functors, compute in Elem<S>::C), the same
// dtypes (dispatch_numeric; Cast every pair of dispatch_all), the same order of additions in
// add_n, and Cast's x86 conversion rules (from_double in elementwise.cuh).
#include <cstdint>
#include <string>

#include "elementwise.cuh"

namespace mxcuda {
namespace {

// ---------------------------------------------------------------- binary and scalar arithmetic

struct EwState;
using EwRun = int (*)(const EwState&, const DLTensor*, DLTensor*, cudaStream_t);
struct EwState {
  EwRun fn;       // the (op, dtype) instance, chosen in create
  double scalar;  // the *_scalar ops' operand
  std::string op;
};

template <int F, typename S>
int run_binary(const EwState& st, const DLTensor* in, DLTensor* out, cudaStream_t s) {
  return map2(numel(out[0]), ptr<S>(in[0]), ptr<S>(in[1]), ptr<S>(out[0]), BinaryOp<F, S>{}, s, st.op.c_str());
}

template <int F, typename S>
int run_scalar(const EwState& st, const DLTensor* in, DLTensor* out, cudaStream_t s) {
  // the CPU converts the scalar once: static_cast<C>(double)
  return map1(numel(out[0]), ptr<S>(in[0]), ptr<S>(out[0]), ScalarOp<F, S>{scalar_as<S>(st.scalar)}, s, st.op.c_str());
}

template <int F, bool SCALAR>
int ew_create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  EwRun fn = nullptr;
  if (!dispatch_numeric(dtype, [&](auto tag) {
        using S = decltype(tag);
        if constexpr (SCALAR) fn = &run_scalar<F, S>;
        else fn = &run_binary<F, S>;
      }))
    return error(MX_ERR_UNSUPPORTED, unsupported(args->op_name, dtype));
  *out = new EwState{fn, SCALAR ? attr_float(args, "scalar") : 0.0, args->op_name};
  return 0;
}

int ew_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const EwState*>(state);
  if (st.fn(st, in, out, cuda_stream(ctx))) return -1;
  return finish(ctx, st.op.c_str());
}

void ew_destroy(void* s) { delete static_cast<EwState*>(s); }

// ---------------------------------------------------------------- _copy, BlockGrad

int copy_create(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}
template <bool BLOCK_GRAD>
int copy_run(void*, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  return copy_bytes(in[0], out[0], ctx, BLOCK_GRAD ? "BlockGrad" : "_copy");
}

// ---------------------------------------------------------------- add_n
// acc = 0, acc += x_0, acc += x_1 … in Elem<S>::C, then stored: the CPU's order, so float sums
// match bit for bit. Input pointers go to the kernel by value, kAddNChunk at a time; with more
// inputs the running sums (in C) wait in the workspace between chunks.

constexpr int kAddNChunk = 64;

template <typename S>
struct AddNPtrs {
  const S* p[kAddNChunk];
};

template <typename S>
__global__ void add_n_kernel(int64_t n, AddNPtrs<S> in, int k, const typename Elem<S>::C* acc_in,
                             typename Elem<S>::C* acc_out, S* o) {
  using E = Elem<S>;
  using C = typename E::C;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    C acc = acc_in ? acc_in[i] : C(0);
    for (int j = 0; j < k; ++j) acc += E::load(in.p[j][i]);
    if (acc_out) acc_out[i] = acc;
    else o[i] = E::store(acc);
  }
}

struct AddNState;
using AddNRun = int (*)(const AddNState&, const mx_kernel_ctx*, const DLTensor*, int32_t, DLTensor*);
struct AddNState {
  AddNRun fn;
  uint64_t workspace;  // running sums when the inputs take more than one chunk
};

template <typename S>
int add_n_typed(const AddNState&, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t n_in, DLTensor* out) {
  using C = typename Elem<S>::C;
  const int64_t n = numel(out[0]);
  if (n <= 0) return 0;
  cudaStream_t s = cuda_stream(ctx);
  C* acc = static_cast<C*>(ctx->temp_space);
  for (int32_t first = 0; first < n_in || first == 0; first += kAddNChunk) {
    const int k = n_in - first < kAddNChunk ? int(n_in - first) : kAddNChunk;
    AddNPtrs<S> ptrs{};
    for (int j = 0; j < k; ++j) ptrs.p[j] = ptr<S>(in[first + j]);
    const bool last = first + k >= n_in;
    add_n_kernel<S><<<blocks_for(n), kThreads, 0, s>>>(n, ptrs, k, first == 0 ? nullptr : acc, last ? nullptr : acc,
                                                      ptr<S>(out[0]));
    if (launched("add_n")) return -1;
    if (last) break;
  }
  return 0;
}

int add_n_create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->outputs[0].dtype);
  auto* st = new AddNState{nullptr, 0};
  if (!dispatch_numeric(dtype, [&](auto tag) {
        using S = decltype(tag);
        st->fn = &add_n_typed<S>;
        if (args->num_inputs > kAddNChunk)
          st->workspace = uint64_t(numel(args->outputs[0])) * sizeof(typename Elem<S>::C);
      })) {
    delete st;
    return error(MX_ERR_UNSUPPORTED, unsupported("add_n", dtype));
  }
  *out = st;
  return 0;
}

int add_n_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const AddNState*>(state);
  if (st.workspace > 0 && (ctx->temp_space == nullptr || ctx->temp_bytes < st.workspace))
    return error(MX_ERR_INTERNAL, "add_n: the host passed less temp space than workspace_bytes on cuda");
  if (st.fn(st, ctx, in, n_in, out)) return -1;
  return finish(ctx, "add_n");
}

uint64_t add_n_workspace(void* state) { return static_cast<const AddNState*>(state)->workspace; }
void add_n_destroy(void* s) { delete static_cast<AddNState*>(s); }

// ---------------------------------------------------------------- Cast, _cast_like
// y = store(static_cast<C_out>(double(load(x)))), every pair of dispatch_all dtypes (the CPU's).

using CastRun = int (*)(const DLTensor&, DLTensor&, cudaStream_t, const char*);

template <typename I, typename O>
int cast_typed(const DLTensor& in, DLTensor& out, cudaStream_t s, const char* op) {
  const I* x = ptr<I>(in);
  O* y = ptr<O>(out);
  return for_each(numel(out), s, op, [=] __device__(int64_t i) {
    y[i] = Elem<O>::store(from_double<typename Elem<O>::C>(to_double(Elem<I>::load(x[i]))));
  });
}

struct CastState {
  CastRun fn;
  const char* op;  // "Cast" or "_cast_like" (static strings)
};

template <bool LIKE>
int cast_create(const mx_kernel_args* args, void** out) {
  const int32_t from = dtype_flag(args->inputs[0].dtype), to = dtype_flag(args->outputs[0].dtype);
  const char* op = LIKE ? "_cast_like" : "Cast";
  CastRun fn = nullptr;
  dispatch_all(from, [&](auto itag) {
    dispatch_all(to, [&](auto otag) { fn = &cast_typed<decltype(itag), decltype(otag)>; });
  });
  if (!fn) return error(MX_ERR_UNSUPPORTED, unsupported(op, dispatch_all(from, [](auto) {}) ? to : from));
  *out = new CastState{fn, op};
  return 0;
}

int cast_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const CastState*>(state);
  if (st.fn(in[0], out[0], cuda_stream(ctx), st.op)) return -1;
  return finish(ctx, st.op);
}

void cast_destroy(void* s) { delete static_cast<CastState*>(s); }

const mx_kernel kElemwiseKernels[] = {
    kernel("elemwise_add", ew_create<kAdd, false>, ew_run, ew_destroy),
    kernel("elemwise_sub", ew_create<kSub, false>, ew_run, ew_destroy),
    kernel("elemwise_mul", ew_create<kMul, false>, ew_run, ew_destroy),
    kernel("elemwise_div", ew_create<kDiv, false>, ew_run, ew_destroy),
    kernel("_plus_scalar", ew_create<kAdd, true>, ew_run, ew_destroy),
    kernel("_minus_scalar", ew_create<kSub, true>, ew_run, ew_destroy),
    kernel("_rminus_scalar", ew_create<kRSub, true>, ew_run, ew_destroy),
    kernel("_mul_scalar", ew_create<kMul, true>, ew_run, ew_destroy),
    kernel("_div_scalar", ew_create<kDiv, true>, ew_run, ew_destroy),
    kernel("_rdiv_scalar", ew_create<kRDiv, true>, ew_run, ew_destroy),
    kernel("_copy", copy_create, copy_run<false>, no_destroy),
    kernel("BlockGrad", copy_create, copy_run<true>, no_destroy),
    kernel("add_n", add_n_create, add_n_run, add_n_destroy, add_n_workspace),
    kernel("Cast", cast_create<false>, cast_run, cast_destroy),
    kernel("_cast_like", cast_create<true>, cast_run, cast_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kElemwiseKernels);

}  // namespace
}  // namespace mxcuda
