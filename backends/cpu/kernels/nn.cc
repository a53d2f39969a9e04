// The nn family (core/op/defs/nn.cc): Activation, LeakyReLU, softmax / log_softmax, SoftmaxOutput
// (and _softmax_output_grad), softmax_cross_entropy, BatchNorm, LayerNorm, Dropout. Activation,
// LeakyReLU and Dropout's keep decisions are backends/common's Unary<F>, Leaky and keep_lane.
// Every op takes float16 / bfloat16 as storage: loads go through Elem<S> to float, then to double
// where the float32 path computes in double (BatchNorm / LayerNorm statistics, the cross-entropy
// sums), and results are stored back through float.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "../../common/random.h"
#include "../cpu_backend.h"
#include "../grain.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

// An element of storage type S as double (through float for the 16-bit types), and back.
// ---------------------------------------------------------------- softmax family

// (outer, n, inner): the normalised axis has n entries at stride inner.
struct AxisPlan {
  int32_t dtype;
  int64_t outer, n, inner;
  double temperature;
  bool log;
  // _softmax_output_grad
  double grad_scale, ignore_label;
  bool use_ignore;
  int normalization;  // 0 null, 1 batch, 2 valid
};

void split_at(const DLTensor& t, int axis, AxisPlan& p) {
  p.outer = p.inner = 1;
  for (int d = 0; d < axis; ++d) p.outer *= t.shape[d];
  p.n = t.ndim ? t.shape[axis] : 1;
  for (int d = axis + 1; d < t.ndim; ++d) p.inner *= t.shape[d];
}

template <bool LOG>
int softmax_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  auto* p = new AxisPlan{};
  p->dtype = dtype_flag(x.dtype);
  if (!dispatch_numeric(p->dtype, [](auto) {})) {
    delete p;
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  }
  int axis = int(std::strtol(attr(args, "axis"), nullptr, 10));
  if (axis < 0) axis += x.ndim;
  split_at(x, axis, *p);
  p->temperature = attr_float(args, "temperature");
  p->log = LOG;
  *out = p;
  return 0;
}

template <typename S>
void softmax_t(const AxisPlan& p, const S* x, S* y) {
  using E = Elem<S>;
  const int64_t min_rows = std::max<int64_t>(1, kGrainCostly / std::max<int64_t>(p.n, 1));  // an exp per element
  parallel_for(p.outer * p.inner, min_rows, [&](int64_t lo, int64_t hi) {
    std::vector<double> row(static_cast<size_t>(p.n));
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t o = r / p.inner, i = r % p.inner;
      const int64_t base = o * p.n * p.inner + i;
      double mx = -INFINITY;
      for (int64_t j = 0; j < p.n; ++j) {
        row[size_t(j)] = double(E::load(x[base + j * p.inner])) / p.temperature;
        mx = std::max(mx, row[size_t(j)]);
      }
      double sum = 0;
      for (int64_t j = 0; j < p.n; ++j) sum += std::exp(row[size_t(j)] - mx);
      const double lse = mx + std::log(sum);
      for (int64_t j = 0; j < p.n; ++j) {
        const double v = p.log ? row[size_t(j)] - lse : std::exp(row[size_t(j)] - lse);
        y[base + j * p.inner] = E::store(static_cast<typename E::C>(v));
      }
    }
  });
}

int softmax_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const AxisPlan& p = *static_cast<const AxisPlan*>(state);
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    softmax_t<S>(p, reinterpret_cast<const S*>(data_of(in[0])), reinterpret_cast<S*>(data_of(out[0])));
  });
  return 0;
}

// SoftmaxOutput forward is a softmax over its class axis.
void softmax_output_axes(const mx_kernel_args* args, AxisPlan& p) {
  const DLTensor& x = args->inputs[0];
  if (std::strcmp(attr(args, "multi_output"), "True") == 0) {
    split_at(x, 1, p);
  } else if (std::strcmp(attr(args, "preserve_shape"), "True") == 0) {
    split_at(x, x.ndim - 1, p);
  } else {
    p.outer = x.ndim ? x.shape[0] : 1;
    p.n = numel(x) / (p.outer ? p.outer : 1);
    p.inner = 1;
  }
}

int softmax_output_create(const mx_kernel_args* args, void** out) {
  void* st = nullptr;
  if (softmax_create<false>(args, &st) != 0) return -1;
  auto* p = static_cast<AxisPlan*>(st);
  softmax_output_axes(args, *p);
  p->temperature = 1;
  *out = p;
  return 0;
}

int softmax_output_grad_create(const mx_kernel_args* args, void** out) {
  int rc = softmax_output_create(args, out);
  if (rc) return rc;
  auto* p = static_cast<AxisPlan*>(*out);
  p->grad_scale = attr_float(args, "grad_scale");
  p->ignore_label = attr_float(args, "ignore_label");
  p->use_ignore = std::strcmp(attr(args, "use_ignore"), "True") == 0;
  const std::string norm = attr(args, "normalization");
  p->normalization = norm == "batch" ? 1 : norm == "valid" ? 2 : 0;
  return 0;
}

template <typename S, typename L>
void softmax_output_grad_t(const AxisPlan& p, const S* y, const L* label, S* g) {
  using E = Elem<S>;
  int64_t valid = 0;
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t i = 0; i < p.inner; ++i) {
      const double lab = double(Elem<L>::load(label[o * p.inner + i]));
      const bool ignored = p.use_ignore && lab == p.ignore_label;
      valid += !ignored;
      const int64_t base = o * p.n * p.inner + i;
      for (int64_t j = 0; j < p.n; ++j) {
        const double v = ignored ? 0.0 : double(E::load(y[base + j * p.inner])) - (int64_t(lab) == j ? 1.0 : 0.0);
        g[base + j * p.inner] = E::store(static_cast<typename E::C>(v));
      }
    }
  double scale = p.grad_scale;
  if (p.normalization == 1) scale /= double(p.outer);
  if (p.normalization == 2) scale /= double(valid > 0 ? valid : 1);
  const int64_t total = p.outer * p.n * p.inner;
  for (int64_t t = 0; t < total; ++t) g[t] = E::store(static_cast<typename E::C>(double(E::load(g[t])) * scale));
}

int softmax_output_grad_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const AxisPlan& p = *static_cast<const AxisPlan*>(state);
  const int32_t lt = dtype_flag(in[1].dtype);
  bool ok = true;
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    ok = dispatch_numeric(lt, [&](auto ltag) {
      using L = decltype(ltag);
      softmax_output_grad_t<S, L>(p, reinterpret_cast<const S*>(data_of(in[0])),
                                  reinterpret_cast<const L*>(data_of(in[1])), reinterpret_cast<S*>(data_of(out[0])));
    });
  });
  return ok ? 0 : error(MX_ERR_UNSUPPORTED, "SoftmaxOutput: unsupported label dtype");
}

void axis_destroy(void* s) { delete static_cast<AxisPlan*>(s); }

// ---------------------------------------------------------------- Activation

// Activation(act_type=...) is backends/common's Unary<F> of that function (as relu, sigmoid … of
// the unary family), one contiguous loop.
struct ActivationPlan;
using ActivationRun = void (*)(const ActivationPlan&, const DLTensor&, DLTensor&);

struct ActivationPlan {
  ActivationRun run;
  int32_t dtype;
};

template <int F>
void activation_t(const ActivationPlan& p, const DLTensor& in, DLTensor& out) {
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    using E = Elem<S>;
    const S* x = reinterpret_cast<const S*>(data_of(in));
    S* y = reinterpret_cast<S*>(data_of(out));
    const Unary<F> f;
    parallel_for(numel(out), unary_grain(F), [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) y[i] = E::store(f(E::load(x[i])));
    });
  });
}

int activation_create(const mx_kernel_args* args, void** out) {
  const std::string t = attr(args, "act_type");
  const ActivationRun run = t == "relu"       ? activation_t<kRelu>
                            : t == "sigmoid"  ? activation_t<kSigmoid>
                            : t == "tanh"     ? activation_t<kTanh>
                            : t == "softrelu" ? activation_t<kSoftrelu>
                            : t == "softsign" ? activation_t<kSoftsign>
                            : t == "log_sigmoid" ? activation_t<kLogSigmoid>
                            : t == "mish"     ? activation_t<kMish>
                                              : nullptr;
  if (!run) return error(MX_ERR_INVALID_ARGUMENT, "Activation: unknown act_type '" + t + "'");
  const int32_t dtype = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dtype, [](auto) {})) return error(MX_ERR_UNSUPPORTED, "Activation: unsupported dtype on cpu");
  *out = new ActivationPlan{run, dtype};
  return 0;
}

int activation_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const ActivationPlan& p = *static_cast<const ActivationPlan*>(state);
  p.run(p, in[0], out[0]);
  return 0;
}

void activation_destroy(void* s) { delete static_cast<ActivationPlan*>(s); }

// ---------------------------------------------------------------- LeakyReLU

struct LeakyPlan {
  int kind;  // LeakyFn
  double slope;
  int32_t dtype;
  int64_t channels, inner;  // prelu: gamma index = (i / inner) % channels
};

int leaky_create(const mx_kernel_args* args, void** out) {
  const std::string t = attr(args, "act_type");
  auto* p = new LeakyPlan{t == "leaky" ? kLeaky : t == "elu" ? kElu : t == "prelu" ? kPrelu : t == "selu" ? kSelu : kGelu,
                          attr_float(args, "slope"), dtype_flag(args->inputs[0].dtype), 1, 1};
  if (!dispatch_numeric(p->dtype, [](auto) {})) {
    delete p;
    return error(MX_ERR_UNSUPPORTED, "LeakyReLU: unsupported dtype on cpu");
  }
  const DLTensor& x = args->inputs[0];
  if (p->kind == kPrelu) {
    p->channels = x.shape[1];
    for (int d = 2; d < x.ndim; ++d) p->inner *= x.shape[d];
  }
  *out = p;
  return 0;
}

int leaky_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const LeakyPlan& p = *static_cast<const LeakyPlan*>(state);
  const int64_t n = numel(out[0]);
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    using E = Elem<S>;
    const S* x = reinterpret_cast<const S*>(data_of(in[0]));
    const S* gamma = p.kind == kPrelu ? reinterpret_cast<const S*>(data_of(in[1])) : nullptr;
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    const Leaky f{p.kind, p.slope};
    for (int64_t i = 0; i < n; ++i) {
      const double g = p.kind == kPrelu ? double(E::load(gamma[(i / p.inner) % p.channels])) : 0.0;
      y[i] = E::store(static_cast<typename E::C>(f(double(E::load(x[i])), g)));
    }
  });
  return 0;
}

void leaky_destroy(void* s) { delete static_cast<LeakyPlan*>(s); }

// ---------------------------------------------------------------- Dropout

struct DropoutPlan {
  double p;
  bool always;
  int32_t dtype;
};

// Calls f(i, j) for every element i of y (row-major) with j the element of mask (y's shape with
// some axes 1) that it broadcasts from.
template <typename F>
void broadcast_mask(const DLTensor& y, const DLTensor& mask, F&& f) {
  const int nd = y.ndim;
  std::vector<int64_t> stride(size_t(nd), 0), idx(size_t(nd), 0);
  int64_t s = 1;
  for (int a = nd - 1; a >= 0; --a) {
    stride[size_t(a)] = mask.shape[a] == 1 ? 0 : s;
    s *= mask.shape[a];
  }
  const int64_t n = numel(y);
  int64_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, j);
    for (int a = nd - 1; a >= 0; --a) {  // next index: carry through the axes, last fastest
      j += stride[size_t(a)];
      if (++idx[size_t(a)] < y.shape[a]) break;
      j -= stride[size_t(a)] * y.shape[a];
      idx[size_t(a)] = 0;
    }
  }
}

int dropout_create(const mx_kernel_args* args, void** out) {
  auto* d = new DropoutPlan{attr_float(args, "p"), std::strcmp(attr(args, "mode"), "always") == 0,
                            dtype_flag(args->inputs[0].dtype)};
  *out = d;
  return 0;
}

int dropout_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const DropoutPlan& d = *static_cast<const DropoutPlan*>(state);
  const bool is_train = ctx->struct_size >= offsetof(mx_kernel_ctx, is_train) + sizeof(int32_t) && ctx->is_train;
  const bool drop = (d.always || is_train) && d.p > 0;
  const int64_t n = numel(out[0]);
  const double keep_scale = d.p < 1 ? 1.0 / (1.0 - d.p) : 0.0;
  dispatch_numeric(d.dtype, [&](auto tag) {
    using S = decltype(tag);
    using E = Elem<S>;
    const S* x = reinterpret_cast<const S*>(data_of(in[0]));
    S* y = reinterpret_cast<S*>(data_of(out[0]));
    S* mask = reinterpret_cast<S*>(data_of(out[1]));
    const int64_t m = numel(out[1]);  // smaller than n with axes: one value per shared slice
    for (int64_t base = 0; base < m; base += 4) {
      mx_philox_u32x4 r{};
      if (drop) r = mx_philox_block(ctx->rng_seed, ctx->rng_offset + uint64_t(base / 4));
      for (int l = 0; l < 4 && base + l < m; ++l) {
        const int64_t i = base + l;
        const double v = !drop ? 1.0 : (keep_lane(r, l, float(d.p)) ? keep_scale : 0.0);
        mask[i] = E::store(static_cast<typename E::C>(v));
        if (m == n) y[i] = E::store(static_cast<typename E::C>(double(E::load(x[i])) * v));
      }
    }
    if (m != n) broadcast_mask(out[0], out[1], [&](int64_t i, int64_t j) {
      y[i] = E::store(static_cast<typename E::C>(double(E::load(x[i])) * double(E::load(mask[j]))));
    });
  });
  return 0;
}

void dropout_destroy(void* s) { delete static_cast<DropoutPlan*>(s); }

// ---------------------------------------------------------------- BatchNorm

struct BnPlan {
  double eps, momentum;
  bool fix_gamma, global_stats;
  int32_t dtype;
  int64_t outer, c, inner;
};

int bn_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string("BatchNorm: unsupported dtype ") + dtype_name(dt) + " on cpu");
  auto* p = new BnPlan{attr_float(args, "eps"), attr_float(args, "momentum"),
                       std::strcmp(attr(args, "fix_gamma"), "True") == 0,
                       std::strcmp(attr(args, "use_global_stats"), "True") == 0, dt, 1, 1, 1};
  int axis = int(std::strtol(attr(args, "axis"), nullptr, 10));
  if (axis < 0) axis += x.ndim;
  for (int d = 0; d < axis; ++d) p->outer *= x.shape[d];
  p->c = x.shape[axis];
  for (int d = axis + 1; d < x.ndim; ++d) p->inner *= x.shape[d];
  *out = p;
  return 0;
}

template <typename T>  // storage type
void bn_t(const BnPlan& p, bool training, const DLTensor* in, DLTensor* out) {
  auto ptr = [](const DLTensor& t) { return reinterpret_cast<T*>(data_of(t)); };
  const T *x = ptr(in[0]), *gamma = ptr(in[1]), *beta = ptr(in[2]);
  T *mm = ptr(in[3]), *mv = ptr(in[4]), *y = ptr(out[0]), *mean = ptr(out[1]), *var = ptr(out[2]);
  const double count = double(p.outer * p.inner);
  // channels are independent (each writes its own statistics)
  parallel_for(p.c, std::max<int64_t>(1, 8192 / std::max<int64_t>(p.outer * p.inner, 1)), [&](int64_t lo, int64_t hi) {
  for (int64_t ch = lo; ch < hi; ++ch) {
    double mu, sigma2;
    if (training) {
      double s = 0, s2 = 0;
      for (int64_t o = 0; o < p.outer; ++o)
        for (int64_t i = 0; i < p.inner; ++i) s += ld(x[(o * p.c + ch) * p.inner + i]);
      mu = s / count;
      for (int64_t o = 0; o < p.outer; ++o)
        for (int64_t i = 0; i < p.inner; ++i) {
          const double dv = ld(x[(o * p.c + ch) * p.inner + i]) - mu;
          s2 += dv * dv;
        }
      sigma2 = s2 / count;
      mm[ch] = st<T>(ld(mm[ch]) * p.momentum + mu * (1 - p.momentum));
      mv[ch] = st<T>(ld(mv[ch]) * p.momentum + sigma2 * (1 - p.momentum));
    } else {
      mu = ld(mm[ch]);
      sigma2 = ld(mv[ch]);
    }
    mean[ch] = st<T>(mu);
    var[ch] = st<T>(sigma2);
    const double scale = (p.fix_gamma ? 1.0 : ld(gamma[ch])) / std::sqrt(sigma2 + p.eps), shift = ld(beta[ch]);
    for (int64_t o = 0; o < p.outer; ++o)
      for (int64_t i = 0; i < p.inner; ++i) {
        const int64_t k = (o * p.c + ch) * p.inner + i;
        y[k] = st<T>((ld(x[k]) - mu) * scale + shift);
      }
  }
  });
}

int bn_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const BnPlan& p = *static_cast<const BnPlan*>(state);
  const bool is_train = ctx->struct_size >= offsetof(mx_kernel_ctx, is_train) + sizeof(int32_t) && ctx->is_train;
  const bool training = is_train && !p.global_stats;
  dispatch_float(p.dtype, [&](auto tag) { bn_t<decltype(tag)>(p, training, in, out); });
  return 0;
}

void bn_destroy(void* s) { delete static_cast<BnPlan*>(s); }

// ---------------------------------------------------------------- LayerNorm, softmax_cross_entropy

struct RowPlan {
  int32_t dtype;
  int64_t outer, d, inner;
  double eps;
};

int ln_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  int axis = int(std::strtol(attr(args, "axis"), nullptr, 10));
  if (axis < 0) axis += x.ndim;
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string("LayerNorm: unsupported dtype ") + dtype_name(dt) + " on cpu");
  auto* p = new RowPlan{dt, 1, x.shape[axis], 1, attr_float(args, "eps")};
  for (int i = 0; i < axis; ++i) p->outer *= x.shape[i];
  for (int i = axis + 1; i < x.ndim; ++i) p->inner *= x.shape[i];
  *out = p;
  return 0;
}

template <typename T>  // storage type
void ln_t(const RowPlan& p, const DLTensor* in, DLTensor* out) {
  auto ptr = [](const DLTensor& t) { return reinterpret_cast<T*>(data_of(t)); };
  const T *x = ptr(in[0]), *g = ptr(in[1]), *b = ptr(in[2]);
  T *y = ptr(out[0]), *mean = ptr(out[1]), *std_out = ptr(out[2]);
  parallel_for(p.outer * p.inner, std::max<int64_t>(1, 8192 / std::max<int64_t>(p.d, 1)), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t o = r / p.inner, i = r % p.inner;
      double s = 0, s2 = 0;
      for (int64_t j = 0; j < p.d; ++j) s += ld(x[(o * p.d + j) * p.inner + i]);
      const double mu = s / double(p.d);
      for (int64_t j = 0; j < p.d; ++j) s2 += std::pow(ld(x[(o * p.d + j) * p.inner + i]) - mu, 2);
      const double sd = std::sqrt(s2 / double(p.d) + p.eps);
      mean[o * p.inner + i] = st<T>(mu);
      std_out[o * p.inner + i] = st<T>(sd);
      for (int64_t j = 0; j < p.d; ++j) {
        const int64_t k = (o * p.d + j) * p.inner + i;
        y[k] = st<T>((ld(x[k]) - mu) / sd * ld(g[j]) + ld(b[j]));
      }
    }
  });
}

int ln_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const RowPlan& p = *static_cast<const RowPlan*>(state);
  dispatch_float(p.dtype, [&](auto tag) { ln_t<decltype(tag)>(p, in, out); });
  return 0;
}

int ce_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_float(dt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string("softmax_cross_entropy: unsupported dtype ") + dtype_name(dt) + " on cpu");
  *out = new RowPlan{dt, x.shape[0], x.shape[1], 1, 0};
  return 0;
}

int ce_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const RowPlan& p = *static_cast<const RowPlan*>(state);
  bool ok = true;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* x = reinterpret_cast<const T*>(data_of(in[0]));
    double total = 0;
    ok = dispatch_numeric(dtype_flag(in[1].dtype), [&](auto ltag) {
      using L = decltype(ltag);
      const L* lab = reinterpret_cast<const L*>(data_of(in[1]));
      for (int64_t r = 0; r < p.outer; ++r) {
        double mx = -INFINITY, s = 0;
        for (int64_t j = 0; j < p.d; ++j) mx = std::max(mx, ld(x[r * p.d + j]));
        for (int64_t j = 0; j < p.d; ++j) s += std::exp(ld(x[r * p.d + j]) - mx);
        int64_t k = int64_t(double(Elem<L>::load(lab[r])));
        k = std::min<int64_t>(std::max<int64_t>(k, 0), p.d - 1);
        total += mx + std::log(s) - ld(x[r * p.d + k]);
      }
    });
    *reinterpret_cast<T*>(data_of(out[0])) = st<T>(total);
  };
  dispatch_float(p.dtype, run);
  return ok ? 0 : error(MX_ERR_UNSUPPORTED, "softmax_cross_entropy: unsupported label dtype");
}

void row_destroy(void* s) { delete static_cast<RowPlan*>(s); }

const mx_kernel kNNKernels[] = {
    kernel("LayerNorm", ln_create, ln_run, row_destroy),
    kernel("softmax_cross_entropy", ce_create, ce_run, row_destroy),
    kernel("BatchNorm", bn_create, bn_run, bn_destroy),
    kernel("Dropout", dropout_create, dropout_run, dropout_destroy),
    kernel("Activation", activation_create, activation_run, activation_destroy),
    kernel("LeakyReLU", leaky_create, leaky_run, leaky_destroy),
    kernel("softmax", softmax_create<false>, softmax_run, axis_destroy),
    kernel("log_softmax", softmax_create<true>, softmax_run, axis_destroy),
    kernel("SoftmaxOutput", softmax_output_create, softmax_run, axis_destroy),
    kernel("_softmax_output_grad", softmax_output_grad_create, softmax_output_grad_run, axis_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kNNKernels);

}  // namespace
}  // namespace mxcpu
