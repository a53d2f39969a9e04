// _backward_Activation (core/op/defs/activation.cc): og * f'(x, y) in one pass over the three
// inputs, the gradient of Activation and of the relu / sigmoid / tanh / softsign / log_sigmoid
// ops. The per-element formula is backends/common's ActGrad<F>, shared with the CUDA kernel; the
// loop over it is branch-free for relu, sigmoid, tanh and softsign, so GCC vectorises it.
#include <string>

#include "../../common/activation_grad.h"
#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

constexpr int64_t kGrain = int64_t(1) << 15;  // elements worth a parallel chunk (as unary.cc)

// out may be og (in-place): each element is read before it is written.
template <int F, typename S>
void act_grad_loop(const S* og, const S* x, const S* y, S* out, int64_t n) {
  using E = Elem<S>;
  const ActGrad<F> f;
  for (int64_t i = 0; i < n; ++i) out[i] = E::store(f(E::load(og[i]), E::load(x[i]), E::load(y[i])));
}

using Run = void (*)(const DLTensor* in, DLTensor& out);

template <int F, typename S>
void run_typed(const DLTensor* in, DLTensor& out) {
  const S* og = reinterpret_cast<const S*>(data_of(in[0]));
  const S* x = reinterpret_cast<const S*>(data_of(in[1]));
  const S* y = reinterpret_cast<const S*>(data_of(in[2]));
  S* o = reinterpret_cast<S*>(data_of(out));
  parallel_for(numel(out), kGrain, [&](int64_t lo, int64_t hi) {
    act_grad_loop<F, S>(og + lo, x + lo, y + lo, o + lo, hi - lo);
  });
}

// The state is the (act_type, dtype) instance of the loop.
int create(const mx_kernel_args* args, void** out) {
  const std::string op = args->op_name;
  const char* act = attr(args, "act_type");
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  Run fn = nullptr;
  const bool known = dispatch_act(act, [&](auto f) {
    constexpr int F = decltype(f)::value;
    if constexpr (F == kRelu) dispatch_numeric(dtype, [&](auto s) { fn = run_typed<F, decltype(s)>; });
    else dispatch_float(dtype, [&](auto s) { fn = run_typed<F, decltype(s)>; });
  });
  if (!known) return error(MX_ERR_INVALID_ARGUMENT, op + ": unknown act_type '" + act + "'");
  if (!fn) return unsupported(args, dtype);  // the schema allows integers for relu only
  *out = reinterpret_cast<void*>(fn);
  return 0;
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  reinterpret_cast<Run>(state)(in, out[0]);
  return 0;
}

void destroy(void*) {}

const mx_kernel kActivationGradKernels[] = {
    kernel("_backward_Activation", create, run, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kActivationGradKernels);

}  // namespace
}  // namespace mxcpu
