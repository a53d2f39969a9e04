// Elementwise unary math (relu … erf, log_sigmoid, mish), the comparison / mod / power / max /
// min / logical *_scalar ops and clip on the GPU, as the CPU's unary.cc: backends/common's Unary<F>, Binary<F>
// (b = the scalar, static_cast<C>(double) once per call) and Clip, computed in Elem<S>::C for
// every dispatch_numeric dtype. Same-shape map kernels with 16-byte vectors (elementwise.cuh).
// Activation is nn.cu's.
#include <cstdint>
#include <string>

#include "elementwise.cuh"

namespace mxcuda {
namespace {

struct UnState;
using UnRun = int (*)(const UnState&, const DLTensor&, DLTensor&, cudaStream_t);
struct UnState {
  UnRun fn;              // the (op, dtype) instance, chosen in create
  double s1 = 0, s2 = 0;  // scalar, or clip's a_min / a_max
  std::string op;
};

template <int F, typename S>
int run_unary(const UnState& st, const DLTensor& in, DLTensor& out, cudaStream_t s) {
  return map1(numel(out), ptr<S>(in), ptr<S>(out), UnaryOp<F, S>{}, s, st.op.c_str());
}

template <int F, typename S>
int run_scalar(const UnState& st, const DLTensor& in, DLTensor& out, cudaStream_t s) {
  return map1(numel(out), ptr<S>(in), ptr<S>(out), ScalarOp<F, S>{scalar_as<S>(st.s1)}, s, st.op.c_str());
}

template <typename S>
int run_clip(const UnState& st, const DLTensor& in, DLTensor& out, cudaStream_t s) {
  return map1(numel(out), ptr<S>(in), ptr<S>(out), ClipOp<S>{scalar_as<S>(st.s1), scalar_as<S>(st.s2)}, s,
              st.op.c_str());
}

enum Kind { kUnaryKind, kScalarKind, kClipKind };

// F: a UnaryFn (kUnaryKind), a BinaryFn (kScalarKind) or unused (kClipKind).
template <int KIND, int F>
int un_create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  UnRun fn = nullptr;
  if (!dispatch_numeric(dtype, [&](auto tag) {
        using S = decltype(tag);
        if constexpr (KIND == kUnaryKind) fn = &run_unary<F, S>;
        else if constexpr (KIND == kScalarKind) fn = &run_scalar<F, S>;
        else fn = &run_clip<S>;
      }))
    return error(MX_ERR_UNSUPPORTED, unsupported(args->op_name, dtype));
  auto* st = new UnState{fn, 0, 0, args->op_name};
  if (KIND == kScalarKind) st->s1 = attr_float(args, "scalar");
  if (KIND == kClipKind) {
    st->s1 = attr_float(args, "a_min");
    st->s2 = attr_float(args, "a_max");
  }
  *out = st;
  return 0;
}

int un_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const UnState*>(state);
  if (st.fn(st, in[0], out[0], cuda_stream(ctx))) return -1;
  return finish(ctx, st.op.c_str());
}

void un_destroy(void* s) { delete static_cast<UnState*>(s); }

#define MX_UNARY(name, F) kernel(name, un_create<kUnaryKind, F>, un_run, un_destroy)
#define MX_SCALAR(name, F) kernel(name, un_create<kScalarKind, F>, un_run, un_destroy)

const mx_kernel kUnaryKernels[] = {
    MX_UNARY("relu", kRelu),
    MX_UNARY("sigmoid", kSigmoid),
    MX_UNARY("tanh", kTanh),
    MX_UNARY("softsign", kSoftsign),
    MX_UNARY("exp", kExp),
    MX_UNARY("log", kLog),
    MX_UNARY("log1p", kLog1p),
    MX_UNARY("expm1", kExpm1),
    MX_UNARY("sqrt", kSqrt),
    MX_UNARY("rsqrt", kRsqrt),
    MX_UNARY("square", kSquare),
    MX_UNARY("abs", kAbs),
    MX_UNARY("sign", kSign),
    MX_UNARY("negative", kNegative),
    MX_UNARY("reciprocal", kReciprocal),
    MX_UNARY("floor", kFloor),
    MX_UNARY("ceil", kCeil),
    MX_UNARY("round", kRound),
    MX_UNARY("sin", kSin),
    MX_UNARY("cos", kCos),
    MX_UNARY("erf", kErf),
    MX_UNARY("log_sigmoid", kLogSigmoid),
    MX_UNARY("mish", kMish),
    MX_SCALAR("_greater_scalar", kGt),
    MX_SCALAR("_greater_equal_scalar", kGe),
    MX_SCALAR("_lesser_scalar", kLt),
    MX_SCALAR("_lesser_equal_scalar", kLe),
    MX_SCALAR("_equal_scalar", kEq),
    MX_SCALAR("_not_equal_scalar", kNe),
    MX_SCALAR("_mod_scalar", kMod),
    MX_SCALAR("_rmod_scalar", kRMod),
    MX_SCALAR("_power_scalar", kPow),
    MX_SCALAR("_rpower_scalar", kRPow),
    MX_SCALAR("_maximum_scalar", kMax),
    MX_SCALAR("_minimum_scalar", kMin),
    MX_SCALAR("_logical_and_scalar", kAnd),
    MX_SCALAR("_logical_or_scalar", kOr),
    MX_SCALAR("_logical_xor_scalar", kXor),
    kernel("clip", un_create<kClipKind, 0>, un_run, un_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kUnaryKernels);

#undef MX_UNARY
#undef MX_SCALAR

}  // namespace
}  // namespace mxcuda
