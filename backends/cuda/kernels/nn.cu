// The nn family on the GPU: Activation, _backward_Activation, LeakyReLU, softmax / log_softmax,
// SoftmaxOutput and _softmax_output_grad, softmax_cross_entropy, BatchNorm, LayerNorm and Dropout. Each kernel
// mirrors its CPU twin in backends/cpu/kernels/nn.cc formula for formula:
// the same backends/common functors (Unary<F>, Leaky, keep_lane), accumulation in double for every
// dtype, the same dtypes accepted, and the same results for NaN, ignored labels and empty batches.
// Only the order of the additions inside a reduction differs (warp / block reductions; strided
// rows keep the CPU's sequential order). Row reductions live in nn_rows.cuh. No cuDNN: its
// softmax and batch norm accumulate in float and would not give the CPU's numbers. float16 /
// bfloat16 are storage only: elements load through Elem<S> to float, then double (nn::ld), and
// results store back through float (nn::st), exactly as the CPU kernels do.
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "../../common/activation_grad.h"
#include "../../common/random.h"
#include "launch.cuh"
#include "nn_rows.cuh"

namespace mxcuda {
namespace {

using nn::for_rows;
using nn::ld;
using nn::kBlock;
using nn::kSolo;
using nn::kWarp;

// Calls f(std::integral_constant<int, M>) for the row mode M chosen at create time.
template <typename F>
void with_mode(int mode, F f) {
  switch (mode) {
    case kSolo: f(std::integral_constant<int, kSolo>{}); break;
    case kWarp: f(std::integral_constant<int, kWarp>{}); break;
    default: f(std::integral_constant<int, kBlock>{}); break;
  }
}

int unsupported(const mx_kernel_args* args, int32_t dt) {
  return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) + " on cuda");
}

bool is_train(const mx_kernel_ctx* ctx) { return MX_HAS_FIELD(ctx, mx_kernel_ctx, is_train) && ctx->is_train; }

// Scratch this call needs from ctx->temp_space (workspace_bytes promised it).
void* scratch(const mx_kernel_ctx* ctx, uint64_t bytes, const char* op) {
  if (bytes == 0) return nullptr;
  if (ctx->temp_space == nullptr || ctx->temp_bytes < bytes) {
    error(MX_ERR_INTERNAL, std::string(op) + ": cuda needs " + std::to_string(bytes) + " bytes of temp space, got " +
                               std::to_string(ctx->temp_bytes));
    return nullptr;
  }
  return ctx->temp_space;
}

// ---------------------------------------------------------------- Activation

struct ActPlan {
  int fn;  // UnaryFn
  int32_t dtype;
};

int act_create(const mx_kernel_args* args, void** out) {
  const std::string t = attr(args, "act_type");
  const int f = t == "relu" ? kRelu : t == "sigmoid" ? kSigmoid : t == "tanh" ? kTanh : t == "softrelu" ? kSoftrelu
              : t == "softsign" ? kSoftsign : t == "log_sigmoid" ? kLogSigmoid : t == "mish" ? kMish : -1;
  if (f < 0) return error(MX_ERR_INVALID_ARGUMENT, "Activation: unknown act_type '" + t + "'");
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dt, [](auto) {})) return unsupported(args, dt);
  *out = new ActPlan{f, dt};
  return 0;
}

// y may be x (in-place): each element is read before it is written.
template <typename S>
int act_launch(int fn, const S* x, S* y, int64_t n, cudaStream_t s) {
  using E = Elem<S>;
  using C = typename E::C;
  return for_each(n, s, "Activation", [=] __device__(int64_t i) {
    const C v = E::load(x[i]);
    C r;
    switch (fn) {
      case kRelu: r = Unary<kRelu>{}(v); break;
      case kSigmoid: r = Unary<kSigmoid>{}(v); break;
      case kTanh: r = Unary<kTanh>{}(v); break;
      case kSoftrelu: r = Unary<kSoftrelu>{}(v); break;
      case kLogSigmoid: r = Unary<kLogSigmoid>{}(v); break;
      case kMish: r = Unary<kMish>{}(v); break;
      default: r = Unary<kSoftsign>{}(v); break;
    }
    y[i] = E::store(r);
  });
}

int act_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const ActPlan& p = *static_cast<const ActPlan*>(state);
  int rc = 0;
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    rc = act_launch<S>(p.fn, ptr<const S>(in[0]), ptr<S>(out[0]), numel(out[0]), cuda_stream(ctx));
  });
  return rc ? rc : finish(ctx, "Activation");
}

void act_destroy(void* s) { delete static_cast<ActPlan*>(s); }

// _backward_Activation: og * f'(x, y) over backends/common's ActGrad<F>, as the CPU's
// activation_grad.cc (integer dtypes for relu only, as there).
int act_grad_create(const mx_kernel_args* args, void** out) {
  int f = -1;
  const bool known = dispatch_act(attr(args, "act_type"), [&](auto k) { f = decltype(k)::value; });
  if (!known) return error(MX_ERR_INVALID_ARGUMENT, std::string(args->op_name) + ": unknown act_type '" + attr(args, "act_type") + "'");
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (f == kRelu ? !dispatch_numeric(dt, [](auto) {}) : !dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  *out = new ActPlan{f, dt};
  return 0;
}

// o may be og (in-place): each element is read before it is written.
template <typename S>
int act_grad_launch(int fn, const S* og, const S* x, const S* y, S* o, int64_t n, cudaStream_t s) {
  using E = Elem<S>;
  using C = typename E::C;
  return for_each(n, s, "_backward_Activation", [=] __device__(int64_t i) {
    const C g = E::load(og[i]), v = E::load(x[i]), w = E::load(y[i]);
    C r;
    switch (fn) {
      case kRelu: r = ActGrad<kRelu>{}(g, v, w); break;
      case kSigmoid: r = ActGrad<kSigmoid>{}(g, v, w); break;
      case kTanh: r = ActGrad<kTanh>{}(g, v, w); break;
      case kSoftrelu: r = ActGrad<kSoftrelu>{}(g, v, w); break;
      case kLogSigmoid: r = ActGrad<kLogSigmoid>{}(g, v, w); break;
      case kMish: r = ActGrad<kMish>{}(g, v, w); break;
      default: r = ActGrad<kSoftsign>{}(g, v, w); break;
    }
    o[i] = E::store(r);
  });
}

int act_grad_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const ActPlan& p = *static_cast<const ActPlan*>(state);
  int rc = 0;
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    rc = act_grad_launch<S>(p.fn, ptr<const S>(in[0]), ptr<const S>(in[1]), ptr<const S>(in[2]), ptr<S>(out[0]),
                            numel(out[0]), cuda_stream(ctx));
  });
  return rc ? rc : finish(ctx, "_backward_Activation");
}

// ---------------------------------------------------------------- LeakyReLU

struct LeakyPlan {
  Leaky f;
  int32_t dtype;
  int64_t channels, inner;  // prelu: gamma index = (i / inner) % channels
};

int leaky_create(const mx_kernel_args* args, void** out) {
  const std::string t = attr(args, "act_type");
  const int kind = t == "leaky" ? kLeaky : t == "elu" ? kElu : t == "prelu" ? kPrelu : t == "selu" ? kSelu : kGelu;
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_numeric(dt, [](auto) {})) return unsupported(args, dt);
  auto* p = new LeakyPlan{Leaky{kind, attr_float(args, "slope")}, dt, 1, 1};
  if (kind == kPrelu) {
    p->channels = x.shape[1];
    for (int d = 2; d < x.ndim; ++d) p->inner *= x.shape[d];
  }
  *out = p;
  return 0;
}

template <typename S>
int leaky_launch(const LeakyPlan& p, const S* x, const S* gamma, S* y, int64_t n, cudaStream_t s) {
  using E = Elem<S>;
  using C = typename E::C;
  const Leaky f = p.f;
  const int64_t channels = p.channels, inner = p.inner;
  return for_each(n, s, "LeakyReLU", [=] __device__(int64_t i) {
    const double g = gamma ? double(E::load(gamma[(i / inner) % channels])) : 0.0;
    y[i] = E::store(static_cast<C>(f(double(E::load(x[i])), g)));
  });
}

int leaky_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const LeakyPlan& p = *static_cast<const LeakyPlan*>(state);
  int rc = 0;
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    const S* gamma = p.f.kind == kPrelu ? ptr<const S>(in[1]) : nullptr;
    rc = leaky_launch<S>(p, ptr<const S>(in[0]), gamma, ptr<S>(out[0]), numel(out[0]), cuda_stream(ctx));
  });
  return rc ? rc : finish(ctx, "LeakyReLU");
}

void leaky_destroy(void* s) { delete static_cast<LeakyPlan*>(s); }

// ---------------------------------------------------------------- softmax family

// (outer, n, inner): the normalised axis has n entries at stride inner.
struct AxisPlan {
  int32_t dtype;
  int64_t outer, n, inner;
  double temperature;
  bool log;
  const char* op;  // for messages: softmax, log_softmax or SoftmaxOutput
  int mode;  // nn::RowMode
  // _softmax_output_grad
  int32_t label_dtype;
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
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_numeric(dt, [](auto) {})) return unsupported(args, dt);
  auto* p = new AxisPlan{};
  p->dtype = dt;
  int axis = int(attr_int(args, "axis"));
  if (axis < 0) axis += x.ndim;
  split_at(x, axis, *p);
  p->temperature = attr_float(args, "temperature");
  p->log = LOG;
  p->op = LOG ? "log_softmax" : "softmax";
  p->mode = nn::row_mode(p->n, p->inner);
  *out = p;
  return 0;
}

// SoftmaxOutput forward is a softmax over its class axis (as the CPU's softmax_output_axes).
int softmax_output_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_numeric(dt, [](auto) {})) return unsupported(args, dt);
  auto* p = new AxisPlan{};
  p->dtype = dt;
  if (attr_bool(args, "multi_output")) {
    split_at(x, 1, *p);
  } else if (attr_bool(args, "preserve_shape")) {
    split_at(x, x.ndim - 1, *p);
  } else {
    p->outer = x.ndim ? x.shape[0] : 1;
    p->n = numel(x) / (p->outer ? p->outer : 1);
    p->inner = 1;
  }
  p->temperature = 1;
  p->op = "SoftmaxOutput";
  p->mode = nn::row_mode(p->n, p->inner);
  *out = p;
  return 0;
}

// Per row: max of x / T, sum of exp(x / T - max), then x / T - lse or exp(x / T - lse), all in
// double as the CPU. y != x (the schema declares no in-place).
template <int MODE, typename S>
__global__ void softmax_kernel(const S* x, S* y, int64_t rows, int64_t n, int64_t inner, double t, bool log) {
  __shared__ double smem[33];
  using E = Elem<S>;
  using C = typename E::C;
  for_rows<MODE>(rows, n, inner, smem, [&](auto g, int64_t, int64_t base, int64_t st) {
    double mx = -INFINITY;
    for (int64_t j = g.lane(); j < n; j += g.size()) mx = nn::max_fold(mx, double(E::load(x[base + j * st])) / t);
    mx = g.max(mx);
    double sum = 0;
    for (int64_t j = g.lane(); j < n; j += g.size()) sum += std::exp(double(E::load(x[base + j * st])) / t - mx);
    sum = g.sum(sum);
    const double lse = mx + std::log(sum);
    for (int64_t j = g.lane(); j < n; j += g.size()) {
      const double r = double(E::load(x[base + j * st])) / t;
      y[base + j * st] = E::store(static_cast<C>(log ? r - lse : std::exp(r - lse)));
    }
  });
}

int softmax_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const AxisPlan& p = *static_cast<const AxisPlan*>(state);
  const int64_t rows = p.outer * p.inner;
  const char* op = p.op;
  if (rows == 0 || p.n == 0) return 0;
  cudaStream_t s = cuda_stream(ctx);
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    with_mode(p.mode, [&](auto m) {
      constexpr int M = decltype(m)::value;
      softmax_kernel<M, S><<<nn::row_blocks(M, rows), kThreads, 0, s>>>(ptr<const S>(in[0]), ptr<S>(out[0]), rows, p.n,
                                                                        p.inner, p.temperature, p.log);
    });
  });
  return launched(op) ? -1 : finish(ctx, op);
}

int softmax_output_grad_create(const mx_kernel_args* args, void** out) {
  const int32_t lt = dtype_flag(args->inputs[1].dtype);
  if (!dispatch_numeric(lt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED,
                 std::string("SoftmaxOutput: unsupported label dtype ") + dtype_name(lt) + " on cuda");
  if (softmax_output_create(args, out) != 0) return -1;
  auto* p = static_cast<AxisPlan*>(*out);
  p->label_dtype = lt;
  p->grad_scale = attr_float(args, "grad_scale");
  p->ignore_label = attr_float(args, "ignore_label");
  p->use_ignore = attr_bool(args, "use_ignore");
  const std::string norm = attr(args, "normalization");
  p->normalization = norm == "batch" ? 1 : norm == "valid" ? 2 : 0;
  return 0;
}

// normalization=valid: the number of labels not ignored is counted here (one block), and the
// scale grad_scale / max(valid, 1) left in *scale for the gradient kernel.
__global__ void count_valid_kernel(const void* label, int32_t ldt, int64_t m, double ignore_label, bool use_ignore,
                                   double grad_scale, double* scale) {
  __shared__ double smem[33];
  double c = 0;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x)
    c += (use_ignore && nn::load_label(label, ldt, i) == ignore_label) ? 0.0 : 1.0;
  c = nn::Block{smem}.sum(c);
  if (threadIdx.x == 0) *scale = grad_scale / (c > 0 ? c : 1.0);
}

// g = (y - one_hot(label)) (0 where ignored), rounded to S, then times the scale and rounded again:
// the CPU writes the difference to g before scaling it in a second pass.
template <typename S>
__global__ void softmax_output_grad_kernel(const S* y, const void* label, int32_t ldt, S* g, int64_t total, int64_t n,
                                           int64_t inner, double ignore_label, bool use_ignore, double scale,
                                           const double* scale_dev) {
  using E = Elem<S>;
  using C = typename E::C;
  const double sc = scale_dev ? *scale_dev : scale;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % inner, j = (t / inner) % n, o = t / inner / n;
    const double lab = nn::load_label(label, ldt, o * inner + i);
    const bool ignored = use_ignore && lab == ignore_label;
    const double v = ignored ? 0.0 : double(E::load(y[t])) - (nn::label_index(lab) == j ? 1.0 : 0.0);
    const C once = E::load(E::store(static_cast<C>(v)));
    g[t] = E::store(static_cast<C>(double(once) * sc));
  }
}

uint64_t softmax_output_grad_workspace(void* state) {
  return static_cast<const AxisPlan*>(state)->normalization == 2 ? sizeof(double) : 0;
}

int softmax_output_grad_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out,
                            int32_t) {
  const AxisPlan& p = *static_cast<const AxisPlan*>(state);
  const char* op = "_softmax_output_grad";
  const int64_t total = p.outer * p.n * p.inner;
  if (total == 0) return 0;
  cudaStream_t s = cuda_stream(ctx);
  const void* label = data_of(in[1]);
  double scale = p.grad_scale;
  if (p.normalization == 1) scale /= double(p.outer);
  double* scale_dev = nullptr;
  if (p.normalization == 2) {
    scale_dev = static_cast<double*>(scratch(ctx, sizeof(double), op));
    if (!scale_dev) return -1;
    count_valid_kernel<<<1, kThreads, 0, s>>>(label, p.label_dtype, p.outer * p.inner, p.ignore_label, p.use_ignore,
                                              p.grad_scale, scale_dev);
    if (launched(op)) return -1;
  }
  dispatch_numeric(p.dtype, [&](auto tag) {
    using S = decltype(tag);
    softmax_output_grad_kernel<S><<<blocks_for(total), kThreads, 0, s>>>(
        ptr<const S>(in[0]), label, p.label_dtype, ptr<S>(out[0]), total, p.n, p.inner, p.ignore_label, p.use_ignore,
        scale, scale_dev);
  });
  return launched(op) ? -1 : finish(ctx, op);
}

void axis_destroy(void* s) { delete static_cast<AxisPlan*>(s); }

// ---------------------------------------------------------------- softmax_cross_entropy

struct CePlan {
  int32_t dtype;
  int32_t label_dtype;
  int64_t rows, d;
  int mode;
};

int ce_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype), lt = dtype_flag(args->inputs[1].dtype);
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  if (!dispatch_numeric(lt, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string("softmax_cross_entropy: unsupported label dtype ") + dtype_name(lt) +
                                         " on cuda");
  const DLTensor& x = args->inputs[0];
  *out = new CePlan{dt, lt, x.shape[0], x.shape[1], nn::row_mode(x.shape[1], 1)};
  return 0;
}

uint64_t ce_workspace(void* state) { return uint64_t(static_cast<const CePlan*>(state)->rows) * sizeof(double); }

// loss[r] = max + log(sum exp(x - max)) - x[k], k the label clamped into [0, d). With d == 0 the
// CPU reads x[-1] (out of bounds); here the row's loss is then -inf (no x[k] term).
template <int MODE, typename T>
__global__ void ce_rows_kernel(const T* x, const void* label, int32_t ldt, int64_t rows, int64_t d, double* loss) {
  __shared__ double smem[33];
  for_rows<MODE>(rows, d, int64_t(1), smem, [&](auto g, int64_t r, int64_t base, int64_t) {
    double mx = -INFINITY;
    for (int64_t j = g.lane(); j < d; j += g.size()) mx = nn::max_fold(mx, ld(x[base + j]));
    mx = g.max(mx);
    double s = 0;
    for (int64_t j = g.lane(); j < d; j += g.size()) s += std::exp(ld(x[base + j]) - mx);
    s = g.sum(s);
    if (g.lane() == 0) {
      int64_t k = nn::label_index(nn::load_label(label, ldt, r));
      k = k < 0 ? 0 : (k > d - 1 ? d - 1 : k);
      loss[r] = mx + std::log(s) - (d > 0 ? ld(x[base + k]) : 0.0);
    }
  });
}

template <typename T>
__global__ void ce_total_kernel(const double* loss, int64_t rows, T* out) {
  __shared__ double smem[33];
  double t = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) t += loss[r];
  t = nn::Block{smem}.sum(t);
  if (threadIdx.x == 0) *out = nn::st<T>(t);
}

int ce_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const CePlan& p = *static_cast<const CePlan*>(state);
  const char* op = "softmax_cross_entropy";
  cudaStream_t s = cuda_stream(ctx);
  double* loss = static_cast<double*>(scratch(ctx, ce_workspace(state), op));
  if (p.rows > 0 && !loss) return -1;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    if (p.rows > 0)
      with_mode(p.mode, [&](auto m) {
        constexpr int M = decltype(m)::value;
        ce_rows_kernel<M, T><<<nn::row_blocks(M, p.rows), kThreads, 0, s>>>(ptr<const T>(in[0]), data_of(in[1]),
                                                                           p.label_dtype, p.rows, p.d, loss);
      });
    ce_total_kernel<T><<<1, kThreads, 0, s>>>(loss, p.rows, ptr<T>(out[0]));  // an empty batch gives 0
  };
  dispatch_float(p.dtype, run);
  return launched(op) ? -1 : finish(ctx, op);
}

void ce_destroy(void* s) { delete static_cast<CePlan*>(s); }

// ---------------------------------------------------------------- LayerNorm

struct LnPlan {
  int32_t dtype;
  int64_t outer, d, inner;
  double eps;
  int mode;
};

int ln_create(const mx_kernel_args* args, void** out) {
  const DLTensor& x = args->inputs[0];
  const int32_t dt = dtype_flag(x.dtype);
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  int axis = int(attr_int(args, "axis"));
  if (axis < 0) axis += x.ndim;
  auto* p = new LnPlan{dt, 1, x.shape[axis], 1, attr_float(args, "eps"), 0};
  for (int i = 0; i < axis; ++i) p->outer *= x.shape[i];
  for (int i = axis + 1; i < x.ndim; ++i) p->inner *= x.shape[i];
  p->mode = nn::row_mode(p->d, p->inner);
  *out = p;
  return 0;
}

// Row r = (o, i): mean, then the variance from the deviations (two passes, as the CPU), std =
// sqrt(var + eps); mean / std land at r (the keepdims shape). mul_rn / add_rn: no FMA, as g++.
template <int MODE, typename T>
__global__ void ln_kernel(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* stdv, int64_t rows, int64_t d,
                          int64_t inner, double eps) {
  __shared__ double smem[33];
  for_rows<MODE>(rows, d, inner, smem, [&](auto g, int64_t r, int64_t base, int64_t st) {
    double s = 0;
    for (int64_t j = g.lane(); j < d; j += g.size()) s += ld(x[base + j * st]);
    const double mu = g.sum(s) / double(d);
    double s2 = 0;
    for (int64_t j = g.lane(); j < d; j += g.size()) {
      const double dv = ld(x[base + j * st]) - mu;
      s2 = add_rn(s2, mul_rn(dv, dv));
    }
    const double sd = std::sqrt(g.sum(s2) / double(d) + eps);
    if (g.lane() == 0) {
      mean[r] = nn::st<T>(mu);
      stdv[r] = nn::st<T>(sd);
    }
    for (int64_t j = g.lane(); j < d; j += g.size()) {
      const int64_t k = base + j * st;
      y[k] = nn::st<T>(add_rn(mul_rn((ld(x[k]) - mu) / sd, ld(gamma[j])), ld(beta[j])));
    }
  });
}

int ln_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const LnPlan& p = *static_cast<const LnPlan*>(state);
  const int64_t rows = p.outer * p.inner;
  if (rows == 0) return 0;
  cudaStream_t s = cuda_stream(ctx);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    with_mode(p.mode, [&](auto m) {
      constexpr int M = decltype(m)::value;
      ln_kernel<M, T><<<nn::row_blocks(M, rows), kThreads, 0, s>>>(ptr<const T>(in[0]), ptr<const T>(in[1]),
                                                                   ptr<const T>(in[2]), ptr<T>(out[0]), ptr<T>(out[1]),
                                                                   ptr<T>(out[2]), rows, p.d, p.inner, p.eps);
    });
  };
  dispatch_float(p.dtype, run);
  return launched("LayerNorm") ? -1 : finish(ctx, "LayerNorm");
}

void ln_destroy(void* s) { delete static_cast<LnPlan*>(s); }

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
  if (!dispatch_float(dt, [](auto) {})) return unsupported(args, dt);
  auto* p = new BnPlan{attr_float(args, "eps"), attr_float(args, "momentum"), attr_bool(args, "fix_gamma"),
                       attr_bool(args, "use_global_stats"), dt, 1, 1, 1};
  int axis = int(attr_int(args, "axis"));
  if (axis < 0) axis += x.ndim;
  for (int d = 0; d < axis; ++d) p->outer *= x.shape[d];
  p->c = x.shape[axis];
  for (int d = axis + 1; d < x.ndim; ++d) p->inner *= x.shape[d];
  *out = p;
  return 0;
}

// One block per channel. Training: batch mean, then variance from the deviations (biased, /count),
// moving stats updated in place by thread 0; otherwise the moving stats. An empty batch gives NaN
// statistics (0 / 0), as on the CPU.
template <typename T>
__global__ void bn_kernel(BnPlan p, bool training, const T* x, const T* gamma, const T* beta, T* mm, T* mv, T* y,
                          T* mean, T* var) {
  __shared__ double smem[33];
  const nn::Block b{smem};
  const int64_t m = p.outer * p.inner;
  const double count = double(m);
  for (int64_t ch = blockIdx.x; ch < p.c; ch += gridDim.x) {
    auto at = [&](int64_t e) { return (e / p.inner * p.c + ch) * p.inner + e % p.inner; };
    double mu, sigma2;
    if (training) {
      double s = 0;
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) s += ld(x[at(e)]);
      mu = b.sum(s) / count;
      double s2 = 0;
      for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
        const double dv = ld(x[at(e)]) - mu;
        s2 = add_rn(s2, mul_rn(dv, dv));
      }
      sigma2 = b.sum(s2) / count;
      if (threadIdx.x == 0) {
        mm[ch] = nn::st<T>(add_rn(mul_rn(ld(mm[ch]), p.momentum), mul_rn(mu, 1 - p.momentum)));
        mv[ch] = nn::st<T>(add_rn(mul_rn(ld(mv[ch]), p.momentum), mul_rn(sigma2, 1 - p.momentum)));
      }
    } else {
      mu = ld(mm[ch]);
      sigma2 = ld(mv[ch]);
    }
    if (threadIdx.x == 0) {
      mean[ch] = nn::st<T>(mu);
      var[ch] = nn::st<T>(sigma2);
    }
    const double scale = (p.fix_gamma ? 1.0 : ld(gamma[ch])) / std::sqrt(sigma2 + p.eps), shift = ld(beta[ch]);
    for (int64_t e = threadIdx.x; e < m; e += blockDim.x) {
      const int64_t k = at(e);
      y[k] = nn::st<T>(add_rn(mul_rn(ld(x[k]) - mu, scale), shift));
    }
  }
}

int bn_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const BnPlan& p = *static_cast<const BnPlan*>(state);
  if (p.c == 0) return 0;
  const bool training = is_train(ctx) && !p.global_stats;
  cudaStream_t s = cuda_stream(ctx);
  const unsigned grid = unsigned(p.c < 65536 ? p.c : 65536);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    bn_kernel<T><<<grid, kThreads, 0, s>>>(p, training, ptr<const T>(in[0]), ptr<const T>(in[1]),
                                           ptr<const T>(in[2]), ptr<T>(in[3]), ptr<T>(in[4]), ptr<T>(out[0]),
                                           ptr<T>(out[1]), ptr<T>(out[2]));
  };
  dispatch_float(p.dtype, run);
  return launched("BatchNorm") ? -1 : finish(ctx, "BatchNorm");
}

void bn_destroy(void* s) { delete static_cast<BnPlan*>(s); }

// ---------------------------------------------------------------- Dropout

struct DropoutPlan {
  double p;
  bool always;
  int32_t dtype;
};

int dropout_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_numeric(dt, [](auto) {})) return unsupported(args, dt);
  if (numel(args->outputs[1]) != numel(args->outputs[0]))  // a mask shared along axes
    return error(MX_ERR_UNSUPPORTED, "Dropout: axes (a mask shared along axes) is not served on cuda");
  *out = new DropoutPlan{attr_float(args, "p"), std::string(attr(args, "mode")) == "always", dt};
  return 0;
}

// One thread per Philox block: elements 4b .. 4b+3 take lanes 0..3 of block rng_offset + b, key
// rng_seed (the CPU's mapping), and keep_lane decides as on the CPU.
template <typename S>
int dropout_launch(bool drop, float pf, double keep_scale, uint64_t seed, uint64_t offset, const S* x, S* y, S* mask,
                   int64_t n, cudaStream_t s) {
  using E = Elem<S>;
  using C = typename E::C;
  return for_each((n + 3) / 4, s, "Dropout", [=] __device__(int64_t b) {
    mx_philox_u32x4 r{};
    if (drop) r = mx_philox_block(seed, offset + uint64_t(b));
    for (int l = 0; l < 4 && b * 4 + l < n; ++l) {
      const int64_t i = b * 4 + l;
      const double m = !drop ? 1.0 : (keep_lane(r, l, pf) ? keep_scale : 0.0);
      mask[i] = E::store(static_cast<C>(m));
      y[i] = E::store(static_cast<C>(double(E::load(x[i])) * m));
    }
  });
}

int dropout_run(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const DropoutPlan& d = *static_cast<const DropoutPlan*>(state);
  const bool drop = (d.always || is_train(ctx)) && d.p > 0;
  const double keep_scale = d.p < 1 ? 1.0 / (1.0 - d.p) : 0.0;
  int rc = 0;
  dispatch_numeric(d.dtype, [&](auto tag) {
    using S = decltype(tag);
    rc = dropout_launch<S>(drop, float(d.p), keep_scale, ctx->rng_seed, ctx->rng_offset, ptr<const S>(in[0]),
                           ptr<S>(out[0]), ptr<S>(out[1]), numel(out[0]), cuda_stream(ctx));
  });
  return rc ? rc : finish(ctx, "Dropout");
}

void dropout_destroy(void* s) { delete static_cast<DropoutPlan*>(s); }

const mx_kernel kNNKernels[] = {
    kernel("Activation", act_create, act_run, act_destroy),
    kernel("_backward_Activation", act_grad_create, act_grad_run, act_destroy),
    kernel("LeakyReLU", leaky_create, leaky_run, leaky_destroy),
    kernel("softmax", softmax_create<false>, softmax_run, axis_destroy),
    kernel("log_softmax", softmax_create<true>, softmax_run, axis_destroy),
    kernel("SoftmaxOutput", softmax_output_create, softmax_run, axis_destroy),
    kernel("_softmax_output_grad", softmax_output_grad_create, softmax_output_grad_run, axis_destroy,
           softmax_output_grad_workspace),
    kernel("softmax_cross_entropy", ce_create, ce_run, ce_destroy, ce_workspace),
    kernel("LayerNorm", ln_create, ln_run, ln_destroy),
    kernel("BatchNorm", bn_create, bn_run, bn_destroy),
    kernel("Dropout", dropout_create, dropout_run, dropout_destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kNNKernels);

}  // namespace
}  // namespace mxcuda
