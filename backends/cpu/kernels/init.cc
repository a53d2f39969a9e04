// The init family (core/op/defs/init.cc): _zeros, _ones, _full, zeros_like, ones_like: fill the
// output with one value converted to its dtype.
#include <algorithm>
#include <string>

#include "../cpu_backend.h"

namespace mxcpu {
namespace {

struct State {
  double value;
  int32_t dtype;
};

template <int KIND>  // 0 zeros, 1 ones, 2 full
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->outputs[0].dtype);
  if (dtype < 0) return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  const double v = KIND == 0 ? 0.0 : KIND == 1 ? 1.0 : attr_float(args, "value");
  *out = new State{v, dtype};
  return 0;
}

int run(void* state, const mx_kernel_ctx*, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  const int64_t n = numel(out[0]);
  dispatch_all(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    S* o = reinterpret_cast<S*>(data_of(out[0]));
    const S v = Elem<S>::store(static_cast<typename Elem<S>::C>(st.value));
    std::fill(o, o + n, v);
  });
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

const mx_kernel kInitKernels[] = {
    kernel("_zeros", create<0>, run, destroy),
    kernel("_ones", create<1>, run, destroy),
    kernel("_full", create<2>, run, destroy),
    kernel("zeros_like", create<0>, run, destroy),
    kernel("ones_like", create<1>, run, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kInitKernels);

}  // namespace
}  // namespace mxcpu
