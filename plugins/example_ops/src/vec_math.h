// exp and erfc in plain double arithmetic, so that loops over them vectorise: libm's exp, erf and
// tanh are opaque calls that keep a loop scalar (and gelu 5-10x slower than a SIMD loop).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

// On x86-64 a function marked EXAMPLE_OPS_SIMD_CLONES is compiled twice, for the baseline (SSE2)
// and for x86-64-v3 (AVX2 + FMA), and the loader picks the one the CPU runs: 4 doubles per
// instruction instead of 2, with no -march that would keep the library off older machines.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EXAMPLE_OPS_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define EXAMPLE_OPS_SIMD_CLONES
#endif

namespace example_ops::vmath {

// e^x within 2 ulp of libm's; 0 below -708 (where e^x < 3.3e-308: a flush to zero), +inf above ln(DBL_MAX),
// NaN for NaN.
inline double exp(double x_in) {
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;  // ln 2 split so n * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  const double x = std::min(std::max(x_in, -708.0), 709.782712893384);  // n in [-1021, 1024]
  // n = round(x / ln 2), and its bits: the low 12 bits of `shifted` hold n (two's complement).
  const double shifted = x * kLog2e + kRound;
  const double n = shifted - kRound;
  const double r = (x - n * kLn2Hi) - n * kLn2Lo;  // |r| <= ln2 / 2
  // e^r by Taylor to degree 13: the remainder is below 1e-17 on |r| <= 0.347.
  const double p =
      1 + r * (1 + r * (1 / 2. + r * (1 / 6. + r * (1 / 24. + r * (1 / 120. + r * (1 / 720. + r * (1 / 5040. +
      r * (1 / 40320. + r * (1 / 362880. + r * (1 / 3628800. + r * (1 / 39916800. + r * (1 / 479001600. +
      r * (1 / 6227020800.)))))))))))));
  // 2^n = 2^(n-1) * 2, 2^(n-1) from bits: n - 1 + 1023 in the exponent field, within [1, 2046].
  const uint64_t half_scale = (std::bit_cast<uint64_t>(shifted) + 1022) << 52;
  const double e = p * std::bit_cast<double>(half_scale) * 2.0;
  return x_in < -708.0 ? 0.0 : x_in > 709.782712893384 ? HUGE_VAL : e;  // selects, not branches
}

// erfc(z) for z >= 0 with relative error below 1.2e-7 everywhere, tails included (Numerical
// Recipes' erfcc, a Chebyshev fit of the exponent): enough for float32 results, not for float64.
inline double erfc_nonnegative(double z) {
  const double t = 1.0 / (1.0 + 0.5 * z);
  const double poly =
      -1.26551223 +
      t * (1.00002368 +
           t * (0.37409196 +
                t * (0.09678418 +
                     t * (-0.18628806 +
                          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + poly);
}

}  // namespace example_ops::vmath
