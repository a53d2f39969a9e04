// Conformance cases of the _linalg_* ops (core/op/defs/linalg.cc). References are naive float64
// loops written from MXNet's documented definitions (Cholesky-Banachiewicz, Gauss-Jordan, Gaussian
// elimination, Householder LQ, cyclic Jacobi eigenvalues), independent of BLAS and LAPACK. Inputs
// of the factorizations are fixed well-conditioned `values` (SPD A A^T + n I, triangular factors
// with a dominant diagonal) so that float32 stays within the harness's tolerance and finite
// differences are smooth. The dedicated TESTs below check what a Case cannot: the symmetric
// gradients of potrf and syevd (they read one triangle of a symmetric input, so their gradient is
// the derivative along symmetric perturbations), and the errors of non-factorizable inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "../unit/test_util.h"
#include "dedicated.h"
#include "harness.h"

namespace conformance {
namespace {

using mx::test::Arr;
using MatFn = std::function<Vec(const Vec&)>;

// ---------------------------------------------------------------- naive matrix helpers (row-major)

Vec matmul(const Vec& a, const Vec& b, int64_t m, int64_t k, int64_t n) {
  Vec c(size_t(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) c[size_t(i * n + j)] += a[size_t(i * k + p)] * b[size_t(p * n + j)];
  return c;
}

Vec transposed(const Vec& a, int64_t r, int64_t c) {
  Vec t(a.size());
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) t[size_t(j * r + i)] = a[size_t(i * c + j)];
  return t;
}

// The lower (or upper) triangle of the n x n a with the diagonal, the rest zero.
Vec triangle_of(const Vec& a, int64_t n, bool lower) {
  Vec t(a.size(), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      if (lower ? j <= i : j >= i) t[size_t(i * n + j)] = a[size_t(i * n + j)];
  return t;
}

// Gauss-Jordan inverse with partial pivoting.
Vec inverse_of(Vec a, int64_t n) {
  Vec inv(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) inv[size_t(i * n + i)] = 1;
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::fabs(a[size_t(r * n + c)]) > std::fabs(a[size_t(p * n + c)])) p = r;
    for (int64_t j = 0; j < n; ++j) {
      std::swap(a[size_t(c * n + j)], a[size_t(p * n + j)]);
      std::swap(inv[size_t(c * n + j)], inv[size_t(p * n + j)]);
    }
    const double d = a[size_t(c * n + c)];
    for (int64_t j = 0; j < n; ++j) a[size_t(c * n + j)] /= d, inv[size_t(c * n + j)] /= d;
    for (int64_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[size_t(r * n + c)];
      for (int64_t j = 0; j < n; ++j) a[size_t(r * n + j)] -= f * a[size_t(c * n + j)], inv[size_t(r * n + j)] -= f * inv[size_t(c * n + j)];
    }
  }
  return inv;
}

// {sign, log|det|} by Gaussian elimination with partial pivoting.
std::pair<double, double> slogdet_of(Vec a, int64_t n) {
  double sign = 1, logabs = 0;
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::fabs(a[size_t(r * n + c)]) > std::fabs(a[size_t(p * n + c)])) p = r;
    if (p != c) {
      sign = -sign;
      for (int64_t j = 0; j < n; ++j) std::swap(a[size_t(c * n + j)], a[size_t(p * n + j)]);
    }
    const double d = a[size_t(c * n + c)];
    if (d == 0) return {0.0, -HUGE_VAL};
    sign *= d > 0 ? 1 : -1;
    logabs += std::log(std::fabs(d));
    for (int64_t r = c + 1; r < n; ++r) {
      const double f = a[size_t(r * n + c)] / d;
      for (int64_t j = c; j < n; ++j) a[size_t(r * n + j)] -= f * a[size_t(c * n + j)];
    }
  }
  return {sign, logabs};
}

// Cholesky-Banachiewicz from the lower triangle of a (upper: from the upper one, giving U = L^T).
Vec cholesky(const Vec& a, int64_t n, bool lower) {
  auto at = [&](int64_t i, int64_t j) { return lower ? a[size_t(i * n + j)] : a[size_t(j * n + i)]; };
  Vec l(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = at(i, j);
      for (int64_t p = 0; p < j; ++p) s -= l[size_t(i * n + p)] * l[size_t(j * n + p)];
      l[size_t(i * n + j)] = i == j ? std::sqrt(s) : s / l[size_t(j * n + j)];
    }
  return lower ? l : transposed(l, n, n);
}

// Householder LQ of the m x n a (m <= n) as LAPACK's gelqf computes it (reflector k maps row k of
// the reduced matrix onto beta e_k with beta = -sign(alpha) |x|): {Q, L}.
std::pair<Vec, Vec> householder_lq(Vec a, int64_t m, int64_t n) {
  Vec p(size_t(n * n), 0.0);  // H_k ... H_0, accumulated
  for (int64_t i = 0; i < n; ++i) p[size_t(i * n + i)] = 1;
  for (int64_t k = 0; k < m; ++k) {
    double norm = 0;
    for (int64_t j = k; j < n; ++j) norm += a[size_t(k * n + j)] * a[size_t(k * n + j)];
    norm = std::sqrt(norm);
    const double alpha = a[size_t(k * n + k)], beta = alpha >= 0 ? -norm : norm, tau = (beta - alpha) / beta;
    Vec v(size_t(n), 0.0);
    v[size_t(k)] = 1;
    for (int64_t j = k + 1; j < n; ++j) v[size_t(j)] = a[size_t(k * n + j)] / (alpha - beta);
    for (int64_t i = 0; i < m; ++i) {  // a <- a H
      double s = 0;
      for (int64_t j = k; j < n; ++j) s += a[size_t(i * n + j)] * v[size_t(j)];
      for (int64_t j = k; j < n; ++j) a[size_t(i * n + j)] -= tau * s * v[size_t(j)];
    }
    for (int64_t j = 0; j < n; ++j) {  // p <- H p
      double s = 0;
      for (int64_t i = k; i < n; ++i) s += v[size_t(i)] * p[size_t(i * n + j)];
      for (int64_t i = k; i < n; ++i) p[size_t(i * n + j)] -= tau * v[size_t(i)] * s;
    }
  }
  Vec q(p.begin(), p.begin() + m * n), l(size_t(m * m), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j <= i; ++j) l[size_t(i * m + j)] = a[size_t(i * n + j)];
  return {q, l};
}

// Cyclic Jacobi eigendecomposition of the symmetric matrix whose lower triangle is in a: {U, lambda}
// with eigenvalues ascending, eigenvectors in the rows of U, each with its largest entry (the first
// of ties) positive.
std::pair<Vec, Vec> jacobi_eigh(const Vec& a_in, int64_t n) {
  Vec a(a_in), v(size_t(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) a[size_t(i * n + j)] = a[size_t(j * n + i)];
  for (int64_t i = 0; i < n; ++i) v[size_t(i * n + i)] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) off += a[size_t(i * n + j)] * a[size_t(i * n + j)];
    if (off < 1e-30) break;
    for (int64_t p = 0; p < n; ++p)
      for (int64_t q = p + 1; q < n; ++q) {
        const double apq = a[size_t(p * n + q)];
        if (apq == 0) continue;
        const double theta = (a[size_t(q * n + q)] - a[size_t(p * n + p)]) / (2 * apq);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int64_t k = 0; k < n; ++k) {  // a <- a J
          const double akp = a[size_t(k * n + p)], akq = a[size_t(k * n + q)];
          a[size_t(k * n + p)] = c * akp - s * akq;
          a[size_t(k * n + q)] = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {  // a <- J^T a
          const double apk = a[size_t(p * n + k)], aqk = a[size_t(q * n + k)];
          a[size_t(p * n + k)] = c * apk - s * aqk;
          a[size_t(q * n + k)] = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {  // columns of v are the eigenvectors
          const double vkp = v[size_t(k * n + p)], vkq = v[size_t(k * n + q)];
          v[size_t(k * n + p)] = c * vkp - s * vkq;
          v[size_t(k * n + q)] = s * vkp + c * vkq;
        }
      }
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return a[size_t(x * n + x)] < a[size_t(y * n + y)]; });
  Vec u(size_t(n * n)), lambda(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    const int64_t col = order[size_t(r)];
    lambda[size_t(r)] = a[size_t(col * n + col)];
    int64_t big = 0;
    for (int64_t j = 1; j < n; ++j)
      if (std::fabs(v[size_t(j * n + col)]) > std::fabs(v[size_t(big * n + col)])) big = j;
    const double sign = v[size_t(big * n + col)] < 0 ? -1 : 1;
    for (int64_t j = 0; j < n; ++j) u[size_t(r * n + j)] = sign * v[size_t(j * n + col)];
  }
  return {u, lambda};
}

// Applies f to each of the `count` matrices (in_size values each) of x; the results concatenated.
Vec per_batch(const Vec& x, int64_t count, const MatFn& f) {
  const int64_t in_size = int64_t(x.size()) / count;
  Vec y;
  for (int64_t b = 0; b < count; ++b) {
    const Vec r = f(Vec(x.begin() + b * in_size, x.begin() + (b + 1) * in_size));
    y.insert(y.end(), r.begin(), r.end());
  }
  return y;
}
// The same for two inputs with matching batches.
Vec per_batch2(const Vec& x, const Vec& z, int64_t count, const std::function<Vec(const Vec&, const Vec&)>& f) {
  const int64_t xs = int64_t(x.size()) / count, zs = int64_t(z.size()) / count;
  Vec y;
  for (int64_t b = 0; b < count; ++b) {
    const Vec r = f(Vec(x.begin() + b * xs, x.begin() + (b + 1) * xs), Vec(z.begin() + b * zs, z.begin() + (b + 1) * zs));
    y.insert(y.end(), r.begin(), r.end());
  }
  return y;
}

// ---------------------------------------------------------------- deterministic inputs

Vec draws(int64_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(static_cast<size_t>(n));
  for (double& e : v) e = u(rng);
  return v;
}
// `count` SPD matrices X X^T + n I.
Vec spd(int64_t count, int64_t n, uint64_t seed) {
  const Vec x = draws(count * n * n, -1, 1, seed);
  return per_batch(x, count, [n](const Vec& m) {
    Vec a = matmul(m, transposed(m, n, n), n, n, n);
    for (int64_t i = 0; i < n; ++i) a[size_t(i * n + i)] += double(n);
    return a;
  });
}
// `count` random symmetric matrices (for syevd; their eigenvalues are well apart for these seeds).
Vec symmetric(int64_t count, int64_t n, uint64_t seed) {
  const Vec x = draws(count * n * n, -2, 2, seed);
  return per_batch(x, count, [n](const Vec& m) {
    Vec a(m);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) a[size_t(i * n + j)] = m[size_t(i * n + j)] + m[size_t(j * n + i)];
    return a;
  });
}
// Matrices whose `lower` (or upper) triangle is a well-conditioned factor (diagonal in [1, 2],
// off-diagonal in [-0.5, 0.5]) and whose other triangle holds junk the ops must not read.
Vec triangular(int64_t count, int64_t n, bool lower, uint64_t seed) {
  Vec a = draws(count * n * n, -0.5, 0.5, seed);
  const Vec diag = draws(count * n, 1, 2, seed + 1);
  for (int64_t b = 0; b < count; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double& e = a[size_t((b * n + i) * n + j)];
        if (i == j) e = diag[size_t(b * n + i)];
        else if (lower ? j > i : j < i) e = 7 + e;  // junk
      }
  return a;
}
// Diagonally dominant (invertible, well-conditioned) matrices; the sign of det differs by matrix.
Vec invertible(int64_t count, int64_t n, uint64_t seed) {
  Vec a = draws(count * n * n, -1, 1, seed);
  for (int64_t b = 0; b < count; ++b)
    for (int64_t i = 0; i < n; ++i) a[size_t((b * n + i) * n + i)] += (b + i) % 2 ? -3.0 : 3.0;
  return a;
}

const char* bstr(bool b) { return b ? "True" : "False"; }

// ---------------------------------------------------------------- cases

// gemm2 (or gemm, with C) on inputs whose matrix rows lie on `axis`: a naive loop over output
// coordinates, the reduction index replacing the row (or column) coordinate of each operand.
Case gemm_case(bool with_c, bool ta, bool tb, Shape sa, Shape sb, int axis, double alpha, double beta) {
  const int nd = int(sa.size()), ax = axis < 0 ? axis + nd : axis;
  Shape so = sa;
  so[size_t(ax)] = ta ? sa.back() : sa[size_t(ax)];
  so.back() = tb ? sb[size_t(ax)] : sb.back();
  const int64_t k = ta ? sa[size_t(ax)] : sa.back();
  Attrs attrs = {{"transpose_a", bstr(ta)}, {"transpose_b", bstr(tb)}, {"alpha", std::to_string(alpha)}, {"axis", std::to_string(axis)}};
  std::vector<InputSpec> in = {{sa}, {sb}};
  if (with_c) {
    attrs.push_back({"beta", std::to_string(beta)});
    in.push_back({so});
  }
  return Case{with_c ? "_linalg_gemm" : "linalg_gemm2", attrs, in,
              [=](const std::vector<Vec>& x) {
                Vec y(size_t(numel(so)));
                for (int64_t o = 0; o < numel(so); ++o) {
                  const auto c = unravel(o, so);
                  double s = 0;
                  for (int64_t p = 0; p < k; ++p) {
                    auto ca = c, cb = c;
                    ca[size_t(ax)] = ta ? p : c[size_t(ax)];
                    ca.back() = ta ? c[size_t(ax)] : p;
                    cb[size_t(ax)] = tb ? c.back() : p;
                    cb.back() = tb ? p : c.back();
                    s += x[0][size_t(ravel(ca, sa))] * x[1][size_t(ravel(cb, sb))];
                  }
                  y[size_t(o)] = alpha * s + (with_c ? beta * x[2][size_t(o)] : 0.0);
                }
                return y;
              },
              true, !with_c, {}, 0, false};
}

// trmm / trsm: out = alpha op(T) B or alpha B op(T), T the `lower` triangle of A (inverted for trsm).
Case triangular_case(bool solve, bool transpose, bool right, bool lower, double alpha) {
  const int64_t count = 2, n = 3, other = 4;
  const Shape sa{count, n, n}, sb = right ? Shape{count, other, n} : Shape{count, n, other};
  return Case{solve ? "_linalg_trsm" : "linalg_trmm",
              {{"transpose", bstr(transpose)}, {"rightside", bstr(right)}, {"lower", bstr(lower)}, {"alpha", std::to_string(alpha)}},
              {{sa, -2, 2, false, triangular(count, n, lower, 11)}, {sb}},
              [=](const std::vector<Vec>& x) {
                return per_batch2(x[0], x[1], count, [=](const Vec& a, const Vec& b) {
                  Vec t = triangle_of(a, n, lower);
                  if (transpose) t = transposed(t, n, n);
                  if (solve) t = inverse_of(t, n);
                  Vec y = right ? matmul(b, t, other, n, n) : matmul(t, b, n, n, other);
                  for (double& e : y) e *= alpha;
                  return y;
                });
              },
              true, false, {}, 0, false};
}

Case syrk_case(bool transpose, double alpha) {
  const int64_t count = 2, r = 3, c = 4, n = transpose ? c : r;
  return Case{"_linalg_syrk", {{"transpose", bstr(transpose)}, {"alpha", std::to_string(alpha)}}, {{{count, r, c}}},
              [=](const std::vector<Vec>& x) {
                return per_batch(x[0], count, [=](const Vec& a) {
                  Vec y = transpose ? matmul(transposed(a, r, c), a, c, r, c) : matmul(a, transposed(a, r, c), r, c, r);
                  for (double& e : y) e *= alpha;
                  (void)n;
                  return y;
                });
              },
              true, false, {}, 0, false};
}

// Entries (row, col) that extracttrian / maketrian address, in order (from MXNet's examples:
// row by row; offset > 0 above the diagonal, < 0 below it, 0 the lower or upper triangle).
std::vector<std::pair<int64_t, int64_t>> trian_entries(int64_t n, int64_t offset, bool lower) {
  std::vector<std::pair<int64_t, int64_t>> e;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const bool in = offset > 0 ? j - i >= offset : offset < 0 ? i - j >= -offset : (lower ? j <= i : j >= i);
      if (in) e.push_back({i, j});
    }
  return e;
}

Case extracttrian_case(int64_t offset, bool lower) {
  const int64_t count = 2, n = 4;
  return Case{"_linalg_extracttrian", {{"offset", std::to_string(offset)}, {"lower", bstr(lower)}}, {{{count, n, n}}},
              [=](const std::vector<Vec>& x) {
                return per_batch(x[0], count, [=](const Vec& a) {
                  Vec y;
                  for (auto [i, j] : trian_entries(n, offset, lower)) y.push_back(a[size_t(i * n + j)]);
                  return y;
                });
              },
              true, false, {}, 0, false};
}

Case maketrian_case(int64_t offset, bool lower) {
  const int64_t count = 2, m = 3, n = m + std::abs(offset), len = m * (m + 1) / 2;
  return Case{"linalg_maketrian", {{"offset", std::to_string(offset)}, {"lower", bstr(lower)}}, {{{count, len}}},
              [=](const std::vector<Vec>& x) {
                return per_batch(x[0], count, [=](const Vec& t) {
                  Vec y(size_t(n * n), 0.0);
                  size_t k = 0;
                  for (auto [i, j] : trian_entries(n, offset, lower)) y[size_t(i * n + j)] = t[k++];
                  return y;
                });
              },
              true, false, {}, 0, false};
}

Case extractdiag_case(int64_t offset) {
  const int64_t count = 2, n = 4;
  return Case{"_linalg_extractdiag", {{"offset", std::to_string(offset)}}, {{{count, n, n}}},
              [=](const std::vector<Vec>& x) {
                return per_batch(x[0], count, [=](const Vec& a) {
                  Vec y;
                  for (int64_t i = 0; i < n; ++i)
                    for (int64_t j = 0; j < n; ++j)
                      if (j - i == offset) y.push_back(a[size_t(i * n + j)]);
                  return y;
                });
              },
              true, false, {}, 0, false};
}

Case makediag_case(int64_t offset) {
  const int64_t count = 2, m = 3, n = m + std::abs(offset);
  return Case{"linalg_makediag", {{"offset", std::to_string(offset)}}, {{{count, m}}},
              [=](const std::vector<Vec>& x) {
                return per_batch(x[0], count, [=](const Vec& v) {
                  Vec y(size_t(n * n), 0.0);
                  size_t k = 0;
                  for (int64_t i = 0; i < n; ++i)
                    for (int64_t j = 0; j < n; ++j)
                      if (j - i == offset) y[size_t(i * n + j)] = v[k++];
                  return y;
                });
              },
              true, false, {}, 0, false};
}

// A one-input op on `values` of `count` n x n matrices, the reference applied per matrix.
Case square_case(const char* op, Attrs attrs, int64_t count, int64_t n, Vec values, MatFn f, bool grad,
                 size_t output = 0) {
  return Case{op, std::move(attrs), {{{count, n, n}, -2, 2, false, std::move(values)}},
              [=](const std::vector<Vec>& x) { return per_batch(x[0], count, f); }, grad, false, {}, output, false};
}

std::vector<Case> linalg_cases() {
  const int64_t n = 3;
  std::vector<Case> c;
  // Products.
  c.push_back(gemm_case(false, false, false, {2, 3, 4}, {2, 4, 5}, -2, 1.0, 0));
  c.push_back(gemm_case(false, true, false, {2, 4, 3}, {2, 4, 5}, -2, 0.5, 0));
  c.push_back(gemm_case(false, false, true, {3, 4}, {5, 4}, -2, -1.5, 0));
  c.push_back(gemm_case(false, true, true, {2, 4, 3, 2}, {2, 5, 3, 4}, 1, 2.0, 0));  // rows on axis 1, axis 2 a batch
  c.push_back(gemm_case(true, false, false, {2, 3, 4}, {2, 4, 5}, -2, 1.0, 1.0));
  c.push_back(gemm_case(true, true, true, {2, 4, 3}, {2, 5, 4}, -2, 0.75, -2.0));
  c.push_back(gemm_case(true, false, false, {3, 2, 4}, {4, 2, 5}, 0, 1.5, 0.5));
  for (bool solve : {false, true})
    for (bool transpose : {false, true})
      for (bool right : {false, true}) c.push_back(triangular_case(solve, transpose, right, !(transpose && right), solve ? 1.5 : 0.5));
  c.push_back(triangular_case(true, false, false, false, -2.0));
  c.push_back(syrk_case(false, 1.0));
  c.push_back(syrk_case(true, 0.5));
  // Diagonals and triangles.
  c.push_back(square_case("_linalg_sumlogdiag", {}, 2, n, triangular(2, n, true, 3),
                          [=](const Vec& a) {
                            double s = 0;
                            for (int64_t i = 0; i < n; ++i) s += std::log(a[size_t(i * n + i)]);
                            return Vec{s};
                          },
                          true));
  for (int64_t off : {0, 1, -2}) c.push_back(extractdiag_case(off)), c.push_back(makediag_case(off));
  for (auto [off, lower] : std::vector<std::pair<int64_t, bool>>{{0, true}, {0, false}, {1, true}, {-1, false}, {-2, true}})
    c.push_back(extracttrian_case(off, lower)), c.push_back(maketrian_case(off, lower));
  // Factorizations. potrf's and syevd's gradients are checked along symmetric directions below.
  for (bool lower : {true, false}) {
    c.push_back(square_case("_linalg_potrf", {{"lower", bstr(lower)}}, 2, n, spd(2, n, 5),
                            [=](const Vec& a) { return cholesky(a, n, lower); }, false));
    c.push_back(square_case("linalg_potri", {{"lower", bstr(lower)}}, 2, n, triangular(2, n, lower, 7),
                            [=](const Vec& f) {
                              const Vec t = triangle_of(f, n, lower);
                              return lower ? inverse_of(matmul(t, transposed(t, n, n), n, n, n), n)
                                           : inverse_of(matmul(transposed(t, n, n), t, n, n, n), n);
                            },
                            true));
  }
  c.push_back(square_case("_linalg_inverse", {}, 3, n, invertible(3, n, 9), [=](const Vec& a) { return inverse_of(a, n); }, true));
  c.push_back(square_case("linalg_det", {}, 3, n, invertible(3, n, 13),
                          [=](const Vec& a) {
                            auto [s, l] = slogdet_of(a, n);
                            return Vec{s * std::exp(l)};
                          },
                          true));
  for (size_t out : {0, 1})
    c.push_back(square_case("_linalg_slogdet", {}, 3, n, invertible(3, n, 15),
                            [=](const Vec& a) {
                              auto [s, l] = slogdet_of(a, n);
                              return Vec{out == 0 ? s : l};
                            },
                            out == 1, out));
  for (size_t out : {0, 1})
    c.push_back(Case{"_linalg_gelqf", {}, {{{2, 2, 4}, -2, 2, false, draws(16, -2, 2, 21)}},
                     [=](const std::vector<Vec>& x) {
                       return per_batch(x[0], 2, [=](const Vec& a) {
                         auto [q, l] = householder_lq(a, 2, 4);
                         return out == 0 ? q : l;
                       });
                     },
                     true, false, {}, out, false});
  for (size_t out : {0, 1})
    c.push_back(square_case("linalg_syevd", {}, 2, n, symmetric(2, n, 23),
                            [=](const Vec& a) {
                              auto [u, lambda] = jacobi_eigh(a, n);
                              return out == 0 ? u : lambda;
                            },
                            false, out));
  return c;
}

// ---------------------------------------------------------------- C API helpers of the dedicated tests

Arr make64(const Shape& s, const Vec& v) {
  Arr a(s, MX_FLOAT64);
  a.set(v);
  return a;
}

std::vector<Arr> invoke(const char* op, const std::vector<mx_ndarray_t>& in, const Attrs& attrs) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : attrs) k.push_back(key.c_str()), v.push_back(val.c_str());
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  const int rc = mx_imperative_invoke(op, int32_t(in.size()), in.data(), &nout, &outs, int32_t(k.size()), k.data(), v.data());
  EXPECT_EQ(rc, 0) << op << ": " << mx_get_last_error();
  std::vector<Arr> r;
  for (int32_t i = 0; rc == 0 && i < nout; ++i) r.emplace_back(outs[i]);
  return r;
}

// sum(w * output `out` of op(x)).
double weighted(const char* op, const Attrs& attrs, const Shape& s, const Vec& x, size_t out, const Vec& w) {
  Arr a = make64(s, x);
  const Vec y = invoke(op, {a.get()}, attrs).at(out).to_vector<double>();
  double l = 0;
  for (size_t i = 0; i < y.size(); ++i) l += w[i] * y[i];
  return l;
}

// The autograd gradient of sum(w * output `out`) with respect to the input.
Vec autograd_of(const char* op, const Attrs& attrs, const Shape& s, const Vec& x, size_t out, const Vec& w) {
  Arr a = make64(s, x), g = make64(s, Vec(x.size(), 0.0));
  mx_ndarray_t hv[] = {a.get()}, hg[] = {g.get()};
  int32_t req[] = {MX_GRAD_WRITE};
  EXPECT_MX_OK(mx_autograd_mark_variables(1, hv, req, hg));
  EXPECT_MX_OK(mx_autograd_set_recording(1, nullptr));
  std::vector<Arr> y = invoke(op, {a.get()}, attrs);
  EXPECT_MX_OK(mx_autograd_set_recording(0, nullptr));
  Arr head = make64(y.at(out).shape(), w);
  mx_ndarray_t heads[] = {y.at(out).get()}, head_grads[] = {head.get()};
  EXPECT_MX_OK(mx_autograd_backward(1, heads, head_grads, 0, 0, 1));
  return g.to_vector<double>();
}

// Checks the gradient of a symmetric-input op against central differences along the symmetric
// directions E_ij + E_ji (i > j) and E_ii: the directional derivative is G_ij + G_ji (G_ii).
void expect_symmetric_gradient(const char* op, const Attrs& attrs, int64_t count, int64_t n, const Vec& x, size_t out) {
  const Shape s{count, n, n};
  Arr probe = make64(s, x);
  const size_t out_size = size_t(numel(invoke(op, {probe.get()}, attrs).at(out).shape()));
  const Vec w = draws(int64_t(out_size), -1, 1, 31);
  const Vec g = autograd_of(op, attrs, s, x, out, w);
  const double eps = 1e-6;
  for (int64_t b = 0; b < count; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j <= i; ++j) {
        const size_t ij = size_t((b * n + i) * n + j), ji = size_t((b * n + j) * n + i);
        EXPECT_NEAR(g[ij], g[ji], 1e-9) << op << ": gradient not symmetric at " << b << "," << i << "," << j;
        Vec plus = x, minus = x;
        plus[ij] += eps, minus[ij] -= eps;
        if (i != j) plus[ji] += eps, minus[ji] -= eps;
        const double fd = (weighted(op, attrs, s, plus, out, w) - weighted(op, attrs, s, minus, out, w)) / (2 * eps);
        const double got = i == j ? g[ij] : g[ij] + g[ji];
        EXPECT_NEAR(got, fd, 1e-7 + 1e-6 * std::fabs(fd)) << op << " output " << out << " at " << b << "," << i << "," << j;
      }
}


void expect_parts(const std::string& msg, std::vector<std::string> parts) {
  for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

}  // namespace

TEST(Linalg, PotrfAndSyevdGradientsMatchFiniteDifferencesAlongSymmetricDirections) {
  const int64_t count = 2, n = 3;
  // "_linalg_potrf" backpropagates through "_backward_linalg_potrf", "_linalg_syevd" through
  // "_backward_linalg_syevd".
  for (const char* lower : {"True", "False"}) expect_symmetric_gradient("_linalg_potrf", {{"lower", lower}}, count, n, spd(count, n, 41), 0);
  const Vec sym = symmetric(count, n, 43);
  expect_symmetric_gradient("_linalg_syevd", {}, count, n, sym, 0);
  expect_symmetric_gradient("_linalg_syevd", {}, count, n, sym, 1);
}

TEST(Linalg, FactorizationFailuresNameTheOpAndTheBatchIndex) {
  const int64_t n = 2;
  // Matrix 1 of 3 has a negative eigenvalue ([[1, 2], [2, 1]]): not positive definite.
  Arr a = make64({3, n, n}, {4, 1, 1, 3, 1, 2, 2, 1, 2, 0, 0, 2});
  expect_parts(error_of("_linalg_potrf", {a.get()}), {"_linalg_potrf", "batch index 1", "not positive definite"});
  // Matrix 2 of 3 is singular (rank 1).
  Arr s = make64({3, n, n}, {1, 0, 0, 1, 2, 1, 1, 2, 1, 2, 2, 4});
  expect_parts(error_of("_linalg_inverse", {s.get()}), {"_linalg_inverse", "batch index 2", "singular"});
  // A factor with a zero on its diagonal (matrix 0).
  Arr f = make64({2, n, n}, {0, 0, 1, 1, 1, 0, 0, 1});
  expect_parts(error_of("_linalg_potri", {f.get()}), {"_linalg_potri", "batch index 0"});
  // det of a singular matrix is 0 (no error), slogdet gives sign 0 and log|det| -inf, as in MXNet.
  const Vec det = invoke("_linalg_det", {s.get()}, {}).at(0).to_vector<double>();
  EXPECT_NEAR(det[0], 1.0, 1e-12);
  EXPECT_EQ(det[2], 0.0);
  auto sl = invoke("_linalg_slogdet", {s.get()}, {});
  ASSERT_EQ(sl.size(), 2u);
  EXPECT_EQ(sl[0].to_vector<double>()[2], 0.0);
  EXPECT_EQ(sl[1].to_vector<double>()[2], -HUGE_VAL);
  // Schema errors name the op and the shapes.
  Arr rect = make64({2, 3}, Vec(6, 1.0)), b = make64({4, 5}, Vec(20, 1.0));
  expect_parts(error_of("_linalg_potrf", {rect.get()}), {"_linalg_potrf", "(2,3)", "square"});
  expect_parts(error_of("_linalg_gemm2", {rect.get(), b.get()}), {"_linalg_gemm2", "(2,3)", "(4,5)"});
  expect_parts(error_of("_linalg_gemm2", {rect.get(), rect.get()}, {{"axis", "-3"}}), {"_linalg_gemm2", "axis"});
  expect_parts(error_of("_linalg_gelqf", {make64({3, 2}, Vec(6, 1.0)).get()}), {"_linalg_gelqf", "(3,2)"});
  expect_parts(error_of("_linalg_maketrian", {make64({4}, Vec(4, 1.0)).get()}), {"_linalg_maketrian", "(4)"});
  expect_parts(error_of("_linalg_extractdiag", {make64({3, 3}, Vec(9, 1.0)).get()}, {{"offset", "3"}}),
               {"_linalg_extractdiag", "offset"});
  Arr ints({2, 2}, MX_INT32);
  EXPECT_FALSE(error_of("_linalg_inverse", {ints.get()}).empty());
}

Family linalg_family() {
  const char* sym = "conformance/cases_linalg.cc:Linalg.PotrfAndSyevdGradientsMatchFiniteDifferencesAlongSymmetricDirections";
  return {linalg_cases(),
          {},
          {{"_backward_linalg_potrf", "_linalg_potrf", sym},
           {"_backward_linalg_syevd", "_linalg_syevd", sym},
           {"_backward_linalg_gelqf", "_linalg_gelqf", nullptr},
           {"_backward_linalg_det", "_linalg_det", nullptr},
           {"_backward_linalg_slogdet", "_linalg_slogdet", nullptr}}};
}

}  // namespace conformance
