// Elementwise arithmetic: elemwise_{add,sub,mul,div}, *_scalar, _copy. Contiguous loops the
// compiler vectorises; 16-bit floats compute in float32.
#include <string>
#include <type_traits>

#include "../parallel.h"
#include "dispatch.h"

namespace mxcpu {
namespace {

enum Op : int { kAdd, kSub, kMul, kDiv, kRSub, kRDiv };

// Below this many elements a loop runs on the calling worker alone.
constexpr int64_t kParallelMin = int64_t(1) << 16;

// Integer division never traps: x / 0 gives 0 (as numpy does) and MIN / -1 wraps.
template <typename C>
inline C divide(C a, C b) {
  if constexpr (std::is_integral_v<C>) {
    if (b == 0) return 0;
    if (std::is_signed_v<C> && b == C(-1)) return C(0 - static_cast<std::make_unsigned_t<C>>(a));
    return C(a / b);
  } else {
    return a / b;
  }
}

template <int OP, typename C>
inline C apply(C a, C b) {
  if constexpr (OP == kAdd) return C(a + b);
  if constexpr (OP == kSub) return C(a - b);
  if constexpr (OP == kMul) return C(a * b);
  if constexpr (OP == kDiv) return divide(a, b);
  if constexpr (OP == kRSub) return C(b - a);
  if constexpr (OP == kRDiv) return divide(b, a);
}

template <int OP, typename S>
// o may be a or b (in-place): each element is read before it is written.
void binary_loop(const S* a, const S* b, S* o, int64_t n) {
  using E = Elem<S>;
  for (int64_t i = 0; i < n; ++i) o[i] = E::store(apply<OP>(E::load(a[i]), E::load(b[i])));
}

template <int OP, typename S>
void scalar_loop(const S* a, typename Elem<S>::C s, S* o, int64_t n) {
  using E = Elem<S>;
  for (int64_t i = 0; i < n; ++i) o[i] = E::store(apply<OP>(E::load(a[i]), s));
}

struct State {
  int op;
  bool scalar;
  double value;
  int32_t dtype;
};

template <int OP>
int create(const mx_kernel_args* args, void** out, bool scalar) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  bool ok = dispatch_numeric(dtype, [](auto) {});
  if (!ok) return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  *out = new State{OP, scalar, scalar ? attr_float(args, "scalar") : 0.0, dtype};
  return 0;
}

template <int OP>
void run_typed(const State& st, const DLTensor* in, DLTensor* out) {
  const int64_t n = numel(out[0]);
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* a = reinterpret_cast<const S*>(data_of(in[0]));
    S* o = reinterpret_cast<S*>(data_of(out[0]));
    const S* b = st.scalar ? nullptr : reinterpret_cast<const S*>(data_of(in[1]));
    parallel_for(n, kParallelMin, [&](int64_t begin, int64_t end) {
      if (b) binary_loop<OP>(a + begin, b + begin, o + begin, end - begin);
      else scalar_loop<OP>(a + begin, static_cast<typename Elem<S>::C>(st.value), o + begin, end - begin);
    });
  });
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  switch (st.op) {
    case kAdd: run_typed<kAdd>(st, in, out); break;
    case kSub: run_typed<kSub>(st, in, out); break;
    case kMul: run_typed<kMul>(st, in, out); break;
    case kDiv: run_typed<kDiv>(st, in, out); break;
    case kRSub: run_typed<kRSub>(st, in, out); break;
    case kRDiv: run_typed<kRDiv>(st, in, out); break;
  }
  return 0;
}

void destroy(void* state) { delete static_cast<State*>(state); }

template <int OP, bool SCALAR>
int create_op(const mx_kernel_args* args, void** out) {
  return create<OP>(args, out, SCALAR);
}

int copy_create(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}

int copy_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const int64_t bytes = numel(in[0]) * ((in[0].dtype.bits + 7) / 8);
  if (data_of(in[0]) != data_of(out[0])) std::memcpy(data_of(out[0]), data_of(in[0]), size_t(bytes));
  return 0;
}

void no_destroy(void*) {}

}  // namespace

const mx_kernel kElemwiseKernels[] = {
    {sizeof(mx_kernel), "elemwise_add", create_op<kAdd, false>, run, destroy},
    {sizeof(mx_kernel), "elemwise_sub", create_op<kSub, false>, run, destroy},
    {sizeof(mx_kernel), "elemwise_mul", create_op<kMul, false>, run, destroy},
    {sizeof(mx_kernel), "elemwise_div", create_op<kDiv, false>, run, destroy},
    {sizeof(mx_kernel), "_plus_scalar", create_op<kAdd, true>, run, destroy},
    {sizeof(mx_kernel), "_minus_scalar", create_op<kSub, true>, run, destroy},
    {sizeof(mx_kernel), "_rminus_scalar", create_op<kRSub, true>, run, destroy},
    {sizeof(mx_kernel), "_mul_scalar", create_op<kMul, true>, run, destroy},
    {sizeof(mx_kernel), "_div_scalar", create_op<kDiv, true>, run, destroy},
    {sizeof(mx_kernel), "_rdiv_scalar", create_op<kRDiv, true>, run, destroy},
    {sizeof(mx_kernel), "_copy", copy_create, copy_run, no_destroy},
    {sizeof(mx_kernel), "Reshape", copy_create, copy_run, no_destroy},  // same bytes, new shape
    {sizeof(mx_kernel), "Flatten", copy_create, copy_run, no_destroy},
    {sizeof(mx_kernel), "expand_dims", copy_create, copy_run, no_destroy},
    {sizeof(mx_kernel), "squeeze", copy_create, copy_run, no_destroy},
    {sizeof(mx_kernel), "BlockGrad", copy_create, copy_run, no_destroy},
    {0, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace mxcpu
