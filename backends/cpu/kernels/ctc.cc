// CTCLoss (core/op/defs/ctc.cc): per sample, softmax over the alphabet, then the forward (alpha)
// and backward (beta) recursions over the label extended with blanks, in log space and float64.
// Outputs: the loss -log p(label | data) (N,) and its gradient with respect to data (T, N, C),
// softmax - posterior occupancy of each class, zero past a sample's length.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

double log_add(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  const double m = std::max(a, b);
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

struct Ctc {
  int32_t dtype;
  bool data_lengths, label_lengths, blank_first;
};

int create_ctc(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (dt != MX_FLOAT32 && dt != MX_FLOAT64)
    return error(MX_ERR_UNSUPPORTED, std::string("CTCLoss: unsupported dtype ") + dtype_name(dt) + " on cpu");
  *out = new Ctc{dt, attr_bool(args, "use_data_lengths"), attr_bool(args, "use_label_lengths"),
                 std::string(attr(args, "blank_label")) == "first"};
  return 0;
}
void destroy_ctc(void* s) { delete static_cast<Ctc*>(s); }

// Element i of any numeric array, as a double.
double value_at(const DLTensor& t, int64_t i) {
  double v = 0;
  dispatch_numeric(dtype_flag(t.dtype), [&](auto tag) {
    using S = decltype(tag);
    v = double(Elem<S>::load(reinterpret_cast<const S*>(data_of(t))[i]));
  });
  return v;
}

// Loss and gradient of sample n. x: data (T, N, C); grad: (T, N, C) of the same type.
template <typename S>
double ctc_sample(const S* x, S* grad, int64_t n, int64_t T, int64_t N, int64_t C, int64_t len,
                  const std::vector<int64_t>& label, int64_t blank) {
  auto at = [&](int64_t t, int64_t c) { return (t * N + n) * C + c; };
  // log softmax over the alphabet at each step
  std::vector<double> logy(size_t(std::max<int64_t>(len, 1) * C));
  for (int64_t t = 0; t < len; ++t) {
    double mx = kNegInf, sum = 0;
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, double(x[at(t, c)]));
    for (int64_t c = 0; c < C; ++c) sum += std::exp(double(x[at(t, c)]) - mx);
    for (int64_t c = 0; c < C; ++c) logy[size_t(t * C + c)] = double(x[at(t, c)]) - mx - std::log(sum);
  }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) grad[at(t, c)] = S(0);
  // extended label: blank, l1, blank, l2, ..., blank
  const int64_t L = int64_t(label.size()), E = 2 * L + 1;
  auto ext = [&](int64_t s) { return s % 2 == 0 ? blank : label[size_t(s / 2)]; };
  if (len == 0) return L == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  // alpha[t][s]: log prob of the prefixes ending in state s at t (emission at t included);
  // beta[t][s]: log prob of emitting the rest after t from state s (emission at t excluded).
  std::vector<double> alpha(size_t(len * E), kNegInf), beta(size_t(len * E), kNegInf);
  auto A = [&](int64_t t, int64_t s) -> double& { return alpha[size_t(t * E + s)]; };
  auto B = [&](int64_t t, int64_t s) -> double& { return beta[size_t(t * E + s)]; };
  // may state s be entered from s - 2 (skipping a blank between two different labels)?
  auto skip = [&](int64_t s) { return s >= 2 && ext(s) != blank && ext(s) != ext(s - 2); };
  A(0, 0) = logy[size_t(blank)];
  if (E > 1) A(0, 1) = logy[size_t(ext(1))];
  for (int64_t t = 1; t < len; ++t)
    for (int64_t s = 0; s < E; ++s) {
      double v = A(t - 1, s);
      if (s >= 1) v = log_add(v, A(t - 1, s - 1));
      if (skip(s)) v = log_add(v, A(t - 1, s - 2));
      A(t, s) = v == kNegInf ? kNegInf : v + logy[size_t(t * C + ext(s))];
    }
  B(len - 1, E - 1) = 0;
  if (E > 1) B(len - 1, E - 2) = 0;
  for (int64_t t = len - 2; t >= 0; --t)
    for (int64_t s = 0; s < E; ++s) {
      double v = kNegInf;
      for (int64_t to = s; to <= std::min(s + 2, E - 1); ++to)
        if (to == s || to == s + 1 || skip(to)) {
          const double b = B(t + 1, to);
          if (b != kNegInf) v = log_add(v, b + logy[size_t((t + 1) * C + ext(to))]);
        }
      B(t, s) = v;
    }
  const double logp = E > 1 ? log_add(A(len - 1, E - 1), A(len - 1, E - 2)) : A(len - 1, 0);
  if (logp == kNegInf) return std::numeric_limits<double>::infinity();  // no alignment: gradient left 0
  std::vector<double> occupancy(static_cast<size_t>(C));
  for (int64_t t = 0; t < len; ++t) {
    std::fill(occupancy.begin(), occupancy.end(), kNegInf);
    for (int64_t s = 0; s < E; ++s) {
      double& o = occupancy[size_t(ext(s))];
      o = log_add(o, A(t, s) + B(t, s));
    }
    for (int64_t c = 0; c < C; ++c)
      grad[at(t, c)] = S(std::exp(logy[size_t(t * C + c)]) - std::exp(occupancy[size_t(c)] - logp));
  }
  return -logp;
}

template <typename S>
int ctc(const Ctc& p, const DLTensor* in, DLTensor* out) {
  const DLTensor &data = in[0], &labels = in[1];
  const int64_t T = data.shape[0], N = data.shape[1], C = data.shape[2], maxl = labels.shape[1];
  const DLTensor* data_len = p.data_lengths ? &in[2] : nullptr;
  const DLTensor* label_len = p.label_lengths ? &in[p.data_lengths ? 3 : 2] : nullptr;
  const int64_t blank = p.blank_first ? 0 : C - 1;
  const double pad = p.blank_first ? 0 : -1;
  // Read and check every sample's lengths and labels first: errors, not crashes, on bad values.
  std::vector<int64_t> lens(static_cast<size_t>(N));
  std::vector<std::vector<int64_t>> seqs(static_cast<size_t>(N));
  for (int64_t n = 0; n < N; ++n) {
    const double tl = data_len ? value_at(*data_len, n) : double(T);
    if (!(tl >= 0 && tl <= double(T)))
      return error(MX_ERR_INVALID_ARGUMENT, "CTCLoss: data_lengths[" + std::to_string(n) + "] = " + std::to_string(tl) +
                                                " is outside [0, " + std::to_string(T) + "]");
    lens[size_t(n)] = int64_t(tl);
    int64_t ll = maxl;
    if (label_len) {
      const double v = value_at(*label_len, n);
      if (!(v >= 0 && v <= double(maxl)))
        return error(MX_ERR_INVALID_ARGUMENT, "CTCLoss: label_lengths[" + std::to_string(n) + "] = " +
                                                  std::to_string(v) + " is outside [0, " + std::to_string(maxl) + "]");
      ll = int64_t(v);
    } else {
      for (int64_t j = 0; j < maxl; ++j)
        if (value_at(labels, n * maxl + j) == pad) {
          ll = j;
          break;
        }
    }
    for (int64_t j = 0; j < ll; ++j) {
      const double v = value_at(labels, n * maxl + j);
      const int64_t c = v >= 0 && v < double(C) ? int64_t(v) : -1;  // NaN and out of range: -1
      if (double(c) != v || c < 0 || c == blank)
        return error(MX_ERR_INVALID_ARGUMENT, "CTCLoss: label[" + std::to_string(n) + ", " + std::to_string(j) + "] = " +
                                                  std::to_string(v) + " is not a class other than the blank (" +
                                                  std::to_string(blank) + ") among " + std::to_string(C));
      seqs[size_t(n)].push_back(c);
    }
  }
  const S* x = reinterpret_cast<const S*>(data_of(data));
  S* loss = reinterpret_cast<S*>(data_of(out[0]));
  S* grad = reinterpret_cast<S*>(data_of(out[1]));
  parallel_for(N, 2, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n)
      loss[n] = S(ctc_sample<S>(x, grad, n, T, N, C, lens[size_t(n)], seqs[size_t(n)], blank));
  });
  return 0;
}

int run_ctc(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const Ctc& p = *static_cast<const Ctc*>(state);
  return p.dtype == MX_FLOAT64 ? ctc<double>(p, in, out) : ctc<float>(p, in, out);
}

const mx_kernel kCtcKernels[] = {
    kernel("CTCLoss", create_ctc, run_ctc, destroy_ctc),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kCtcKernels);

}  // namespace
}  // namespace mxcpu
