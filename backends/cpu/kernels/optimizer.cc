// Optimizer updates: out = new weight; state inputs (mom, mean, var, n) are updated in place.
#include <cmath>
#include <cstring>
#include <string>

#include "../cpu_backend.h"

namespace mxcpu {
namespace {

enum Kind { kSgd, kSgdMom, kAdam, kRmsprop };

struct Hyper {
  int kind;
  bool f64;
  double lr, wd, rescale, clip, momentum, beta1, beta2, eps, gamma1, clip_weights;
};

template <int K>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": cpu supports float32/float64");
  auto* h = new Hyper{};
  h->kind = K;
  h->f64 = dt == MX_FLOAT64;
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

template <typename T>
void update(const Hyper& h, const DLTensor* in, DLTensor& out) {
  const int64_t n = numel(out);
  const T* w = reinterpret_cast<const T*>(data_of(in[0]));
  const T* g = reinterpret_cast<const T*>(data_of(in[1]));
  T* s1 = h.kind == kSgd ? nullptr : reinterpret_cast<T*>(data_of(in[2]));
  T* s2 = h.kind == kAdam ? reinterpret_cast<T*>(data_of(in[3])) : nullptr;
  T* y = reinterpret_cast<T*>(data_of(out));
  const T lr = T(h.lr), wd = T(h.wd), rescale = T(h.rescale), clip = T(h.clip);
  for (int64_t i = 0; i < n; ++i) {
    T gr = rescale * g[i];
    if (clip >= T(0)) gr = std::fmax(-clip, std::fmin(clip, gr));
    const T wi = w[i];
    switch (h.kind) {
      case kSgd: y[i] = wi - lr * (gr + wd * wi); break;
      case kSgdMom:
        s1[i] = T(h.momentum) * s1[i] - lr * (gr + wd * wi);
        y[i] = wi + s1[i];
        break;
      case kAdam: {
        gr += wd * wi;
        s1[i] = T(h.beta1) * s1[i] + (T(1) - T(h.beta1)) * gr;
        s2[i] = T(h.beta2) * s2[i] + (T(1) - T(h.beta2)) * gr * gr;
        y[i] = wi - lr * s1[i] / (std::sqrt(s2[i]) + T(h.eps));
        break;
      }
      case kRmsprop: {
        gr += wd * wi;
        s1[i] = (T(1) - T(h.gamma1)) * gr * gr + T(h.gamma1) * s1[i];
        T v = wi - lr * gr / std::sqrt(s1[i] + T(h.eps));
        if (h.clip_weights >= 0) v = std::fmax(T(-h.clip_weights), std::fmin(T(h.clip_weights), v));
        y[i] = v;
        break;
      }
    }
  }
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Hyper& h = *static_cast<const Hyper*>(state);
  if (h.f64) update<double>(h, in, out[0]);
  else update<float>(h, in, out[0]);
  return 0;
}

void destroy(void* s) { delete static_cast<Hyper*>(s); }

}  // namespace

const mx_kernel kOptimizerKernels[] = {
    {sizeof(mx_kernel), "sgd_update", create<kSgd>, run, destroy},
    {sizeof(mx_kernel), "sgd_mom_update", create<kSgdMom>, run, destroy},
    {sizeof(mx_kernel), "adam_update", create<kAdam>, run, destroy},
    {sizeof(mx_kernel), "rmsprop_update", create<kRmsprop>, run, destroy},
    {0, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace mxcpu
