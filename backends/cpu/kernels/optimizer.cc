// The optimizer family (core/op/defs/optimizer.cc): adam_update, rmsprop_update (first part), and
// issue 16's updates (second part: signsgd, signum, nag_mom, ftml, ftrl, rmspropalex, adagrad,
// lamb phases 1 and 2, mp_nag_mom). The SGD updates (sgd, sgd_mom, mp_sgd, mp_sgd_mom and their
// multi-tensor forms) are multi_update.cc's.
// out = new weight; state inputs (mom, mean, var, n) are updated in place. The
// update rule is backends/common's optimizer_step, instantiated per kind so the switch on the kind
// folds away inside the loop. float16 / bfloat16 weights, gradients and states are stored 16-bit
// and stepped as optimizer_step<float> (Elem load -> float -> store), as the CUDA kernel does.
#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "../cpu_backend.h"
#include "../parallel.h"

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
  S* s1 = reinterpret_cast<S*>(data_of(in[2]));  // Adam's mean, RMSProp's n
  S* s2 = K == kAdam ? reinterpret_cast<S*>(data_of(in[3])) : nullptr;
  S* y = reinterpret_cast<S*>(data_of(out));
  for (int64_t i = 0; i < n; ++i) {
    T a = E::load(s1[i]), b = K == kAdam ? E::load(s2[i]) : T(0);  // T(0): a state it lacks
    const T v = optimizer_step(h, E::load(w[i]), E::load(g[i]), &a, &b);
    s1[i] = E::store(a);
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

// ---------------------------------------------------------------- issue 16's updates
// One per-element step per op, written as MXNet's kernels state them. A step gets the weight w
// (weight32 for the multi-precision forms), the gradient g and its states st[] (read, updated in
// place) and returns the output element. Params are all read by name (a param the op lacks reads 0).

struct Params {
  double lr, wd, rescale, clip, momentum, wd_lh, beta1, beta2, eps, lamda1, beta, gamma1, gamma2, clip_weights;
  double beta1_t, beta2_t;  // beta^t (ftml, lamb)
  double lower_bound, upper_bound;  // lamb phase 2
  int64_t t;
  bool bias_correction;
};

template <typename T>
T clipped(const Params& p, T g) {
  return p.clip >= 0 ? clamp_abs(g, T(p.clip)) : g;
}
template <typename T>
T sign_of(T v) {
  return T((v > T(0)) - (v < T(0)));
}

enum Update : int { kSignSgd, kSignum, kNagMom, kFtml, kFtrl, kRmspropAlex, kAdagrad, kLambPhase1, kMpNagMom };

template <int U, typename T>
T step(const Params& p, T w, T g, T* st) {
  const T lr = T(p.lr), wd = T(p.wd), mom = T(p.momentum);
  switch (U) {
    case kSignSgd: return (T(1) - lr * wd) * w - lr * sign_of(g);  // clip and rescale leave the sign
    case kSignum:
      st[0] = mom * st[0] - (T(1) - mom) * wd * w - (T(1) - mom) * clipped(p, T(p.rescale) * g);
      return (T(1) - lr * T(p.wd_lh)) * w + lr * sign_of(st[0]);
    case kNagMom:
    case kMpNagMom: {
      const T gr = clipped(p, T(p.rescale) * g) + wd * w;
      st[0] = mom * st[0] - lr * gr;
      return w + mom * st[0] - lr * gr;
    }
    case kFtml: {  // st: d, v, z
      const T gr = clipped(p, T(p.rescale) * g + wd * w);
      st[1] = T(p.beta2) * st[1] + (T(1) - T(p.beta2)) * gr * gr;
      const T d_t = (T(1) - T(p.beta1_t)) / lr * (std::sqrt(st[1] / (T(1) - T(p.beta2_t))) + T(p.eps));
      st[2] = T(p.beta1) * st[2] + (T(1) - T(p.beta1)) * gr - (d_t - T(p.beta1) * st[0]) * w;
      st[0] = d_t;
      return -st[2] / d_t;
    }
    case kFtrl: {  // st: z, n
      const T gr = clipped(p, T(p.rescale) * g);
      st[0] += gr - (std::sqrt(st[1] + gr * gr) - std::sqrt(st[1])) * w / lr;
      st[1] += gr * gr;
      const T l1 = T(p.lamda1);
      return std::fabs(st[0]) > l1 ? (sign_of(st[0]) * l1 - st[0]) / ((T(p.beta) + std::sqrt(st[1])) / lr + wd) : T(0);
    }
    case kRmspropAlex: {  // st: n, g, delta
      const T gr = clipped(p, T(p.rescale) * g + wd * w);
      const T g1 = T(p.gamma1);
      st[0] = (T(1) - g1) * gr * gr + g1 * st[0];
      st[1] = (T(1) - g1) * gr + g1 * st[1];
      st[2] = T(p.gamma2) * st[2] - lr * gr / std::sqrt(st[0] - st[1] * st[1] + T(p.eps));
      const T v = w + st[2];
      return p.clip_weights >= 0 ? clamp_abs(v, T(p.clip_weights)) : v;
    }
    case kAdagrad: {  // st: history
      const T gr = clipped(p, T(p.rescale) * g);
      st[0] += gr * gr;
      return w - lr * gr / std::sqrt(st[0] + T(p.eps));
    }
    default: {  // kLambPhase1; st: mean, var; returns the step direction
      const T gr = clipped(p, T(p.rescale) * g);
      st[0] = T(p.beta1) * st[0] + (T(1) - T(p.beta1)) * gr;
      st[1] = T(p.beta2) * st[1] + (T(1) - T(p.beta2)) * gr * gr;
      T m = st[0], v = st[1];
      if (p.bias_correction) m /= T(1) - T(p.beta1_t), v /= T(1) - T(p.beta2_t);
      return m / (std::sqrt(v) + T(p.eps)) + wd * w;
    }
  }
}

constexpr int num_states(int u) {
  return u == kSignSgd ? 0 : u == kFtml || u == kRmspropAlex ? 3 : u == kFtrl || u == kLambPhase1 ? 2 : 1;
}
constexpr bool multi_precision(int u) { return u == kMpNagMom; }

struct UpdateState {
  int32_t dtype;
  Params p;
};

template <int U>
int create_update(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  auto* st = new UpdateState{};
  st->dtype = dt;
  Params& p = st->p;
  p.lr = attr_float(args, "lr");
  p.wd = attr_float(args, "wd");
  p.rescale = attr_float(args, "rescale_grad");
  p.clip = attr_float(args, U == kFtml ? "clip_grad" : "clip_gradient");
  p.momentum = attr_float(args, "momentum");
  p.wd_lh = attr_float(args, "wd_lh");
  p.beta1 = attr_float(args, "beta1");
  p.beta2 = attr_float(args, "beta2");
  p.eps = attr_float(args, "epsilon");
  p.lamda1 = attr_float(args, "lamda1");
  p.beta = attr_float(args, "beta");
  p.gamma1 = attr_float(args, "gamma1");
  p.gamma2 = attr_float(args, "gamma2");
  p.clip_weights = attr_float(args, "clip_weights");
  p.t = attr_int(args, "t");
  p.bias_correction = attr_bool(args, "bias_correction");
  p.beta1_t = std::pow(p.beta1, double(p.t));
  p.beta2_t = std::pow(p.beta2, double(p.t));
  *out = st;
  return 0;
}

// Inputs: weight, grad, the states, then (multi-precision) weight32. The states of a
// multi-precision update are float32 like weight32, and its step runs in float32.
template <int U, typename S>
void run_elementwise(const Params& p, const DLTensor* in, DLTensor& out) {
  using E = Elem<S>;
  constexpr bool kMp = multi_precision(U);
  constexpr int kStates = num_states(U);
  using T = std::conditional_t<kMp, float, typename E::C>;
  using Stored = std::conditional_t<kMp, float, S>;  // storage type of the states
  const S* w = reinterpret_cast<const S*>(data_of(in[0]));
  const S* g = reinterpret_cast<const S*>(data_of(in[1]));
  Stored* states[kStates > 0 ? kStates : 1] = {};
  for (int k = 0; k < kStates; ++k) states[k] = reinterpret_cast<Stored*>(data_of(in[2 + k]));
  float* w32 = kMp ? reinterpret_cast<float*>(data_of(in[2 + kStates])) : nullptr;
  S* y = reinterpret_cast<S*>(data_of(out));
  auto load_state = [](Stored v) { if constexpr (kMp) return v; else return T(E::load(v)); };
  parallel_for(numel(out), 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T st[kStates > 0 ? kStates : 1];
      for (int k = 0; k < kStates; ++k) st[k] = load_state(states[k][i]);
      const T wi = kMp ? T(w32[i]) : T(E::load(w[i]));
      const T v = step<U, T>(p, wi, T(E::load(g[i])), st);
      for (int k = 0; k < kStates; ++k) {
        if constexpr (kMp) states[k][i] = st[k];
        else states[k][i] = E::store(st[k]);
      }
      if constexpr (kMp) w32[i] = v;
      y[i] = E::store(typename E::C(v));  // after every read of element i: out may be the weight or grad
    }
  });
}

template <int U>
int run_update(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const UpdateState& st = *static_cast<const UpdateState*>(state);
  dispatch_float(st.dtype, [&](auto tag) { run_elementwise<U, decltype(tag)>(st.p, in, out[0]); });
  return 0;
}

// lamb_update_phase2: weight - lr' * g with lr' = lr * clip(r1) / r2 (lr when either is 0).
template <typename S>
void lamb_phase2(const Params& p, const DLTensor* in, DLTensor& out) {
  using E = Elem<S>;
  using T = typename E::C;
  const S* w = reinterpret_cast<const S*>(data_of(in[0]));
  const S* g = reinterpret_cast<const S*>(data_of(in[1]));
  T r1 = E::load(*reinterpret_cast<const S*>(data_of(in[2]))), r2 = E::load(*reinterpret_cast<const S*>(data_of(in[3])));
  if (p.lower_bound >= 0) r1 = std::max(r1, T(p.lower_bound));
  if (p.upper_bound >= 0) r1 = std::min(r1, T(p.upper_bound));
  const T lr = r1 == T(0) || r2 == T(0) ? T(p.lr) : T(p.lr) * r1 / r2;
  S* y = reinterpret_cast<S*>(data_of(out));
  parallel_for(numel(out), 1 << 15, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = E::store(E::load(w[i]) - lr * E::load(g[i]));
  });
}

int create_lamb_phase2(const mx_kernel_args* args, void** out) {
  const int rc = create_update<kLambPhase1>(args, out);
  if (rc == 0) {
    Params& p = static_cast<UpdateState*>(*out)->p;
    p.lower_bound = attr_float(args, "lower_bound");
    p.upper_bound = attr_float(args, "upper_bound");
  }
  return rc;
}

int run_lamb_phase2(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const UpdateState& st = *static_cast<const UpdateState*>(state);
  dispatch_float(st.dtype, [&](auto tag) { lamb_phase2<decltype(tag)>(st.p, in, out[0]); });
  return 0;
}

void destroy_update(void* s) { delete static_cast<UpdateState*>(s); }

#define MX_UPDATE_KERNEL(name, U) kernel(name, create_update<U>, run_update<U>, destroy_update)

const mx_kernel kOptimizerKernels[] = {
    kernel("adam_update", create<kAdam>, run<kAdam>, destroy),
    kernel("rmsprop_update", create<kRmsprop>, run<kRmsprop>, destroy),
    MX_UPDATE_KERNEL("signsgd_update", kSignSgd),
    MX_UPDATE_KERNEL("signum_update", kSignum),
    MX_UPDATE_KERNEL("nag_mom_update", kNagMom),
    MX_UPDATE_KERNEL("ftml_update", kFtml),
    MX_UPDATE_KERNEL("ftrl_update", kFtrl),
    MX_UPDATE_KERNEL("rmspropalex_update", kRmspropAlex),
    MX_UPDATE_KERNEL("_sparse_adagrad_update", kAdagrad),
    MX_UPDATE_KERNEL("lamb_update_phase1", kLambPhase1),
    kernel("lamb_update_phase2", create_lamb_phase2, run_lamb_phase2, destroy_update),
    MX_UPDATE_KERNEL("mp_nag_mom_update", kMpNagMom),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kOptimizerKernels);

}  // namespace
}  // namespace mxcpu
