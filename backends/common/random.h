// Distributions over the Philox stream of mx/philox.h, bit-identical on every backend.
//
// The contract (philox.h) fixes which counter block and lane each element draws; this header fixes
// the arithmetic that turns the bits into a value. Uniforms need only exactly rounded multiply and
// add (mul_rn / add_rn: never fused). Normals need log, sqrt, sin and cos: sqrt is exactly rounded
// everywhere, but libm's log / sin / cos differ between glibc and CUDA by an ulp here and there, so
// they are computed here from polynomials in double with the same operations on host and device
// (portable_log, sincos_2pi, portable_exp, portable_lgamma). The samplers with a variable number
// of draws (gamma, Poisson, ...) give each element its own Philox sub-stream: see ElementStream.
#pragma once

#include <cmath>
#include <cstdint>

#include "elem.h"
#include "hd.h"
#include "mx/philox.h"

namespace mx_impl {

// Natural log of a positive normal double, within ~1 ulp (fdlibm's e_log.c arrangement): x = m 2^e
// with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f), and
// log(1 + f) = f - (f^2/2 - s (f^2/2 + R)) with R = z (2/3 + 2/5 z + ... + 2/23 z^10), z = s^2.
MX_HD inline double portable_log(double x) {
  uint64_t u = double_bits(x);
  int64_t e = int64_t((u >> 52) & 0x7ff) - 1023;
  double m = bits_double((u & 0xfffffffffffffull) | 0x3ff0000000000000ull);  // [1, 2)
  if (m > 1.4142135623730950488) {
    m = mul_rn(m, 0.5);  // exact
    ++e;
  }
  const double f = m - 1.0;  // exact (Sterbenz)
  const double s = f / add_rn(2.0, f);
  const double z = mul_rn(s, s);
  const double c[11] = {0.66666666666666666667, 0.4,
                        0.28571428571428571429, 0.22222222222222222222,
                        0.18181818181818181818, 0.15384615384615384615,
                        0.13333333333333333333, 0.11764705882352941176,
                        0.10526315789473684211, 0.095238095238095238095,
                        0.086956521739130434783};
  double p = c[10];
  for (int k = 9; k >= 0; --k) p = add_rn(mul_rn(p, z), c[k]);
  const double r = mul_rn(z, p);
  const double hfsq = mul_rn(mul_rn(0.5, f), f);
  // ln 2 split in two so e ln 2 stays exact enough next to log m.
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double de = double(e);
  const double t = add_rn(mul_rn(s, add_rn(hfsq, r)), mul_rn(de, ln2_lo));
  return mul_rn(de, ln2_hi) - ((hfsq - t) - f);
}

// sin and cos of x in [0, pi/4] from their Taylor series (terms to x^19 / x^18).
MX_HD inline void small_sincos(double x, double* s, double* c) {
  const double x2 = mul_rn(x, x);
  // sin: x (1 - x^2/3! + x^4/5! - ...), cos: 1 - x^2/2! + x^4/4! - ...
  const double sc[10] = {1.0,
                         -1.6666666666666666667e-01,
                         8.3333333333333333333e-03,
                         -1.9841269841269841270e-04,
                         2.7557319223985890653e-06,
                         -2.5052108385441718775e-08,
                         1.6059043836821614599e-10,
                         -7.6471637318198164759e-13,
                         2.8114572543455207632e-15,
                         -8.2206352466243297170e-18};
  const double cc[10] = {1.0,
                         -0.5,
                         4.1666666666666666667e-02,
                         -1.3888888888888888889e-03,
                         2.4801587301587301587e-05,
                         -2.7557319223985890653e-07,
                         2.0876756987868098979e-09,
                         -1.1470745597729724714e-11,
                         4.7794773323873852974e-14,
                         -1.5619206968586226463e-16};
  double ps = sc[9], pc = cc[9];
  for (int k = 8; k >= 0; --k) {
    ps = add_rn(mul_rn(ps, x2), sc[k]);
    pc = add_rn(mul_rn(pc, x2), cc[k]);
  }
  *s = mul_rn(x, ps);
  *c = pc;
}

// sin(2 pi u) and cos(2 pi u) for u in [0, 1): quarter turns are exact in binary (u * 4), the
// rest is folded into [0, pi/4].
MX_HD inline void sincos_2pi(double u, double* s, double* c) {
  const double t = mul_rn(u, 4.0);  // exact
  const double q = std::floor(t);
  double f = t - q;  // exact, in [0, 1)
  const double half_pi = 1.5707963267948966192;
  double sf, cf;
  if (f > 0.5) {
    double sg, cg;
    small_sincos(mul_rn(1.0 - f, half_pi), &sg, &cg);  // 1 - f exact
    sf = cg;
    cf = sg;
  } else {
    small_sincos(mul_rn(f, half_pi), &sf, &cf);
  }
  switch (int(q)) {
    case 0: *s = sf; *c = cf; break;
    case 1: *s = cf; *c = -sf; break;
    case 2: *s = -sf; *c = -cf; break;
    default: *s = -cf; *c = sf; break;
  }
}

// ---------------------------------------------------------------- the distributions
// float32: element i takes lane i % 4 of block offset + i / 4. Normals pair lanes (0,1), (2,3).
// float64: element i takes lanes (0,1) or (2,3) of block offset + i / 2 (53 bits each).
// float16 / bfloat16: the float32 sample of element i rounded to 16 bits (narrow_sample below).

// Lane l's uniform in [a, b).
MX_HD inline float uniform_f32(const mx_philox_u32x4& r, int l, float a, float b) {
  return add_rn(a, mul_rn(b - a, mx_philox_to_unit_float(r.v[l])));
}

// Lanes (p, p + 1) as two normals N(loc, scale) (Box-Muller).
MX_HD inline void normal_pair_f32(const mx_philox_u32x4& r, int p, float loc, float scale, float* v0, float* v1) {
  const double u1 = mx_philox_to_open_unit_float(r.v[p]);  // (0, 1]: log is finite
  const double u2 = mx_philox_to_unit_float(r.v[p + 1]);
  const double rad = std::sqrt(mul_rn(-2.0, portable_log(u1)));
  double s, c;
  sincos_2pi(u2, &s, &c);
  *v0 = add_rn(loc, mul_rn(scale, float(mul_rn(rad, c))));
  *v1 = add_rn(loc, mul_rn(scale, float(mul_rn(rad, s))));
}

// The two uniforms in [a, b) of a block.
MX_HD inline void uniform_pair_f64(const mx_philox_u32x4& r, double a, double b, double* v0, double* v1) {
  *v0 = add_rn(a, mul_rn(b - a, mx_philox_to_unit_double(r.v[0], r.v[1])));
  *v1 = add_rn(a, mul_rn(b - a, mx_philox_to_unit_double(r.v[2], r.v[3])));
}

MX_HD inline void normal_pair_f64(const mx_philox_u32x4& r, double loc, double scale, double* v0, double* v1) {
  const double u0 = 1.0 - mx_philox_to_unit_double(r.v[0], r.v[1]);  // (0, 1]
  const double u1 = mx_philox_to_unit_double(r.v[2], r.v[3]);
  const double rad = std::sqrt(mul_rn(-2.0, portable_log(u0)));
  double s, c;
  sincos_2pi(u1, &s, &c);
  *v0 = add_rn(loc, mul_rn(scale, mul_rn(rad, c)));
  *v1 = add_rn(loc, mul_rn(scale, mul_rn(rad, s)));
}

// The four float32 samples of a block, lane l in v[l]: uniforms in [a, b) (normal false) or
// normals N(a, b) pairing lanes (0,1) and (2,3) (normal true): uniform_f32 / normal_pair_f32.
MX_HD inline void block_f32(const mx_philox_u32x4& r, bool normal, float a, float b, float v[4]) {
  if (normal) {
    normal_pair_f32(r, 0, a, b, &v[0], &v[1]);
    normal_pair_f32(r, 2, a, b, &v[2], &v[3]);
  } else {
    for (int l = 0; l < 4; ++l) v[l] = uniform_f32(r, l, a, b);
  }
}

// float16 / bfloat16 (S = f16_t / bf16_t; float gives the float32 sample itself): element i is the
// float32 sample of element i (lane i % 4 of block offset + i / 4, the float32 formulas above)
// rounded to 16 bits (round to nearest even, Elem<S>::store). So a 16-bit sample is exactly the
// rounding of the float32 sample for the same (seed, offset), and a 16-bit op uses as many blocks
// as a float32 one of the same size.
template <typename S>
MX_HD inline S narrow_sample(float v) {
  return Elem<S>::store(v);
}

// ---------------------------------------------------------------- samplers with a variable number of draws
// Exponential, gamma, Poisson, the negative binomials, randint, the _sample_* ops, multinomial and
// shuffle: element i of such an op owns Philox counter block offset + i (its schema's random_blocks
// reserves one block per element) and its k-th 32-bit draw is lane k % 4 of the 128-bit counter
// (offset + i in words 0-1, k / 4 in words 2-3): the element's own sub-stream. The first four draws
// are mx_philox_block(seed, offset + i) itself. A rejection loop may take any number of draws without
// touching another element's counters or another call's (those differ in words 0-1), so a value
// depends only on (seed, offset, i) whatever the thread count or the device. Values are computed in
// double with the portable functions of this header (never libm's exp / log / lgamma) and rounded
// to the output dtype at the end: a float32 sample is the rounding of the float64 one.
MX_HD inline double quiet_nan() { return bits_double(0x7ff8000000000000ull); }

struct ElementStream {
  uint64_t seed, block, refill = 0;
  int lane = 0;
  mx_philox_u32x4 r;
  MX_HD ElementStream(uint64_t seed_, uint64_t block_) : seed(seed_), block(block_), r(mx_philox_block(seed_, block_)) {}
  MX_HD uint32_t next() {
    if (lane == 4) {
      ++refill;
      mx_philox_u32x4 c;
      c.v[0] = uint32_t(block);
      c.v[1] = uint32_t(block >> 32);
      c.v[2] = uint32_t(refill);
      c.v[3] = uint32_t(refill >> 32);
      r = mx_philox4x32_10(c, uint32_t(seed), uint32_t(seed >> 32));
      lane = 0;
    }
    return r.v[lane++];
  }
  MX_HD uint64_t next64() {
    const uint64_t hi = next();
    return (hi << 32) | next();
  }
  // [0, 1) with 53 bits.
  MX_HD double unit() {
    const uint32_t a = next();
    return mx_philox_to_unit_double(a, next());
  }
  // (0, 1]: safe for log.
  MX_HD double open_unit() { return 1.0 - unit(); }
  // One standard normal (Box-Muller's cosine half).
  MX_HD double normal() {
    const double u0 = open_unit(), u1 = unit();
    double s, c;
    sincos_2pi(u1, &s, &c);
    return mul_rn(std::sqrt(mul_rn(-2.0, portable_log(u0))), c);
  }
};

// e^x within ~1 ulp: x = k ln2 + r with |r| <= ln2 / 2 (ln 2 split so k ln2_hi is exact), e^r from
// its Taylor series to r^14, scaled by 2^k in two exact steps (k may reach the subnormal range).
MX_HD inline double portable_exp(double x) {
  if (x != x) return x;
  if (x > 709.782712893384) return HUGE_VAL;
  if (x < -745.2) return 0.0;
  const double k = std::floor(add_rn(mul_rn(x, 1.4426950408889634074), 0.5));
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  const double r = (x - mul_rn(k, ln2_hi)) - mul_rn(k, ln2_lo);
  double p = 1.0 / 87178291200.0;  // 1/14!
  const double inv[14] = {1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                          1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0};
  for (int j = 13; j >= 0; --j) p = add_rn(mul_rn(p, r), inv[j]);
  const int ki = int(k), k1 = ki / 2, k2 = ki - k1;
  const double s1 = bits_double(uint64_t(int64_t(k1) + 1023) << 52), s2 = bits_double(uint64_t(int64_t(k2) + 1023) << 52);
  return mul_rn(mul_rn(p, s1), s2);
}

// log Gamma(x) for x > 0: shifted up to x >= 12 (log of the product of the shifts, exact while the
// product stays below 2^53) and Stirling's series there (terms to 1/x^11, error < 1e-15).
MX_HD inline double portable_lgamma(double x) {
  if (!(x > 0)) return x == 0 ? HUGE_VAL : x - x;  // 0: +inf; negative or NaN: NaN
  if (x > 1e300) return HUGE_VAL;
  double shift = 1.0;
  while (x < 12.0) {
    shift = mul_rn(shift, x);
    x = add_rn(x, 1.0);
  }
  const double z = 1.0 / x, z2 = mul_rn(z, z);
  // 1/(12x) - 1/(360x^3) + 1/(1260x^5) - 1/(1680x^7) + 1/(1188x^9) - 691/(360360x^11)
  const double c[6] = {1.0 / 12, -1.0 / 360, 1.0 / 1260, -1.0 / 1680, 1.0 / 1188, -691.0 / 360360};
  double s = c[5];
  for (int j = 4; j >= 0; --j) s = add_rn(mul_rn(s, z2), c[j]);
  const double half_log_2pi = 0.91893853320467274178;
  const double lg = add_rn(add_rn(mul_rn(x - 0.5, portable_log(x)) - x, half_log_2pi), mul_rn(s, z));
  return shift == 1.0 ? lg : lg - portable_log(shift);
}

// Exp(lam) (rate lam > 0): -log(U) / lam with U in (0, 1].
MX_HD inline double sample_exponential(ElementStream& st, double lam) {
  if (!(lam > 0)) return lam == 0 ? HUGE_VAL : quiet_nan();
  return -portable_log(st.open_unit()) / lam;
}

// Gamma(alpha, scale beta) by Marsaglia and Tsang (2000): d = alpha - 1/3, c = 1/sqrt(9d); draw a
// normal x until v = (1 + c x)^3 > 0 and log U < x^2/2 + d - d v + d log v; the value is d v.
// alpha < 1: Gamma(alpha + 1) U^(1/alpha). Invalid parameters give NaN.
MX_HD inline double sample_gamma(ElementStream& st, double alpha, double beta) {
  if (!(alpha > 0) || !(beta >= 0) || alpha == HUGE_VAL) return quiet_nan();
  const bool boost = alpha < 1;
  const double d = (boost ? alpha + 1.0 : alpha) - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(mul_rn(9.0, d));
  double v;
  for (;;) {
    double x, t;
    do {
      x = st.normal();
      t = add_rn(1.0, mul_rn(c, x));
    } while (t <= 0);
    v = mul_rn(mul_rn(t, t), t);
    const double u = st.open_unit();
    const double x2 = mul_rn(x, x);
    if (u < 1.0 - mul_rn(0.0331, mul_rn(x2, x2))) break;  // the quick squeeze
    if (portable_log(u) < add_rn(mul_rn(0.5, x2), mul_rn(d, add_rn(1.0 - v, portable_log(v))))) break;
  }
  double g = mul_rn(d, v);
  if (boost) g = mul_rn(g, portable_exp(portable_log(st.open_unit()) / alpha));
  return mul_rn(g, beta);
}

// Poisson(lam): lam < 10 by Knuth's product of uniforms (count until the product falls below
// e^-lam); lam >= 10 by Hormann's transformed rejection PTRS (1993), which takes ~1.2 pairs of
// uniforms whatever lam. lam = 0 gives 0, lam = inf gives inf, lam < 0 or NaN gives NaN.
MX_HD inline double sample_poisson(ElementStream& st, double lam) {
  if (!(lam >= 0)) return quiet_nan();
  if (lam == 0) return 0.0;
  if (lam == HUGE_VAL) return lam;
  if (lam < 10) {
    const double limit = portable_exp(-lam);
    double prod = st.unit(), k = 0;
    while (prod >= limit && prod > 0) {
      prod = mul_rn(prod, st.unit());
      k += 1;
    }
    return k;
  }
  const double slam = std::sqrt(lam), loglam = portable_log(lam);
  const double b = add_rn(0.931, mul_rn(2.53, slam));
  const double a = add_rn(-0.059, mul_rn(0.02483, b));
  const double inv_alpha = add_rn(1.1239, 1.1328 / (b - 3.4));
  const double vr = 0.9277 - 3.6224 / (b - 2.0);
  const double log_inv_alpha = portable_log(inv_alpha);
  for (;;) {
    const double u = st.unit() - 0.5, v = st.unit();
    const double us = 0.5 - std::fabs(u);
    const double k = std::floor(add_rn(add_rn(mul_rn(add_rn(mul_rn(2.0, a) / us, b), u), lam), 0.43));
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    const double lhs = add_rn(portable_log(v), log_inv_alpha) - portable_log(add_rn(a / mul_rn(us, us), b));
    const double rhs = add_rn(-lam, mul_rn(k, loglam)) - portable_lgamma(k + 1.0);
    if (v > 0 && lhs <= rhs) return k;
  }
}

// Negative binomial (MXNet's k, p: failures before the k-th success of probability p, mean
// k (1 - p) / p): Poisson(Gamma(k, (1 - p) / p)).
MX_HD inline double sample_negative_binomial(ElementStream& st, double k, double p) {
  if (!(k >= 0) || !(p > 0) || !(p <= 1)) return quiet_nan();
  if (k == 0 || p == 1) return 0.0;
  return sample_poisson(st, sample_gamma(st, k, (1.0 - p) / p));
}

// Generalized negative binomial (mean mu, dispersion alpha = 1 / k): Poisson(Gamma(1 / alpha, alpha mu));
// alpha = 0 is Poisson(mu).
MX_HD inline double sample_generalized_negative_binomial(ElementStream& st, double mu, double alpha) {
  if (!(mu >= 0) || !(alpha >= 0)) return quiet_nan();
  if (alpha == 0) return sample_poisson(st, mu);
  if (mu == 0) return 0.0;
  return sample_poisson(st, sample_gamma(st, 1.0 / alpha, mul_rn(alpha, mu)));
}

// Uniform integer in [low, high) (low < high): low + (64 random bits mod (high - low)); the modulo
// bias is below (high - low) / 2^64.
MX_HD inline int64_t sample_randint(ElementStream& st, int64_t low, int64_t high) {
  const uint64_t range = uint64_t(high) - uint64_t(low);
  return int64_t(uint64_t(low) + st.next64() % range);
}

// The distributions of the element samplers by name: the _random_X ops (scalar parameters) and
// the _sample_X ops (a parameter pair per element) draw through this one switch on every backend.
enum class Dist { kUniform, kNormal, kExponential, kGamma, kPoisson, kNegativeBinomial, kGeneralizedNegativeBinomial };

// One sample of `dist` with parameters (a, b): uniform [a, b) (element sampler: 53-bit uniform),
// normal N(a, b^2), exponential rate a, gamma shape a scale b, Poisson a, negative binomial
// (k = a, p = b), generalized negative binomial (mu = a, alpha = b).
MX_HD inline double sample_dist(Dist dist, ElementStream& st, double a, double b) {
  switch (dist) {
    case Dist::kUniform: return add_rn(a, mul_rn(b - a, st.unit()));
    case Dist::kNormal: return add_rn(a, mul_rn(b, st.normal()));
    case Dist::kExponential: return sample_exponential(st, a);
    case Dist::kGamma: return sample_gamma(st, a, b);
    case Dist::kPoisson: return sample_poisson(st, a);
    case Dist::kNegativeBinomial: return sample_negative_binomial(st, a, b);
    default: return sample_generalized_negative_binomial(st, a, b);
  }
}

// Dropout's keep decision for lane l: kept when the uniform is >= p.
MX_HD inline bool keep_lane(const mx_philox_u32x4& r, int l, float p) { return mx_philox_to_unit_float(r.v[l]) >= p; }

}  // namespace mx_impl
