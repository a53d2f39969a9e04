// Optimizer updates on the GPU: sgd_update, sgd_mom_update, adam_update, rmsprop_update
// (backends/cpu/kernels/optimizer.cc). The per-element step is mx_impl::optimizer_step, shared with
// the CPU; hyper-parameters are read from the attrs as the CPU reads them. out = the new weight
// (it may be the weight itself: each thread reads w[i], g[i] before writing out[i]); the state
// inputs (mom; mean, var; n) are updated in place. float32, float64, float16 and bfloat16, as the
// schema and the CPU: 16-bit weights, gradients and states are stored 16-bit and stepped as
// optimizer_step<float> (Elem<S> load -> float -> store), the CPU's formula.
#include <cstdint>
#include <string>

#include "launch.cuh"

namespace mxcuda {
namespace {

struct Hyper {
  int kind;
  int32_t dtype;
  double lr, wd, rescale, clip, momentum, beta1, beta2, eps, gamma1, clip_weights;
};

template <int K>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) +
                                         " on cuda (float32, float64, float16, bfloat16)");
  auto* h = new Hyper{};
  h->kind = K;
  h->dtype = dt;
  h->lr = attr_float(args, "lr");
  h->wd = attr_float(args, "wd");
  h->rescale = attr_float(args, "rescale_grad");
  h->clip = attr_float(args, "clip_gradient");
  if (K == kSgdMom) h->momentum = attr_float(args, "momentum");
  if (K == kAdam) {
    h->beta1 = attr_float(args, "beta1");
    h->beta2 = attr_float(args, "beta2");
    h->eps = attr_float(args, "epsilon");
  }
  if (K == kRmsprop) {
    h->gamma1 = attr_float(args, "gamma1");
    h->eps = attr_float(args, "epsilon");
    h->clip_weights = attr_float(args, "clip_weights");
  }
  *out = h;
  return 0;
}

template <typename S>  // storage type; T computes (float for 16-bit)
int update(const Hyper& h, const DLTensor* in, DLTensor& out, cudaStream_t s, const char* op) {
  using E = Elem<S>;
  using T = typename E::C;
  OptimizerHyper<T> hp{};
  hp.kind = h.kind;
  hp.lr = T(h.lr), hp.wd = T(h.wd), hp.rescale = T(h.rescale), hp.clip = T(h.clip), hp.momentum = T(h.momentum);
  hp.beta1 = T(h.beta1), hp.beta2 = T(h.beta2), hp.eps = T(h.eps), hp.gamma1 = T(h.gamma1);
  hp.clip_weights = T(h.clip_weights);
  const S* w = ptr<S>(in[0]);
  const S* g = ptr<S>(in[1]);
  S* s1 = h.kind == kSgd ? nullptr : ptr<S>(in[2]);
  S* s2 = h.kind == kAdam ? ptr<S>(in[3]) : nullptr;
  S* y = ptr<S>(out);
  return for_each(numel(out), s, op, [=] __device__(int64_t i) {
    T a = s1 ? E::load(s1[i]) : T(0), b = s2 ? E::load(s2[i]) : T(0);
    const T v = optimizer_step(hp, E::load(w[i]), E::load(g[i]), &a, &b);
    if (s1) s1[i] = E::store(a);
    if (s2) s2[i] = E::store(b);
    y[i] = E::store(v);
  });
}

template <int K>
int run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Hyper& h = *static_cast<const Hyper*>(state);
  const char* op = K == kSgd ? "sgd_update" : K == kSgdMom ? "sgd_mom_update" : K == kAdam ? "adam_update" : "rmsprop_update";
  cudaStream_t s = cuda_stream(ctx);
  int rc = 0;
  dispatch_float(h.dtype, [&](auto tag) { rc = update<decltype(tag)>(h, in, out[0], s, op); });
  return rc ? rc : finish(ctx, op);
}

void destroy(void* s) { delete static_cast<Hyper*>(s); }

const mx_kernel kOptimizerKernels[] = {
    kernel("sgd_update", create<kSgd>, run<kSgd>, destroy),
    kernel("sgd_mom_update", create<kSgdMom>, run<kSgdMom>, destroy),
    kernel("adam_update", create<kAdam>, run<kAdam>, destroy),
    kernel("rmsprop_update", create<kRmsprop>, run<kRmsprop>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kOptimizerKernels);

}  // namespace
}  // namespace mxcuda
