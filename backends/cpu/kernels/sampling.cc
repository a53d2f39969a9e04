// The sampling family's kernels beyond the element samplers (those are in random.cc):
// _sample_multinomial and its gradient, _shuffle, and the densities _random_pdf_X with their
// gradients _backward_pdf_X (core/op/defs/sampling.cc). Random draws follow random.h's
// ElementStream contract: sample i (multinomial) or row i (shuffle) owns Philox block
// rng_offset + i, so the numbers do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "../../common/random.h"
#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

template <typename S>
double load(const DLTensor& t, int64_t i) {
  return double(Elem<S>::load(reinterpret_cast<const S*>(data_of(t))[i]));
}
template <typename S>
void store(const DLTensor& t, int64_t i, double v) {
  reinterpret_cast<S*>(data_of(t))[i] = Elem<S>::store(typename Elem<S>::C(v));
}

// ---------------------------------------------------------------- _sample_multinomial
// Sample i of row r = i / per_row: the first category j whose running sum of data[r] exceeds
// U * sum(data[r]) (U in [0, 1) from element i's stream); with get_prob, log(data[r][j] / sum).
struct Dtypes {
  int32_t a, b;
};

int create_dtypes(const mx_kernel_args* args, void** out) {
  const int32_t in = dtype_flag(args->inputs[0].dtype);
  if (!dispatch_float(in, [](auto) {})) return unsupported(args, in);
  *out = new Dtypes{in, dtype_flag(args->outputs[0].dtype)};
  return 0;
}
void destroy_dtypes(void* s) { delete static_cast<Dtypes*>(s); }

int run_multinomial(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t nout) {
  const Dtypes& dt = *static_cast<const Dtypes*>(state);
  const DLTensor& data = in[0];
  const int64_t k = data.shape[data.ndim - 1];
  const int64_t rows = k > 0 ? numel(data) / k : 0;
  const int64_t n = numel(out[0]);
  const int64_t per_row = rows > 0 ? n / rows : 0;
  dispatch_float(dt.a, [&](auto data_tag) {
    using D = decltype(data_tag);
    dispatch_numeric(dt.b, [&](auto sample_tag) {
      using I = decltype(sample_tag);
      parallel_for(n, 256, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const int64_t r = i / per_row;
          double sum = 0;
          for (int64_t j = 0; j < k; ++j) sum += load<D>(data, r * k + j);
          ElementStream es(ctx->rng_seed, ctx->rng_offset + uint64_t(i));
          const double u = es.unit() * sum;
          int64_t pick = -1;
          double cum = 0;
          for (int64_t j = 0; j < k; ++j) {
            const double p = load<D>(data, r * k + j);
            cum += p;
            if (p > 0) pick = j;  // the last possible category, if rounding leaves u >= cum
            if (p > 0 && u < cum) break;
          }
          if (pick < 0) pick = 0;  // an all-zero row
          store<I>(out[0], i, double(pick));
          if (nout > 1) store<D>(out[1], i, std::log(load<D>(data, r * k + pick) / sum));
        }
      });
    });
  });
  return 0;
}

// d log(p_s / sum p) / d p_j = [j == s] / p_s - 1 / sum, times out_grad, summed over a row's samples.
int create_multinomial_grad(const mx_kernel_args* args, void** out) {
  const int32_t d = dtype_flag(args->inputs[1].dtype);
  if (!dispatch_float(d, [](auto) {})) return unsupported(args, d);
  *out = new Dtypes{d, dtype_flag(args->inputs[2].dtype)};
  return 0;
}

int run_multinomial_grad(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Dtypes& dt = *static_cast<const Dtypes*>(state);
  const DLTensor &og = in[0], &data = in[1], &sample = in[2];
  const int64_t k = data.shape[data.ndim - 1];
  const int64_t rows = k > 0 ? numel(data) / k : 0;
  const int64_t per_row = rows > 0 ? numel(sample) / rows : 0;
  dispatch_float(dt.a, [&](auto data_tag) {
    using D = decltype(data_tag);
    dispatch_numeric(dt.b, [&](auto sample_tag) {
      using I = decltype(sample_tag);
      parallel_for(rows, 16, [&](int64_t begin, int64_t end) {
        std::vector<double> g(static_cast<size_t>(k));
        for (int64_t r = begin; r < end; ++r) {
          double sum = 0, og_sum = 0;
          for (int64_t j = 0; j < k; ++j) sum += load<D>(data, r * k + j), g[size_t(j)] = 0;
          for (int64_t m = 0; m < per_row; ++m) {
            const double w = load<D>(og, r * per_row + m);
            const auto s = int64_t(load<I>(sample, r * per_row + m));
            og_sum += w;
            if (s >= 0 && s < k) g[size_t(s)] += w / load<D>(data, r * k + s);
          }
          for (int64_t j = 0; j < k; ++j) store<D>(out[0], r * k + j, g[size_t(j)] - og_sum / sum);
        }
      });
    });
  });
  return 0;
}

// ---------------------------------------------------------------- _shuffle
// Fisher-Yates: for i = n - 1 down to 1, swap position i with j uniform in [0, i], j drawn from
// row i's stream (block rng_offset + i); then out row i = data row perm[i].
int create_shuffle(const mx_kernel_args*, void** out) {
  *out = nullptr;
  return 0;
}

int run_shuffle(void*, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const int64_t total = numel(in[0]);
  const int64_t n = in[0].ndim > 0 ? in[0].shape[0] : 1;
  if (total == 0 || n == 0) return 0;
  const int64_t row_bytes = total / n * elem_bytes(in[0]);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t(0));
  for (int64_t i = n - 1; i > 0; --i) {
    ElementStream es(ctx->rng_seed, ctx->rng_offset + uint64_t(i));
    std::swap(perm[size_t(i)], perm[size_t(sample_randint(es, 0, i + 1))]);
  }
  const char* src = data_of(in[0]);
  char* dst = data_of(out[0]);
  parallel_for(n, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i)
      std::memcpy(dst + i * row_bytes, src + perm[size_t(i)] * row_bytes, size_t(row_bytes));
  });
  return 0;
}

// ---------------------------------------------------------------- densities
// Each distribution gives log p(x | params) and its derivatives in x and each parameter; the
// density is exp(log p), and its derivatives are p times those of log p.
struct LogPdf {
  double logp, dx, dp[2];
};

double digamma(double x) {
  if (!(x > 0)) return std::numeric_limits<double>::quiet_NaN();
  double acc = 0;
  while (x < 10) acc -= 1 / x, x += 1;
  const double z = 1 / (x * x);
  // psi(x) ~ ln x - 1/(2x) - 1/(12x^2) + 1/(120x^4) - 1/(252x^6) + 1/(240x^8) - 1/(132x^10)
  return acc + std::log(x) - 0.5 / x - z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z / 132))));
}

double lgam(double x) { return portable_lgamma(x); }  // thread-safe (std::lgamma writes signgam)

enum class Pdf { kUniform, kNormal, kGamma, kExponential, kPoisson, kNegativeBinomial, kGeneralizedNegativeBinomial, kDirichlet };

LogPdf negative_binomial(double x, double k, double p) {
  return {lgam(x + k) - lgam(x + 1) - lgam(k) + k * std::log(p) + x * std::log1p(-p),
          0,
          {digamma(x + k) - digamma(k) + std::log(p), k / p - x / (1 - p)}};
}

LogPdf log_pdf(Pdf d, double x, double a, double b) {
  const double log_2pi = 1.8378770664093454836;
  switch (d) {
    case Pdf::kUniform: {
      if (!(x >= a && x <= b)) return {-HUGE_VAL, 0, {0, 0}};
      const double w = b - a;
      return {-std::log(w), 0, {1 / w, -1 / w}};
    }
    case Pdf::kNormal: {
      const double e = x - a, s2 = b * b;
      return {-0.5 * e * e / s2 - std::log(b) - 0.5 * log_2pi, -e / s2, {e / s2, (e * e - s2) / (s2 * b)}};
    }
    case Pdf::kGamma:  // a shape, b rate
      return {a * std::log(b) + (a - 1) * std::log(x) - b * x - lgam(a), (a - 1) / x - b,
              {std::log(b) + std::log(x) - digamma(a), a / b - x}};
    case Pdf::kExponential: return {std::log(a) - a * x, -a, {1 / a - x, 0}};
    case Pdf::kPoisson: return {x * std::log(a) - lgam(x + 1) - a, 0, {x / a - 1, 0}};
    case Pdf::kNegativeBinomial: return negative_binomial(x, a, b);
    default: {  // generalized: k = 1 / alpha, p = 1 / (1 + mu alpha)
      const double mu = a, alpha = b, den = 1 + mu * alpha;
      const LogPdf nb = negative_binomial(x, 1 / alpha, 1 / den);
      return {nb.logp, 0, {-nb.dp[1] * alpha / (den * den), -nb.dp[0] / (alpha * alpha) - nb.dp[1] * mu / (den * den)}};
    }
  }
}

struct PdfState {
  Pdf dist;
  bool is_log;
  int32_t dtype;
};

const std::pair<const char*, Pdf> kPdfs[] = {
    {"uniform", Pdf::kUniform},
    {"normal", Pdf::kNormal},
    {"gamma", Pdf::kGamma},
    {"exponential", Pdf::kExponential},
    {"poisson", Pdf::kPoisson},
    {"negative_binomial", Pdf::kNegativeBinomial},
    {"generalized_negative_binomial", Pdf::kGeneralizedNegativeBinomial},
    {"dirichlet", Pdf::kDirichlet},
};

int create_pdf(const mx_kernel_args* args, void** out) {
  const std::string op = args->op_name;
  const int32_t dtype = dtype_flag(args->inputs[args->num_inputs - 1].dtype);
  if (!dispatch_float(dtype, [](auto) {})) return unsupported(args, dtype);
  const std::string dist = op.substr(op.find("pdf_") + 4);
  for (const auto& [name, d] : kPdfs)
    if (dist == name) {
      *out = new PdfState{d, attr_bool(args, "is_log"), dtype};
      return 0;
    }
  return error(MX_ERR_UNSUPPORTED, op + ": unknown distribution");
}
void destroy_pdf(void* s) { delete static_cast<PdfState*>(s); }

// Shapes: parameters P (np entries; Dirichlet: np rows of k), samples np * m (Dirichlet: rows of k).
struct PdfLayout {
  int64_t np, m, k;  // parameter sets, samples per set, Dirichlet's vector length (1 otherwise)
};
PdfLayout layout(const PdfState& st, const DLTensor& sample, const DLTensor& param) {
  const int64_t k = st.dist == Pdf::kDirichlet ? param.shape[param.ndim - 1] : 1;
  const int64_t np = k > 0 ? numel(param) / k : 0;
  const int64_t rows = k > 0 ? numel(sample) / k : 0;
  return {np, np > 0 ? rows / np : 0, k};
}

// Dirichlet: log p of sample row x (k entries) under alpha row a, and optionally the derivatives.
template <typename S>
double dirichlet(const DLTensor& xs, int64_t xr, const DLTensor& as, int64_t ar, int64_t k, double* dx, double* da) {
  double sum_a = 0, lp = 0;
  for (int64_t j = 0; j < k; ++j) {
    const double a = load<S>(as, ar * k + j), x = load<S>(xs, xr * k + j);
    sum_a += a;
    lp += (a - 1) * std::log(x) - lgam(a);
  }
  lp += lgam(sum_a);
  if (dx) {
    const double psi_sum = digamma(sum_a);
    for (int64_t j = 0; j < k; ++j) {
      const double a = load<S>(as, ar * k + j), x = load<S>(xs, xr * k + j);
      dx[j] = (a - 1) / x;
      da[j] = std::log(x) + psi_sum - digamma(a);
    }
  }
  return lp;
}

int run_pdf(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t nin, DLTensor* out, int32_t) {
  const PdfState& st = *static_cast<const PdfState*>(state);
  const PdfLayout L = layout(st, in[0], in[1]);
  dispatch_float(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    parallel_for(L.np * L.m, 256, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int64_t p = i / L.m;
        double lp;
        if (st.dist == Pdf::kDirichlet) lp = dirichlet<S>(in[0], i, in[1], p, L.k, nullptr, nullptr);
        else lp = log_pdf(st.dist, load<S>(in[0], i), load<S>(in[1], p), nin > 2 ? load<S>(in[2], p) : 0.0).logp;
        store<S>(out[0], i, st.is_log ? lp : std::exp(lp));
      }
    });
  });
  return 0;
}

// Inputs (out_grad, sample, params...), outputs (d sample, d params...); a parameter's gradient
// sums its m samples (one parameter set per parallel chunk entry: no two chunks write one entry).
int run_pdf_grad(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t nin, DLTensor* out, int32_t) {
  const PdfState& st = *static_cast<const PdfState*>(state);
  const DLTensor& og = in[0];
  const DLTensor& xs = in[1];
  const int nparams = nin - 2;
  const PdfLayout L = layout(st, xs, in[2]);
  dispatch_float(st.dtype, [&](auto tag) {
    using S = decltype(tag);
    parallel_for(L.np, 16, [&](int64_t begin, int64_t end) {
      std::vector<double> dx(size_t(L.k)), da(size_t(L.k)), acc(size_t(L.k) * 2);
      for (int64_t p = begin; p < end; ++p) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j < L.m; ++j) {
          const int64_t i = p * L.m + j;
          if (st.dist == Pdf::kDirichlet) {
            const double lp = dirichlet<S>(xs, i, in[2], p, L.k, dx.data(), da.data());
            const double scale = load<S>(og, i) * (st.is_log ? 1.0 : std::exp(lp));
            for (int64_t c = 0; c < L.k; ++c) {
              store<S>(out[0], i * L.k + c, scale * dx[size_t(c)]);
              acc[size_t(c)] += scale * da[size_t(c)];
            }
            continue;
          }
          const LogPdf g = log_pdf(st.dist, load<S>(xs, i), load<S>(in[2], p), nparams > 1 ? load<S>(in[3], p) : 0.0);
          const double scale = load<S>(og, i) * (st.is_log ? 1.0 : std::exp(g.logp));
          store<S>(out[0], i, scale * g.dx);
          acc[0] += scale * g.dp[0];
          acc[1] += scale * g.dp[1];
        }
        if (st.dist == Pdf::kDirichlet) {
          for (int64_t c = 0; c < L.k; ++c) store<S>(out[1], p * L.k + c, acc[size_t(c)]);
        } else {
          for (int q = 0; q < nparams; ++q) store<S>(out[1 + q], p, acc[size_t(q)]);
        }
      }
    });
  });
  return 0;
}

const mx_kernel kSamplingKernels[] = {
    kernel("_sample_multinomial", create_dtypes, run_multinomial, destroy_dtypes),
    kernel("_backward_sample_multinomial", create_multinomial_grad, run_multinomial_grad, destroy_dtypes),
    kernel("_shuffle", create_shuffle, run_shuffle, [](void*) {}),
    kernel("_random_pdf_uniform", create_pdf, run_pdf, destroy_pdf),
    kernel("_random_pdf_normal", create_pdf, run_pdf, destroy_pdf),
    kernel("_random_pdf_gamma", create_pdf, run_pdf, destroy_pdf),
    kernel("_random_pdf_exponential", create_pdf, run_pdf, destroy_pdf),
    kernel("_random_pdf_poisson", create_pdf, run_pdf, destroy_pdf),
    kernel("_random_pdf_negative_binomial", create_pdf, run_pdf, destroy_pdf),
    kernel("_random_pdf_generalized_negative_binomial", create_pdf, run_pdf, destroy_pdf),
    kernel("_random_pdf_dirichlet", create_pdf, run_pdf, destroy_pdf),
    kernel("_backward_pdf_uniform", create_pdf, run_pdf_grad, destroy_pdf),
    kernel("_backward_pdf_normal", create_pdf, run_pdf_grad, destroy_pdf),
    kernel("_backward_pdf_gamma", create_pdf, run_pdf_grad, destroy_pdf),
    kernel("_backward_pdf_exponential", create_pdf, run_pdf_grad, destroy_pdf),
    kernel("_backward_pdf_poisson", create_pdf, run_pdf_grad, destroy_pdf),
    kernel("_backward_pdf_negative_binomial", create_pdf, run_pdf_grad, destroy_pdf),
    kernel("_backward_pdf_generalized_negative_binomial", create_pdf, run_pdf_grad, destroy_pdf),
    kernel("_backward_pdf_dirichlet", create_pdf, run_pdf_grad, destroy_pdf),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kSamplingKernels);

}  // namespace
}  // namespace mxcpu
