// The elemwise family (core/op/defs/elemwise.cc): elemwise_{add,sub,mul,div}, the arithmetic
// *_scalar ops, _copy, BlockGrad, add_n, Cast, _cast_like. The arithmetic is backends/common's
// Binary<F> (a scalar op is the binary op with b = the scalar), inlined into contiguous loops the
// compiler vectorises; 16-bit floats compute in float32.
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../grain.h"
#include "../parallel.h"
#include "layout.h"

namespace mxcpu {
namespace {

template <int F, typename S>
// o may be a or b (in-place): each element is read before it is written.
void binary_loop(const S* a, const S* b, S* o, int64_t n) {
  using E = Elem<S>;
  const Binary<F> f;
  for (int64_t i = 0; i < n; ++i) o[i] = E::store(f(E::load(a[i]), E::load(b[i])));
}

template <int F, typename S>
void scalar_loop(const S* a, typename Elem<S>::C s, S* o, int64_t n) {
  using E = Elem<S>;
  const Binary<F> f;
  for (int64_t i = 0; i < n; ++i) o[i] = E::store(f(E::load(a[i]), s));
}

struct State;
using RunTyped = void (*)(const State&, const DLTensor*, DLTensor*);

struct State {
  RunTyped run;
  bool scalar;
  double value;
  int32_t dtype;
};

template <int F>
void run_typed(const State& st, const DLTensor* in, DLTensor* out) {
  const int64_t n = numel(out[0]);
  dispatch_numeric(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* a = reinterpret_cast<const S*>(data_of(in[0]));
    S* o = reinterpret_cast<S*>(data_of(out[0]));
    const S* b = st.scalar ? nullptr : reinterpret_cast<const S*>(data_of(in[1]));
    parallel_for(n, binary_grain(F), [&](int64_t begin, int64_t end) {
      if (b) binary_loop<F>(a + begin, b + begin, o + begin, end - begin);
      else scalar_loop<F>(a + begin, static_cast<typename Elem<S>::C>(st.value), o + begin, end - begin);
    });
  });
}

template <int F, bool SCALAR>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  bool ok = dispatch_numeric(dtype, [](auto) {});
  if (!ok) return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  *out = new State{run_typed<F>, SCALAR, SCALAR ? attr_float(args, "scalar") : 0.0, dtype};
  return 0;
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  st.run(st, in, out);
  return 0;
}

void destroy(void* state) { delete static_cast<State*>(state); }

// ---------------------------------------------------------------- Cast / _cast_like
int cast_create(const mx_kernel_args* args, void** out) {
  if (dtype_flag(args->inputs[0].dtype) < 0 || dtype_flag(args->outputs[0].dtype) < 0)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  *out = nullptr;
  return 0;
}
int cast_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const int64_t n = numel(out[0]);
  dispatch_all(dtype_flag(in[0].dtype), [&](auto itag) {
    using I = decltype(itag);
    dispatch_all(dtype_flag(out[0].dtype), [&](auto otag) {
      using O = decltype(otag);
      const I* x = reinterpret_cast<const I*>(data_of(in[0]));
      O* y = reinterpret_cast<O*>(data_of(out[0]));
      for (int64_t i = 0; i < n; ++i)
        y[i] = Elem<O>::store(static_cast<typename Elem<O>::C>(double(Elem<I>::load(x[i]))));
    });
  });
  return 0;
}

// ---------------------------------------------------------------- add_n
int add_n_create(const mx_kernel_args* args, void** out) {
  if (!dispatch_numeric(dtype_flag(args->outputs[0].dtype), [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, "add_n: unsupported dtype on cpu");
  *out = nullptr;
  return 0;
}
int add_n_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t) {
  const int64_t n = numel(out[0]);
  dispatch_numeric(dtype_flag(out[0].dtype), [&](auto tag) {
    using S = decltype(tag);
    using E = Elem<S>;
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    std::vector<typename E::C> acc(static_cast<size_t>(n), typename E::C(0));
    for (int32_t k = 0; k < n_in; ++k) {
      const S* x = reinterpret_cast<const S*>(data_of(in[k]));
      for (int64_t i = 0; i < n; ++i) acc[size_t(i)] += E::load(x[i]);
    }
    for (int64_t i = 0; i < n; ++i) y[i] = E::store(acc[size_t(i)]);
  });
  return 0;
}

const mx_kernel kElemwiseKernels[] = {
    kernel("elemwise_add", create<kAdd, false>, run, destroy),
    kernel("elemwise_sub", create<kSub, false>, run, destroy),
    kernel("elemwise_mul", create<kMul, false>, run, destroy),
    kernel("elemwise_div", create<kDiv, false>, run, destroy),
    kernel("_plus_scalar", create<kAdd, true>, run, destroy),
    kernel("_minus_scalar", create<kSub, true>, run, destroy),
    kernel("_rminus_scalar", create<kRSub, true>, run, destroy),
    kernel("_mul_scalar", create<kMul, true>, run, destroy),
    kernel("_div_scalar", create<kDiv, true>, run, destroy),
    kernel("_rdiv_scalar", create<kRDiv, true>, run, destroy),
    kernel("_copy", copy_create, copy_run, no_destroy),
    kernel("BlockGrad", copy_create, copy_run, no_destroy),
    kernel("add_n", add_n_create, add_n_run, no_destroy),
    kernel("Cast", cast_create, cast_run, no_destroy),
    kernel("_cast_like", cast_create, cast_run, no_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kElemwiseKernels);

}  // namespace
}  // namespace mxcpu
