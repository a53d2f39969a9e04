// Distributions over the Philox stream of mx/philox.h, bit-identical on every backend.
//
// The contract (philox.h) fixes which counter block and lane each element draws; this header fixes
// the arithmetic that turns the bits into a value. Uniforms need only exactly rounded multiply and
// add (mul_rn / add_rn: never fused). Normals need log, sqrt, sin and cos: sqrt is exactly rounded
// everywhere, but libm's log / sin / cos differ between glibc and CUDA by an ulp here and there, so
// they are computed here from polynomials in double with the same operations on host and device.
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

// Dropout's keep decision for lane l: kept when the uniform is >= p.
MX_HD inline bool keep_lane(const mx_philox_u32x4& r, int l, float p) { return mx_philox_to_unit_float(r.v[l]) >= p; }

}  // namespace mx_impl
