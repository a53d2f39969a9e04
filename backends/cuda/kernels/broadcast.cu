// broadcast_* binary ops, broadcast_like, their same-shape forms (_mod, _power, _maximum …) and
// where on the GPU, as the CPU's broadcast.cc: backends/common's Binary<F> in Elem<S>::C for every
// dispatch_numeric dtype, numpy broadcasting planned once in create as strided.h's make_plan does
// (stride 0 on broadcast dims, dims of size 1 dropped, adjacent dims merged while both inputs stay
// linear across them). A plan that is one contiguous run (same shapes) takes the vectorised map
// kernel of elementwise.cuh; any other maps each output index to input offsets through the plan,
// passed by value. where: condition of any dtype (bool too), x / y moved by element width.
#include <cstdint>
#include <string>

#include "elementwise.cuh"

namespace mxcuda {
namespace {

// Output dims (collapsed) and each input's element stride along them (0: broadcast).
struct BcastPlan {
  int ndim = 0;
  int64_t shape[kMaxDims];
  int64_t sa[kMaxDims], sb[kMaxDims];
};

// Strides for reading `in` broadcast to out's shape (in right-aligned to out).
void broadcast_strides(const DLTensor& in, const DLTensor& out, int64_t* strides) {
  int64_t s = 1;
  for (int d = out.ndim - 1; d >= 0; --d) {
    const int k = d - (out.ndim - in.ndim);
    const int64_t dim = k >= 0 ? in.shape[k] : 1;
    strides[d] = dim == 1 ? 0 : s;
    s *= dim;
  }
}

// strided.h's make_plan (b may be null: read as stride 0). False if out has too many dims.
bool make_plan(const DLTensor* a, const DLTensor* b, const DLTensor& out, BcastPlan& p) {
  if (out.ndim > kMaxDims) return false;
  int64_t sa[kMaxDims], sb[kMaxDims];
  broadcast_strides(*a, out, sa);
  if (b) broadcast_strides(*b, out, sb);
  else for (int d = 0; d < out.ndim; ++d) sb[d] = 0;
  p.ndim = 0;
  for (int d = 0; d < out.ndim; ++d) {
    if (out.shape[d] == 1) continue;  // contributes nothing
    if (p.ndim > 0) {
      const int j = p.ndim - 1;
      if (p.sa[j] == sa[d] * out.shape[d] && p.sb[j] == sb[d] * out.shape[d]) {
        p.shape[j] *= out.shape[d];  // merge into the previous dim
        p.sa[j] = sa[d];
        p.sb[j] = sb[d];
        continue;
      }
    }
    p.shape[p.ndim] = out.shape[d];
    p.sa[p.ndim] = sa[d];
    p.sb[p.ndim] = sb[d];
    ++p.ndim;
  }
  if (p.ndim == 0) {  // a single element
    p.ndim = 1;
    p.shape[0] = 1;
    p.sa[0] = p.sb[0] = 0;
  }
  return true;
}

template <typename S, typename F>
__global__ void bcast_kernel(int64_t n, BcastPlan p, const S* a, const S* b, S* o, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t r = i, oa = 0, ob = 0;
    for (int d = p.ndim - 1; d >= 0; --d) {
      const int64_t q = r / p.shape[d], c = r - q * p.shape[d];
      oa += c * p.sa[d];
      ob += c * p.sb[d];
      r = q;
    }
    o[i] = f(a[oa], b[ob]);
  }
}

struct BcastState;
using BcastRun = int (*)(const BcastState&, const DLTensor*, DLTensor&, cudaStream_t);
struct BcastState {
  BcastRun fn;  // the (op, dtype) instance, chosen in create
  BcastPlan plan;
  bool contiguous;  // one run with both inputs at stride 1: the same-shape map kernel
  std::string op;
};

template <int F, typename S>
int bcast_typed(const BcastState& st, const DLTensor* in, DLTensor& out, cudaStream_t s) {
  const int64_t n = numel(out);
  if (n <= 0) return 0;
  const S* a = ptr<S>(in[0]);
  const S* b = F == kLhs ? a : ptr<S>(in[1]);
  S* o = ptr<S>(out);
  if (st.contiguous) return map2(n, a, b, o, BinaryOp<F, S>{}, s, st.op.c_str());
  bcast_kernel<S, BinaryOp<F, S>><<<blocks_for(n), kThreads, 0, s>>>(n, st.plan, a, b, o, BinaryOp<F, S>{});
  return launched(st.op.c_str());
}

template <int F>
int bcast_create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  BcastRun fn = nullptr;
  if (!dispatch_numeric(dtype, [&](auto tag) { fn = &bcast_typed<F, decltype(tag)>; }))
    return error(MX_ERR_UNSUPPORTED, unsupported(args->op_name, dtype));
  auto* st = new BcastState{fn, {}, false, args->op_name};
  if (!make_plan(&args->inputs[0], F == kLhs ? nullptr : &args->inputs[1], args->outputs[0], st->plan)) {
    delete st;
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": more than 32 dims on cuda");
  }
  st->contiguous = st->plan.ndim == 1 && st->plan.sa[0] == 1 && st->plan.sb[0] == 1;
  *out = st;
  return 0;
}

int bcast_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const BcastState*>(state);
  if (st.fn(st, in, out[0], cuda_stream(ctx))) return -1;
  return finish(ctx, st.op.c_str());
}

void bcast_destroy(void* s) { delete static_cast<BcastState*>(s); }

// ---------------------------------------------------------------- where
// o[i] = load(c[i]) != 0 ? x[i] : y[i] (all one shape, as the schema requires). x / y only move,
// so they dispatch on width; the condition keeps its dtype (-0.0 is false, NaN true).

using WhereRun = int (*)(const DLTensor*, DLTensor&, cudaStream_t);

template <typename CT, typename W>
int where_typed(const DLTensor* in, DLTensor& out, cudaStream_t s) {
  const CT* c = ptr<CT>(in[0]);
  const W* x = ptr<W>(in[1]);
  const W* y = ptr<W>(in[2]);
  W* o = ptr<W>(out);
  return for_each(numel(out), s, "where", [=] __device__(int64_t i) {
    o[i] = Elem<CT>::load(c[i]) != typename Elem<CT>::C(0) ? x[i] : y[i];
  });
}

struct WhereState {
  WhereRun fn;
};

int where_create(const mx_kernel_args* args, void** out) {
  const int32_t cond = dtype_flag(args->inputs[0].dtype), dtype = dtype_flag(args->inputs[1].dtype);
  if (!dispatch_all(dtype, [](auto) {})) return error(MX_ERR_UNSUPPORTED, unsupported("where", dtype));
  WhereRun fn = nullptr;
  dispatch_all(cond, [&](auto ctag) {
    dispatch_width(elem_bytes(args->inputs[1]), [&](auto wtag) { fn = &where_typed<decltype(ctag), decltype(wtag)>; });
  });
  if (!fn) return error(MX_ERR_UNSUPPORTED, unsupported("where", cond));
  *out = new WhereState{fn};
  return 0;
}

int where_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  if (static_cast<const WhereState*>(state)->fn(in, out[0], cuda_stream(ctx))) return -1;
  return finish(ctx, "where");
}

void where_destroy(void* s) { delete static_cast<WhereState*>(s); }

#define MX_BCAST(name, F) kernel(name, bcast_create<F>, bcast_run, bcast_destroy)

const mx_kernel kBroadcastKernels[] = {
    MX_BCAST("broadcast_add", kAdd),
    MX_BCAST("broadcast_sub", kSub),
    MX_BCAST("broadcast_mul", kMul),
    MX_BCAST("broadcast_div", kDiv),
    MX_BCAST("broadcast_mod", kMod),
    MX_BCAST("broadcast_power", kPow),
    MX_BCAST("broadcast_maximum", kMax),
    MX_BCAST("broadcast_minimum", kMin),
    MX_BCAST("broadcast_equal", kEq),
    MX_BCAST("broadcast_not_equal", kNe),
    MX_BCAST("broadcast_greater", kGt),
    MX_BCAST("broadcast_greater_equal", kGe),
    MX_BCAST("broadcast_lesser", kLt),
    MX_BCAST("broadcast_lesser_equal", kLe),
    MX_BCAST("broadcast_logical_and", kAnd),
    MX_BCAST("broadcast_logical_or", kOr),
    MX_BCAST("broadcast_logical_xor", kXor),
    MX_BCAST("broadcast_like", kLhs),
    MX_BCAST("_mod", kMod),
    MX_BCAST("_power", kPow),
    MX_BCAST("_maximum", kMax),
    MX_BCAST("_minimum", kMin),
    MX_BCAST("_equal", kEq),
    MX_BCAST("_not_equal", kNe),
    MX_BCAST("_greater", kGt),
    MX_BCAST("_greater_equal", kGe),
    MX_BCAST("_lesser", kLt),
    MX_BCAST("_lesser_equal", kLe),
    MX_BCAST("_logical_and", kAnd),
    MX_BCAST("_logical_or", kOr),
    MX_BCAST("_logical_xor", kXor),
    kernel("where", where_create, where_run, where_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kBroadcastKernels);

#undef MX_BCAST

}  // namespace
}  // namespace mxcuda
