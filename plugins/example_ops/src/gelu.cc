// gelu: the Gaussian error linear unit of BERT and GPT, x * Phi(x).
//   approximate=False: 0.5 x (1 + erf(x / sqrt 2))                       (exact)
//   approximate=True:  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))   (the tanh form)
// The gradient is written with built-in ops (erf, exp, tanh, square, elemwise_*, *_scalar), so
// the host differentiates it again: gradients of gradients work with no extra code here.
#include <cmath>

#include "ext.h"
#include "vec_math.h"

namespace example_ops {
namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;     // 1 / sqrt(2)
constexpr double kInvSqrtTwoPi = 0.39894228040143267794;  // 1 / sqrt(2 pi), the normal density at 0
constexpr double kSqrtTwoOverPi = 0.79788456080286535588;
constexpr double kCubic = 0.044715;

// ---------------------------------------------------------------- kernels
// The loops call vec_math's exp / erfc, not libm's, so they vectorise; float32 data is computed
// in double and rounded once. The erf form in float64 keeps libm's erfc: the vectorisable erfc is
// accurate to 1.2e-7, which float32 results cannot see and float64 ones would.

// x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2, from erfc of |x| / sqrt 2 (accurate in both tails).
EXAMPLE_OPS_SIMD_CLONES void gelu_exact(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    const double half_erfc = 0.5 * vmath::erfc_nonnegative((v < 0 ? -v : v) * kSqrtHalf);
    y[i] = float(v * (v < 0 ? half_erfc : 1.0 - half_erfc));
  }
}

void gelu_exact(const double* x, double* y, int64_t n) {  // erfc, not 1 + erf: no cancellation for x << 0
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5 * x[i] * std::erfc(-x[i] * kSqrtHalf);
}

// 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3).
template <typename T>
inline void gelu_tanh_loop(const T* x, T* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = T(v / (1.0 + vmath::exp(-2.0 * kSqrtTwoOverPi * (v + kCubic * v * v * v))));
  }
}
EXAMPLE_OPS_SIMD_CLONES void gelu_tanh(const float* x, float* y, int64_t n) { gelu_tanh_loop(x, y, n); }
EXAMPLE_OPS_SIMD_CLONES void gelu_tanh(const double* x, double* y, int64_t n) { gelu_tanh_loop(x, y, n); }

struct GeluPlan {
  bool approximate;
  int32_t dtype;
};

int create(const mx_kernel_args* args, void** out_state) {
  return guarded("gelu", [&] {
    const int32_t dtype = mx_impl::dtype_flag(args->inputs[0].dtype);
    if (dtype != MX_FLOAT32 && dtype != MX_FLOAT64)
      fail(MX_ERR_UNSUPPORTED, std::string("gelu: no kernel for dtype ") + mx_impl::dtype_name(dtype) +
                                   " (example_ops has float32 and float64)");
    *out_state = new GeluPlan{Attrs(args).flag("approximate"), dtype};
    return 0;
  });
}

template <typename T>
void run_as(const GeluPlan& p, const DLTensor& in, DLTensor& out) {
  const T* x = reinterpret_cast<const T*>(mx_impl::data_of(in));
  T* y = reinterpret_cast<T*>(mx_impl::data_of(out));
  if (p.approximate)
    gelu_tanh(x, y, mx_impl::numel(in));
  else
    gelu_exact(x, y, mx_impl::numel(in));
}

int run(void* state, const mx_kernel_ctx*, const DLTensor* inputs, int32_t, DLTensor* outputs, int32_t) {
  const auto& p = *static_cast<const GeluPlan*>(state);
  if (p.dtype == MX_FLOAT32)
    run_as<float>(p, inputs[0], outputs[0]);
  else
    run_as<double>(p, inputs[0], outputs[0]);
  return 0;
}

void destroy(void* state) { delete static_cast<GeluPlan*>(state); }

// ---------------------------------------------------------------- schema

int infer_shape(void*, mx_ext_infer_args* a) {
  a->out_ndims[0] = a->in_ndims[0];
  for (int32_t d = 0; d < a->in_ndims[0]; ++d) a->out_shapes[0][d] = a->in_shapes[0][d];
  return 0;
}

// d gelu / dx, as a graph of built-in ops on x.
int32_t local_derivative(GradGraph& g, int32_t x, bool approximate) {
  if (!approximate) {  // Phi(x) + x phi(x)
    const int32_t cdf =
        g.scalar("_mul_scalar", g.scalar("_plus_scalar", g.op("erf", {g.scalar("_mul_scalar", x, kSqrtHalf)}), 1), 0.5);
    const int32_t pdf =
        g.scalar("_mul_scalar", g.op("exp", {g.scalar("_mul_scalar", g.op("square", {x}), -0.5)}), kInvSqrtTwoPi);
    return g.add(cdf, g.mul(x, pdf));
  }
  // With t = tanh(c (x + a x^3)): 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 a x^2).
  const int32_t x2 = g.op("square", {x});
  const int32_t t =
      g.op("tanh", {g.scalar("_mul_scalar", g.add(x, g.scalar("_mul_scalar", g.mul(x2, x), kCubic)), kSqrtTwoOverPi)});
  const int32_t outer = g.scalar("_mul_scalar", g.scalar("_plus_scalar", t, 1), 0.5);
  const int32_t sech2 = g.scalar("_rminus_scalar", g.op("square", {t}), 1);
  const int32_t inner_slope = g.scalar("_mul_scalar", g.scalar("_plus_scalar", g.scalar("_mul_scalar", x2, 3 * kCubic), 1),
                                       0.5 * kSqrtTwoOverPi);
  return g.add(outer, g.mul(g.mul(x, sech2), inner_slope));
}

int gradient(void*, const mx_ext_grad_args* a) {
  return guarded("gelu", [&] {
    GradGraph g(a);
    a->in_grads[0] = g.mul(a->out_grads[0], local_derivative(g, a->inputs[0], Attrs(a).flag("approximate")));
    return 0;
  });
}

const char* const kInputs[] = {"data"};
const mx_ext_param kApproximate = {sizeof(mx_ext_param), "approximate", MX_EXT_PARAM_BOOL, "False",
                                   "False: the exact form with erf; True: the tanh approximation (GPT-2, BERT's "
                                   "original code)"};
const mx_ext_param* const kParams[] = {&kApproximate};
const mx_kernel kCpuKernel = mx_impl::kernel("gelu", create, run, destroy);

const mx_ext_op kGelu = {
    .struct_size = sizeof(mx_ext_op),
    .name = "gelu",
    .doc = "Gaussian error linear unit: x * Phi(x), Phi the standard normal CDF (erf form), or its tanh "
           "approximation with approximate=True. float32 and float64.",
    .num_inputs = 1,
    .input_names = kInputs,
    .num_outputs = 1,
    .num_params = 1,
    .params = kParams,
    .infer_shape = infer_shape,
    .infer_dtype = nullptr,  // the output has the input's dtype
    .cpu_kernel = &kCpuKernel,
    .cuda_kernel = nullptr,
    .gradient = gradient,
    .user = nullptr,
};

}  // namespace

const mx_ext_op* gelu_op() { return &kGelu; }

}  // namespace example_ops
