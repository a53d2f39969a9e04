// The loss family (core/op/defs/loss.cc): SoftmaxActivation, the loss layers' forward passes
// (identity: LinearRegressionOutput, MAERegressionOutput, SVMOutput, MakeLoss, make_loss;
// sigmoid: LogisticRegressionOutput) and _backward_SVMOutput. Their other gradients are op graphs
// in the schema.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

// ---------------------------------------------------------------- SoftmaxActivation

// Data as (outer, n, inner): softmax over n at stride inner.
struct SoftmaxPlan {
  int32_t dtype;
  int64_t outer, n, inner;
};

int softmax_activation_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  const int64_t total = numel(x), batch = x.ndim ? x.shape[0] : 1;
  SoftmaxPlan p{dt, batch, batch ? total / batch : 0, 1};
  if (std::strcmp(attr(args, "mode"), "channel") == 0) {
    p.n = x.shape[1];
    p.inner = batch * p.n != 0 ? total / (batch * p.n) : 0;
  }
  *out = new SoftmaxPlan(p);
  return 0;
}

int softmax_activation_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const SoftmaxPlan& p = *static_cast<const SoftmaxPlan*>(state);
  dispatch_float(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = reinterpret_cast<const T*>(data_of(in[0]));
    T* y = reinterpret_cast<T*>(data_of(out[0]));
    parallel_for(p.outer * p.inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(p.n, 1)), [&](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; ++r) {
        const int64_t base = (r / p.inner) * p.n * p.inner + r % p.inner;
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < p.n; ++j) mx = std::max(mx, ld(x[base + j * p.inner]));
        for (int64_t j = 0; j < p.n; ++j) sum += std::exp(ld(x[base + j * p.inner]) - mx);
        for (int64_t j = 0; j < p.n; ++j) y[base + j * p.inner] = st<T>(std::exp(ld(x[base + j * p.inner]) - mx) / sum);
      }
    });
  });
  return 0;
}

void softmax_activation_destroy(void* s) { delete static_cast<SoftmaxPlan*>(s); }

// ---------------------------------------------------------------- loss layers' forward

struct PassPlan {
  int32_t dtype;
  bool sigmoid;
};

int pass_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  *out = new PassPlan{dt, std::strcmp(args->op_name, "LogisticRegressionOutput") == 0};
  return 0;
}

int pass_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const PassPlan& p = *static_cast<const PassPlan*>(state);
  const int64_t n = numel(out[0]);
  if (!p.sigmoid) {
    if (data_of(out[0]) != data_of(in[0])) std::memmove(data_of(out[0]), data_of(in[0]), size_t(n * elem_bytes(out[0])));
    return 0;
  }
  dispatch_float(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* x = reinterpret_cast<const T*>(data_of(in[0]));
    T* y = reinterpret_cast<T*>(data_of(out[0]));
    parallel_for(n, int64_t(1) << 14, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] = st<T>(1 / (1 + std::exp(-ld(x[i]))));
    });
  });
  return 0;
}

void pass_destroy(void* s) { delete static_cast<PassPlan*>(s); }

// ---------------------------------------------------------------- _backward_SVMOutput

// inputs: out (N, K...) flattened to (N, K), label (N,). For the labelled class k of a sample:
// L1: -(margin > out[k]) * c; L2: -2 c (margin - out[k]) where margin > out[k]. For every other
// class j: L1: (margin > -out[j]) * c; L2: 2 c (margin + out[j]) where margin > -out[j]. A label
// outside [0, K) marks no class as labelled.
struct SvmPlan {
  int32_t dtype, label_dtype;
  int64_t n, k;
  double margin, coef;
  bool linear;
};

int svm_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype), lt = dtype_flag(args->inputs[1].dtype);
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  if (!dispatch_numeric(lt, [](auto) {})) return unsupported(args, lt);
  *out = new SvmPlan{dt, lt, x.shape[0], x.shape[0] ? numel(x) / x.shape[0] : 0, attr_float(args, "margin"),
                     attr_float(args, "regularization_coefficient"), attr_bool(args, "use_linear")};
  return 0;
}

int svm_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const SvmPlan& p = *static_cast<const SvmPlan*>(state);
  dispatch_float(p.dtype, [&](auto tag) {
    using T = decltype(tag);
    dispatch_numeric(p.label_dtype, [&](auto ltag) {
      using L = decltype(ltag);
      const T* x = reinterpret_cast<const T*>(data_of(in[0]));
      const L* label = reinterpret_cast<const L*>(data_of(in[1]));
      T* g = reinterpret_cast<T*>(data_of(out[0]));
      for (int64_t s = 0; s < p.n; ++s) {
        const double lab = double(Elem<L>::load(label[s]));
        const int64_t k = lab >= 0 && lab < double(p.k) ? int64_t(lab) : -1;
        for (int64_t j = 0; j < p.k; ++j) {
          const double v = ld(x[s * p.k + j]);
          double d;
          if (j == k) d = p.linear ? -double(p.margin > v) * p.coef : (p.margin > v ? -2 * p.coef * (p.margin - v) : 0.0);
          else d = p.linear ? double(p.margin > -v) * p.coef : (p.margin > -v ? 2 * p.coef * (p.margin + v) : 0.0);
          g[s * p.k + j] = st<T>(d);
        }
      }
    });
  });
  return 0;
}

void svm_destroy(void* s) { delete static_cast<SvmPlan*>(s); }

const mx_kernel kLossKernels[] = {
    kernel("SoftmaxActivation", softmax_activation_create, softmax_activation_run, softmax_activation_destroy),
    kernel("LinearRegressionOutput", pass_create, pass_run, pass_destroy),
    kernel("LogisticRegressionOutput", pass_create, pass_run, pass_destroy),
    kernel("MAERegressionOutput", pass_create, pass_run, pass_destroy),
    kernel("SVMOutput", pass_create, pass_run, pass_destroy),
    kernel("MakeLoss", pass_create, pass_run, pass_destroy),
    kernel("make_loss", pass_create, pass_run, pass_destroy),
    kernel("_backward_SVMOutput", svm_create, svm_run, svm_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kLossKernels);

}  // namespace
}  // namespace mxcpu
