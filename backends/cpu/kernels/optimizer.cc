// The optimizer family (core/op/defs/optimizer.cc): sgd_update, sgd_mom_update, adam_update,
// rmsprop_update. out = new weight; state inputs (mom, mean, var, n) are updated in place. The
// update rule is backends/common's optimizer_step, instantiated per kind so the switch on the kind
// folds away inside the loop.
#include <string>

#include "../cpu_backend.h"

namespace mxcpu {
namespace {

struct State {
  bool f64;
  OptimizerHyper<double> hyper;  // narrowed to the weight's type at run time
};

template <int K>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": cpu supports float32/float64");
  auto* st = new State{};
  st->f64 = dt == MX_FLOAT64;
  OptimizerHyper<double>& h = st->hyper;
  h.kind = K;
  h.lr = attr_float(args, "lr");
  h.wd = attr_float(args, "wd");
  h.rescale = attr_float(args, "rescale_grad");
  h.clip = attr_float(args, "clip_gradient");
  if (K == kSgdMom) h.momentum = attr_float(args, "momentum");
  if (K == kAdam) {
    h.beta1 = attr_float(args, "beta1");
    h.beta2 = attr_float(args, "beta2");
    h.eps = attr_float(args, "epsilon");
  }
  if (K == kRmsprop) {
    h.gamma1 = attr_float(args, "gamma1");
    h.eps = attr_float(args, "epsilon");
    h.clip_weights = attr_float(args, "clip_weights");
  }
  *out = st;
  return 0;
}

template <int K, typename T>
void update(const OptimizerHyper<double>& hd, const DLTensor* in, DLTensor& out) {
  OptimizerHyper<T> h{K,           T(hd.lr),    T(hd.wd),    T(hd.rescale), T(hd.clip),   T(hd.momentum),
                      T(hd.beta1), T(hd.beta2), T(hd.eps),   T(hd.gamma1),  T(hd.clip_weights)};
  const int64_t n = numel(out);
  const T* w = reinterpret_cast<const T*>(data_of(in[0]));
  const T* g = reinterpret_cast<const T*>(data_of(in[1]));
  T* s1 = K == kSgd ? nullptr : reinterpret_cast<T*>(data_of(in[2]));
  T* s2 = K == kAdam ? reinterpret_cast<T*>(data_of(in[3])) : nullptr;
  T* y = reinterpret_cast<T*>(data_of(out));
  T unused = T(0);  // the state an update rule does not have
  for (int64_t i = 0; i < n; ++i)
    y[i] = optimizer_step(h, w[i], g[i], K == kSgd ? &unused : &s1[i], K == kAdam ? &s2[i] : &unused);
}

template <int K>
int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  if (st.f64) update<K, double>(st.hyper, in, out[0]);
  else update<K, float>(st.hyper, in, out[0]);
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

const mx_kernel kOptimizerKernels[] = {
    kernel("sgd_update", create<kSgd>, run<kSgd>, destroy),
    kernel("sgd_mom_update", create<kSgdMom>, run<kSgdMom>, destroy),
    kernel("adam_update", create<kAdam>, run<kAdam>, destroy),
    kernel("rmsprop_update", create<kRmsprop>, run<kRmsprop>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kOptimizerKernels);

}  // namespace
}  // namespace mxcpu
