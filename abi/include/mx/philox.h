/* Philox 4x32-10 counter-based random numbers (Salmon et al., SC'11, "Random123").
 *
 * Part of the contract, not a convenience: every backend draws random numbers from the (seed,
 * offset) pair the host hands to a kernel, so CPU and CUDA kernels — and any third-party backend —
 * produce identical streams. Element i of a random op draws from counter block (offset + i / 4),
 * lane i % 4, with key = seed (float32; float16 / bfloat16 samples are the float32 sample of the
 * same element rounded to 16 bits; float64 takes two lanes of block offset + i / 2). Plain C99, usable from CUDA device code (MX_PHILOX_FN). */
#ifndef MX_PHILOX_H_
#define MX_PHILOX_H_

#include <stdint.h>

#if defined(__CUDACC__)
#define MX_PHILOX_FN static inline __host__ __device__
#else
#define MX_PHILOX_FN static inline
#endif

typedef struct mx_philox_u32x4 { uint32_t v[4]; } mx_philox_u32x4;

MX_PHILOX_FN uint32_t mx_philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

/* One 4x32-10 block: 10 rounds with the standard Random123 multipliers and Weyl key increments. */
MX_PHILOX_FN mx_philox_u32x4 mx_philox4x32_10(mx_philox_u32x4 ctr, uint32_t k0, uint32_t k1) {
  int r;
  for (r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mx_philox_mulhilo(0xD2511F53u, ctr.v[0], &hi0);
    uint32_t lo1 = mx_philox_mulhilo(0xCD9E8D57u, ctr.v[2], &hi1);
    mx_philox_u32x4 next;
    next.v[0] = hi1 ^ ctr.v[1] ^ k0;
    next.v[1] = lo1;
    next.v[2] = hi0 ^ ctr.v[3] ^ k1;
    next.v[3] = lo0;
    ctr = next;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return ctr;
}

/* The block for 128-bit counter `block` (low 64 bits used) under a 64-bit seed. */
MX_PHILOX_FN mx_philox_u32x4 mx_philox_block(uint64_t seed, uint64_t block) {
  mx_philox_u32x4 c;
  c.v[0] = (uint32_t)block;
  c.v[1] = (uint32_t)(block >> 32);
  c.v[2] = 0;
  c.v[3] = 0;
  return mx_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* Uniform in [0, 1) from 24 random bits (exact in float32). */
MX_PHILOX_FN float mx_philox_to_unit_float(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
/* Uniform in (0, 1] (safe for log in Box-Muller). */
MX_PHILOX_FN float mx_philox_to_open_unit_float(uint32_t x) {
  return ((float)(x >> 8) + 1.0f) * (1.0f / 16777216.0f);
}
/* Uniform in [0, 1) with 53 bits from two draws (exact in float64). */
MX_PHILOX_FN double mx_philox_to_unit_double(uint32_t a, uint32_t b) {
  uint64_t bits = (((uint64_t)a << 32) | b) >> 11;
  return (double)bits * (1.0 / 9007199254740992.0);
}

#endif /* MX_PHILOX_H_ */
