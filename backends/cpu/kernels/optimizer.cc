// The optimizer family (core/op/defs/optimizer.cc): sgd_update, sgd_mom_update, adam_update,
// rmsprop_update. out = new weight; state inputs (mom, mean, var, n) are updated in place. The
// update rule is backends/common's optimizer_step, instantiated per kind so the switch on the kind
// folds away inside the loop. float16 / bfloat16 weights, gradients and states are stored 16-bit
// and stepped as optimizer_step<float> (Elem load -> float -> store), as the CUDA kernel does.
#include <string>

#include "../cpu_backend.h"

namespace mxcpu {
namespace {

struct State {
  int32_t dtype;
  OptimizerHyper<double> hyper;  // narrowed to the weight's type at run time
};

template <int K>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  auto* st = new State{};
  st->dtype = dt;
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

template <int K, typename S>
void update(const OptimizerHyper<double>& hd, const DLTensor* in, DLTensor& out) {
  using E = Elem<S>;
  using T = typename E::C;  // float for the 16-bit types
  OptimizerHyper<T> h{K,           T(hd.lr),    T(hd.wd),    T(hd.rescale), T(hd.clip),   T(hd.momentum),
                      T(hd.beta1), T(hd.beta2), T(hd.eps),   T(hd.gamma1),  T(hd.clip_weights)};
  const int64_t n = numel(out);
  const S* w = reinterpret_cast<const S*>(data_of(in[0]));
  const S* g = reinterpret_cast<const S*>(data_of(in[1]));
  S* s1 = K == kSgd ? nullptr : reinterpret_cast<S*>(data_of(in[2]));
  S* s2 = K == kAdam ? reinterpret_cast<S*>(data_of(in[3])) : nullptr;
  S* y = reinterpret_cast<S*>(data_of(out));
  for (int64_t i = 0; i < n; ++i) {
    T a = K == kSgd ? T(0) : E::load(s1[i]), b = K == kAdam ? E::load(s2[i]) : T(0);  // T(0): a state it lacks
    const T v = optimizer_step(h, E::load(w[i]), E::load(g[i]), &a, &b);
    if (K != kSgd) s1[i] = E::store(a);
    if (K == kAdam) s2[i] = E::store(b);
    y[i] = E::store(v);  // after every read of element i: out may be the weight or the gradient
  }
}

template <int K>
int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  dispatch_float(st.dtype, [&](auto tag) { update<K, decltype(tag)>(st.hyper, in, out[0]); });
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
