// The math family's elementwise ops on the GPU, as the CPU's kernels/math.cc: backends/common's
// Unary<F> (tan … trunc, logical_not, the isinf / isnan / isfinite tests), Binary<F> (_hypot,
// _backward_gammaln; with b = the scalar: _hypot_scalar, smooth_l1) and HardSigmoid, computed in
// Elem<S>::C for every dispatch_numeric dtype. Same-shape map kernels of elementwise.cuh. softmin,
// nanprod, the finite checks, the AMP casts and the creation ops have no CUDA kernels.
#include <cstdint>
#include <string>

#include "elementwise.cuh"

namespace mxcuda {
namespace {

template <typename S>
struct HardSigmoidOp {
  typename Elem<S>::C alpha, beta;
  __device__ S operator()(S a) const {
    using E = Elem<S>;
    return E::store(HardSigmoid{}(E::load(a), alpha, beta));
  }
};

struct MathState;
using MathRun = int (*)(const MathState&, const DLTensor*, DLTensor&, cudaStream_t);
struct MathState {
  MathRun fn;             // the (op, dtype) instance, chosen in create
  double s1 = 0, s2 = 0;  // scalar, or hard_sigmoid's alpha / beta
  std::string op;
};

template <int F, typename S>
int run_unary(const MathState& st, const DLTensor* in, DLTensor& out, cudaStream_t s) {
  return map1(numel(out), ptr<S>(in[0]), ptr<S>(out), UnaryOp<F, S>{}, s, st.op.c_str());
}

template <int F, typename S>
int run_scalar(const MathState& st, const DLTensor* in, DLTensor& out, cudaStream_t s) {
  return map1(numel(out), ptr<S>(in[0]), ptr<S>(out), ScalarOp<F, S>{scalar_as<S>(st.s1)}, s, st.op.c_str());
}

template <int F, typename S>
int run_binary(const MathState& st, const DLTensor* in, DLTensor& out, cudaStream_t s) {
  return map2(numel(out), ptr<S>(in[0]), ptr<S>(in[1]), ptr<S>(out), BinaryOp<F, S>{}, s, st.op.c_str());
}

template <int, typename S>
int run_hard_sigmoid(const MathState& st, const DLTensor* in, DLTensor& out, cudaStream_t s) {
  return map1(numel(out), ptr<S>(in[0]), ptr<S>(out), HardSigmoidOp<S>{scalar_as<S>(st.s1), scalar_as<S>(st.s2)}, s,
              st.op.c_str());
}

enum Kind { kUnaryKind, kScalarKind, kBinaryKind, kHardSigmoidKind };

// F: a UnaryFn (kUnaryKind), a BinaryFn (kScalarKind, kBinaryKind) or unused.
template <int KIND, int F>
int math_create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  MathRun fn = nullptr;
  if (!dispatch_numeric(dtype, [&](auto tag) {
        using S = decltype(tag);
        if constexpr (KIND == kUnaryKind) fn = &run_unary<F, S>;
        else if constexpr (KIND == kScalarKind) fn = &run_scalar<F, S>;
        else if constexpr (KIND == kBinaryKind) fn = &run_binary<F, S>;
        else fn = &run_hard_sigmoid<F, S>;
      }))
    return error(MX_ERR_UNSUPPORTED, unsupported(args->op_name, dtype));
  auto* st = new MathState{fn, 0, 0, args->op_name};
  if (KIND == kScalarKind) st->s1 = attr_float(args, "scalar");
  if (KIND == kHardSigmoidKind) {
    st->s1 = attr_float(args, "alpha");
    st->s2 = attr_float(args, "beta");
  }
  *out = st;
  return 0;
}

int math_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const MathState*>(state);
  if (st.fn(st, in, out[0], cuda_stream(ctx))) return -1;
  return finish(ctx, st.op.c_str());
}

void math_destroy(void* s) { delete static_cast<MathState*>(s); }

#define MX_UNARY(name, F) kernel(name, math_create<kUnaryKind, F>, math_run, math_destroy)
#define MX_SCALAR(name, F) kernel(name, math_create<kScalarKind, F>, math_run, math_destroy)
#define MX_BINARY(name, F) kernel(name, math_create<kBinaryKind, F>, math_run, math_destroy)

const mx_kernel kMathKernels[] = {
    MX_UNARY("tan", kTan),
    MX_UNARY("arcsin", kArcsin),
    MX_UNARY("arccos", kArccos),
    MX_UNARY("arctan", kArctan),
    MX_UNARY("sinh", kSinh),
    MX_UNARY("cosh", kCosh),
    MX_UNARY("arcsinh", kArcsinh),
    MX_UNARY("arccosh", kArccosh),
    MX_UNARY("arctanh", kArctanh),
    MX_UNARY("log10", kLog10),
    MX_UNARY("log2", kLog2),
    MX_UNARY("cbrt", kCbrt),
    MX_UNARY("rcbrt", kRcbrt),
    MX_UNARY("erfinv", kErfinv),
    MX_UNARY("gamma", kGamma),
    MX_UNARY("gammaln", kGammaln),
    MX_UNARY("degrees", kDegrees),
    MX_UNARY("radians", kRadians),
    MX_UNARY("rint", kRint),
    MX_UNARY("fix", kFix),
    MX_UNARY("trunc", kTrunc),
    MX_UNARY("logical_not", kLogicalNot),
    MX_UNARY("_contrib_isinf", kIsinf),
    MX_UNARY("_contrib_isnan", kIsnan),
    MX_UNARY("_contrib_isfinite", kIsfinite),
    MX_SCALAR("smooth_l1", kSmoothL1),
    MX_SCALAR("_hypot_scalar", kHypot),
    MX_BINARY("_hypot", kHypot),
    MX_BINARY("_backward_gammaln", kGammalnGrad),
    kernel("hard_sigmoid", math_create<kHardSigmoidKind, 0>, math_run, math_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kMathKernels);

#undef MX_UNARY
#undef MX_SCALAR
#undef MX_BINARY

}  // namespace
}  // namespace mxcuda
