// The shared math of backends/common, checked on the CPU against independent references: the
// CPU and CUDA backends both instantiate these functions, so with the conformance suite (which runs
// the CPU kernels built on them) this is what "the CPU checks the math the GPU runs" rests on.
//   - half <-> float against GCC's _Float16 conversions; bfloat16 against a naive rounding;
//   - portable_log / sincos_2pi (random.h) against long double libm (within 1 / 2.5 ulp);
//   - the Philox element -> (block, lane) mapping of random.h, run through the CPU plugin's
//     _random_uniform / _random_normal / Dropout kernels, against a naive per-element version
//     (16-bit samples: the rounded float32 samples);
//   - Binary<F> on integers (x / 0, MIN / -1, py_mod's signs) and optimizer_step against the
//     formulas written out here.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common/elem.h"
#include "common/functors.h"
#include "common/half.h"
#include "common/random.h"
#include "mx/backend.h"
#include "mx/philox.h"

namespace {

using namespace mx_impl;

uint16_t f16_bits(_Float16 h) {
  uint16_t u;
  std::memcpy(&u, &h, 2);
  return u;
}
_Float16 f16_of(uint16_t u) {
  _Float16 h;
  std::memcpy(&h, &u, 2);
  return h;
}

// ---------------------------------------------------------------- float16

TEST(Half, EveryHalfToFloatMatchesFloat16AndRoundTrips) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const uint16_t h = uint16_t(b);
    const float mine = half_to_float(h), ref = float(f16_of(h));
    if (std::isnan(ref)) {
      ASSERT_TRUE(std::isnan(mine)) << std::hex << b;
      ASSERT_EQ(std::signbit(mine), std::signbit(ref)) << std::hex << b;
      const uint16_t back = float_to_half(mine);
      ASSERT_TRUE(std::isnan(float(f16_of(back)))) << std::hex << b;  // stays a NaN, sign kept
      ASSERT_EQ(back & 0x8000u, h & 0x8000u) << std::hex << b;
      continue;
    }
    ASSERT_EQ(float_bits(mine), float_bits(ref)) << std::hex << b;
    ASSERT_EQ(float_to_half(mine), h) << std::hex << b;
  }
}

void expect_float_to_half(float f) {
  const uint16_t mine = float_to_half(f), ref = f16_bits(_Float16(f));
  if (std::isnan(f)) {
    ASSERT_TRUE(std::isnan(float(f16_of(mine)))) << f;
    ASSERT_EQ(mine & 0x8000u, ref & 0x8000u) << f;
    return;
  }
  ASSERT_EQ(mine, ref) << std::hexfloat << f << " bits " << std::hex << float_bits(f);
}

TEST(Half, FloatToHalfMatchesFloat16OnADenseSample) {
  // Every 251st float bit pattern: all exponents, NaNs and infinities included.
  for (uint64_t u = 0; u <= 0xffffffffu; u += 251) expect_float_to_half(bits_float(uint32_t(u)));
  // Every half value's neighbourhood: the exact ties half-way to the next half, one float ulp on
  // either side of them, and the value itself (normals, subnormals, the largest finite).
  for (uint32_t b = 0; b < 0x7c00; ++b) {
    const float lo = half_to_float(uint16_t(b)), hi = half_to_float(uint16_t(b + 1));  // b + 1 = 0x7c00: inf
    const float tie = b + 1 == 0x7c00 ? 65520.0f : float((double(lo) + double(hi)) / 2);  // exact in float
    for (float s : {1.0f, -1.0f}) {
      expect_float_to_half(s * lo);
      expect_float_to_half(s * tie);
      expect_float_to_half(s * std::nextafter(tie, 0.0f));
      expect_float_to_half(s * std::nextafter(tie, INFINITY));
    }
  }
  // Below the smallest subnormal, overflow, infinities, NaNs.
  for (float f : {0x1p-25f, 0x1.0p-25f * 1.0000001f, 0x1p-26f, 0x1p-149f, 65504.0f, 65519.99f, 65520.0f, 1e10f,
                  INFINITY, std::numeric_limits<float>::quiet_NaN(), bits_float(0x7f800001u), bits_float(0x7fc12345u)}) {
    expect_float_to_half(f);
    expect_float_to_half(-f);
  }
}

// ---------------------------------------------------------------- bfloat16

// Naive round to nearest even: the two bfloat16 values around f (by truncation and the next one up
// in magnitude) compared by distance in double; a tie goes to the even one.
uint16_t naive_bf16(float f) {
  const uint32_t u = float_bits(f);
  const uint32_t t = u & 0xffff0000u;
  const double down = double(bits_float(t));
  const uint32_t next = t + 0x10000u;
  // The next value up is infinity past the largest finite bfloat16: it stands for 2^128 then.
  const double up = (next & 0x7fffffffu) == 0x7f800000u ? std::copysign(0x1p128, double(f)) : double(bits_float(next));
  const double dd = std::fabs(double(f) - down), du = std::fabs(up - double(f));
  if (dd < du) return uint16_t(t >> 16);
  if (du < dd) return uint16_t(next >> 16);
  return ((t >> 16) & 1u) ? uint16_t(next >> 16) : uint16_t(t >> 16);
}

TEST(BFloat16, RoundsToNearestEven) {
  auto check = [](uint32_t u) {
    const float f = bits_float(u);
    const uint16_t mine = float_to_bf16(f);
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(bf16_to_float(mine))) << std::hex << u;
      ASSERT_EQ(mine & 0x8000u, (u >> 16) & 0x8000u) << std::hex << u;
      return;
    }
    ASSERT_EQ(mine, naive_bf16(f)) << std::hex << u;
    ASSERT_EQ(float_bits(bf16_to_float(mine)), uint32_t(mine) << 16);
  };
  for (uint64_t u = 0; u <= 0xffffffffu; u += 241) check(uint32_t(u));
  for (uint32_t hi = 0; hi < 0x10000u; ++hi)  // ties and their neighbours at every bfloat16 value
    for (uint32_t lo : {0x0000u, 0x0001u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) check((hi << 16) | lo);
}

// ---------------------------------------------------------------- portable log, sin, cos

// Distance from `got` to `ref` in units of the double ulp at ref.
double ulps(double got, long double ref) {
  const double r = double(ref);
  const double a = std::fabs(r);
  const double ulp = a == 0 ? std::numeric_limits<double>::denorm_min() : std::nextafter(a, INFINITY) - a;
  return double(std::fabs((long double)got - ref) / (long double)ulp);
}

// random.h's log is not correctly rounded (glibc's: 0.52 ulp), but fdlibm's arrangement keeps it
// within one ulp on this sample. It has to be the same on every backend and close enough for
// Box-Muller; the bound keeps it from getting worse.
TEST(PortableLog, WithinOneUlpOfLongDoubleLog) {
  double worst = 0, at = 0;
  auto check = [&](double x) {
    const double e = ulps(portable_log(x), std::log((long double)x));
    if (e > worst) worst = e, at = x;
  };
  // Every value Box-Muller feeds it on float32: k / 2^24, k = 1 .. 2^24.
  for (uint32_t k = 1; k <= (1u << 24); ++k) check(double(k) * 0x1p-24);
  // float64's: 53-bit values of (0, 1], and larger arguments.
  uint64_t s = 12345;
  for (int i = 0; i < 1000000; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    check(1.0 - double(s >> 11) * 0x1p-53);
  }
  for (double x = 1; x < 1e300; x *= 1.37) check(x);
  for (double x : {0x1p-1022, 1e-300, 1e-10, 0.5, 0.7071067811865476, 1.4142135623730951, 2.0, 10.0, 1e10})
    check(x);
  EXPECT_LE(worst, 1.0) << "worst at " << std::hexfloat << at;
}

// sincos_2pi: the rounding of the reduced angle (f pi/2) and of the Taylor polynomial, 2.26 ulp at
// worst on this sample.
TEST(PortableSinCos, WithinTwoAndAHalfUlpOfLongDouble) {
  // The reference folds u into a quarter turn exactly as u * 4 = q + f (and f into [0, 1/2] as
  // 1 - f), then takes sinl / cosl of f * pi/2 in long double: the same value as sin / cos(2 pi u),
  // without the rounding of 2 pi u in long double swamping the results near their zeros.
  const long double half_pi = 1.5707963267948966192313216916397514L;
  double worst = 0, at = 0;
  auto check = [&](double u) {
    double s, c;
    sincos_2pi(u, &s, &c);
    const double t = u * 4, q = std::floor(t), f = t - q;
    long double rs, rc;
    if (f > 0.5) {  // cos(f pi/2) = sin((1 - f) pi/2): 1 - f is exact, f pi/2 near pi/2 would not be
      const long double a = (long double)(1.0 - f) * half_pi;
      rs = cosl(a), rc = sinl(a);
    } else {
      const long double a = (long double)f * half_pi;
      rs = sinl(a), rc = cosl(a);
    }
    for (int i = 0; i < int(q); ++i) {  // a quarter turn: (s, c) -> (c, -s)
      const long double ns = rc, nc = -rs;
      rs = ns, rc = nc;
    }
    const double e = std::max(ulps(s, rs), ulps(c, rc));
    if (e > worst) worst = e, at = u;
  };
  for (uint32_t k = 0; k < (1u << 24); ++k) check(double(k) * 0x1p-24);  // every float32 uniform
  uint64_t s = 777;
  for (int i = 0; i < 1000000; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    check(double(s >> 11) * 0x1p-53);
  }
  EXPECT_LE(worst, 2.5) << "worst at " << std::hexfloat << at;
}

// ---------------------------------------------------------------- the random mapping, on the CPU plugin

std::string g_error;
void host_log(int32_t, const char*, const char*) {}
void host_set_error(int32_t, const char* m) { g_error = m ? m : ""; }
int32_t host_threads() { return 1; }
const mx_host_api kHost = {sizeof(mx_host_api), MX_BACKEND_ABI_MAJOR, MX_BACKEND_ABI_MINOR, host_log, host_set_error,
                           host_threads};

// The CPU plugin, loaded directly (no libmx in between): what its kernels compute is checked here.
const mx_backend_api* cpu_plugin() {
  static const mx_backend_api* api = [] () -> const mx_backend_api* {
    void* lib = dlopen(MX_CPU_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return nullptr;
    auto init = reinterpret_cast<mx_backend_init_fn>(dlsym(lib, MX_BACKEND_ENTRY_SYMBOL));
    auto* a = new mx_backend_api{};
    a->struct_size = sizeof(*a);
    if (!init || init(&kHost, a) != 0) return nullptr;
    return a;
  }();
  return api;
}

DLTensor tensor(void* data, int64_t* shape, DLDataType t) {
  DLTensor d{};
  d.data = data;
  d.device = {kDLCPU, 0};
  d.ndim = 1;
  d.dtype = t;
  d.shape = shape;
  return d;
}

// Runs a 1-d kernel of the CPU plugin with the given attrs on (seed, offset).
void run_cpu(const char* op, std::vector<std::pair<const char*, const char*>> attrs, std::vector<DLTensor> in,
             std::vector<DLTensor> out, uint64_t seed, uint64_t offset, int32_t is_train = 0) {
  const mx_backend_api* api = cpu_plugin();
  ASSERT_NE(api, nullptr) << "cannot load " << MX_CPU_PLUGIN << ": " << g_error;
  const mx_kernel* k = api->find_kernel(op);
  ASSERT_NE(k, nullptr) << op;
  std::vector<const char*> keys, vals;
  for (auto& [key, v] : attrs) keys.push_back(key), vals.push_back(v);
  mx_kernel_args args{};
  args.struct_size = sizeof(args);
  args.op_name = op;
  args.num_attrs = int32_t(keys.size());
  args.attr_keys = keys.data();
  args.attr_vals = vals.data();
  args.num_inputs = int32_t(in.size());
  args.inputs = in.data();
  args.num_outputs = int32_t(out.size());
  args.outputs = out.data();
  void* state = nullptr;
  ASSERT_EQ(k->create(&args, &state), 0) << op << ": " << g_error;
  mx_kernel_ctx ctx{};
  ctx.struct_size = sizeof(ctx);
  ctx.rng_seed = seed;
  ctx.rng_offset = offset;
  ctx.is_train = is_train;
  ASSERT_EQ(k->run(state, &ctx, in.data(), int32_t(in.size()), out.data(), int32_t(out.size())), 0) << op << ": " << g_error;
  k->destroy(state);
}

constexpr uint64_t kSeed = 0x0123456789abcdefull, kOffset = 1000;
constexpr int64_t kN = 4099;  // not a multiple of 4: the last block is used in part

TEST(RandomMapping, Float32UniformAndNormalFollowRandomH) {
  int64_t shape[1] = {kN};
  std::vector<float> u(kN), g(kN);
  run_cpu("_random_uniform", {{"low", "-2"}, {"high", "3"}}, {}, {tensor(u.data(), shape, {kDLFloat, 32, 1})}, kSeed,
          kOffset);
  run_cpu("_random_normal", {{"loc", "1.5"}, {"scale", "0.25"}}, {}, {tensor(g.data(), shape, {kDLFloat, 32, 1})}, kSeed,
          kOffset);
  for (int64_t i = 0; i < kN; ++i) {
    // Element i: lane i % 4 of block offset + i / 4; normals pair lanes (0, 1) and (2, 3).
    const mx_philox_u32x4 r = mx_philox_block(kSeed, kOffset + uint64_t(i / 4));
    const int lane = int(i % 4), first = lane & ~1;
    const float x = mx_philox_to_unit_float(r.v[lane]);
    ASSERT_EQ(float_bits(u[size_t(i)]), float_bits(-2.0f + 5.0f * x)) << i;
    ASSERT_EQ(float_bits(u[size_t(i)]), float_bits(uniform_f32(r, lane, -2.0f, 3.0f))) << i;
    const double u1 = mx_philox_to_open_unit_float(r.v[first]), u2 = mx_philox_to_unit_float(r.v[first + 1]);
    const double rad = std::sqrt(-2.0 * portable_log(u1));
    double s, c;
    sincos_2pi(u2, &s, &c);
    const float z = float(rad * (lane == first ? c : s));
    ASSERT_EQ(float_bits(g[size_t(i)]), float_bits(1.5f + 0.25f * z)) << i;
    // and Box-Muller by libm, to an ulp or so of the float result
    const double ref = std::sqrt(-2.0 * std::log(u1)) * (lane == first ? std::cos(2 * M_PI * u2) : std::sin(2 * M_PI * u2));
    ASSERT_NEAR(g[size_t(i)], 1.5 + 0.25 * ref, 1e-6) << i;
  }
}

TEST(RandomMapping, Float64UniformAndNormalFollowRandomH) {
  int64_t shape[1] = {kN};
  std::vector<double> u(kN), g(kN);
  run_cpu("_random_uniform", {{"low", "-2"}, {"high", "3"}}, {}, {tensor(u.data(), shape, {kDLFloat, 64, 1})}, kSeed,
          kOffset);
  run_cpu("_random_normal", {{"loc", "1.5"}, {"scale", "0.25"}}, {}, {tensor(g.data(), shape, {kDLFloat, 64, 1})}, kSeed,
          kOffset);
  for (int64_t i = 0; i < kN; ++i) {
    // Element i: lanes (0, 1) or (2, 3) of block offset + i / 2.
    const mx_philox_u32x4 r = mx_philox_block(kSeed, kOffset + uint64_t(i / 2));
    const double a = mx_philox_to_unit_double(r.v[0], r.v[1]), b = mx_philox_to_unit_double(r.v[2], r.v[3]);
    ASSERT_EQ(u[size_t(i)], -2.0 + 5.0 * (i % 2 ? b : a)) << i;
    const double rad = std::sqrt(-2.0 * portable_log(1.0 - a));
    double s, c;
    sincos_2pi(b, &s, &c);
    ASSERT_EQ(g[size_t(i)], 1.5 + 0.25 * (rad * (i % 2 ? s : c))) << i;
    const double ref = std::sqrt(-2.0 * std::log(1.0 - a)) * (i % 2 ? std::sin(2 * M_PI * b) : std::cos(2 * M_PI * b));
    ASSERT_NEAR(g[size_t(i)], 1.5 + 0.25 * ref, 1e-12) << i;
  }
}

// float16 / bfloat16: element i is the float32 sample of element i (same seed, offset) rounded to
// 16 bits — checked against the plugin's own float32 output and an independent rounding
// (_Float16's for float16, a naive round-to-nearest-even for bfloat16).
TEST(RandomMapping, HalfSamplesAreTheRoundedFloat32Samples) {
  int64_t shape[1] = {kN};
  const std::vector<std::pair<const char*, std::vector<std::pair<const char*, const char*>>>> ops = {
      {"_random_uniform", {{"low", "-2"}, {"high", "3"}}},
      {"_random_normal", {{"loc", "1.5"}, {"scale", "0.25"}}},
      {"_random_normal", {{"loc", "0"}, {"scale", "30000"}}}};  // float16 overflows to +-inf here and there
  for (const auto& [op, attrs] : ops) {
    std::vector<float> f(kN);
    std::vector<uint16_t> h(kN), b(kN);
    run_cpu(op, attrs, {}, {tensor(f.data(), shape, {kDLFloat, 32, 1})}, kSeed, kOffset);
    run_cpu(op, attrs, {}, {tensor(h.data(), shape, {kDLFloat, 16, 1})}, kSeed, kOffset);
    run_cpu(op, attrs, {}, {tensor(b.data(), shape, {kDLBfloat, 16, 1})}, kSeed, kOffset);
    for (int64_t i = 0; i < kN; ++i) {
      const float x = f[size_t(i)];
      ASSERT_EQ(h[size_t(i)], f16_bits(_Float16(x))) << op << " " << i;
      const uint32_t u = float_bits(x);
      const uint16_t rne = uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);  // finite x: no NaN here
      ASSERT_EQ(b[size_t(i)], rne) << op << " " << i;
      ASSERT_EQ(h[size_t(i)], narrow_sample<f16_t>(x).bits) << op << " " << i;
    }
  }
}

TEST(RandomMapping, DropoutKeepsLaneIWhereItsUniformReachesP) {
  int64_t shape[1] = {kN};
  std::vector<float> x(kN, 2.0f), y(kN), mask(kN);
  run_cpu("Dropout", {{"p", "0.3"}, {"mode", "training"}}, {tensor(x.data(), shape, {kDLFloat, 32, 1})},
          {tensor(y.data(), shape, {kDLFloat, 32, 1}), tensor(mask.data(), shape, {kDLFloat, 32, 1})}, kSeed, kOffset,
          /*is_train=*/1);
  const float keep = float(1.0 / (1.0 - 0.3));
  for (int64_t i = 0; i < kN; ++i) {
    const mx_philox_u32x4 r = mx_philox_block(kSeed, kOffset + uint64_t(i / 4));
    const bool kept = mx_philox_to_unit_float(r.v[i % 4]) >= 0.3f;
    ASSERT_EQ(mask[size_t(i)], kept ? keep : 0.0f) << i;
    ASSERT_EQ(y[size_t(i)], kept ? float(2.0 * double(keep)) : 0.0f) << i;
  }
}

// ---------------------------------------------------------------- Binary<F> on integers

// numpy's integer division and remainder, naively: truncated quotient corrected towards -inf,
// remainder with the divisor's sign; x / 0 = x % 0 = 0 and MIN / -1 wraps (to MIN).
template <typename T>
T naive_div(T a, T b) {
  if (b == 0) return 0;
  const long double q = (long double)a / (long double)b;
  const long double t = q < 0 ? -std::floor(-q) : std::floor(q);  // C's truncation
  if (t > (long double)std::numeric_limits<T>::max()) return std::numeric_limits<T>::min();  // MIN / -1
  return T(t);
}
template <typename T>
T naive_mod(T a, T b) {
  if (b == 0) return 0;
  const long double fa = a, fb = b;
  const long double r = fa - fb * std::floor(fa / fb);  // exact: |values| < 2^63 fit a long double
  return T(r);
}

template <typename T>
void check_integer_ops() {
  const std::vector<T> vals = {T(0), T(1), T(2), T(3), T(7), T(-1), T(-2), T(-3), T(-7), std::numeric_limits<T>::min(),
                               std::numeric_limits<T>::max(), T(std::numeric_limits<T>::min() + 1),
                               T(std::numeric_limits<T>::max() - 1)};
  for (T a : vals)
    for (T b : vals) {
      if (std::is_unsigned_v<T> && (a > T(100) && a < std::numeric_limits<T>::max() - 1)) continue;
      ASSERT_EQ(Binary<kDiv>{}(a, b), naive_div(a, b)) << +a << " / " << +b;
      ASSERT_EQ(Binary<kRDiv>{}(b, a), naive_div(a, b)) << +a << " / " << +b;
      ASSERT_EQ(Binary<kMod>{}(a, b), naive_mod(a, b)) << +a << " % " << +b;
      ASSERT_EQ(Binary<kRMod>{}(b, a), naive_mod(a, b)) << +a << " % " << +b;
      ASSERT_EQ(Binary<kMax>{}(a, b), a > b ? a : b);
      ASSERT_EQ(Binary<kMin>{}(a, b), a < b ? a : b);
      ASSERT_EQ(Binary<kGt>{}(a, b), T(a > b));
      ASSERT_EQ(Binary<kLe>{}(a, b), T(a <= b));
      ASSERT_EQ(Binary<kAnd>{}(a, b), T(a && b));
      ASSERT_EQ(Binary<kXor>{}(a, b), T(bool(a) != bool(b)));
    }
}

TEST(BinaryIntegers, DivisionAndModuloFollowNumpy) {
  check_integer_ops<int8_t>();
  check_integer_ops<uint8_t>();
  check_integer_ops<int32_t>();
  check_integer_ops<int64_t>();
  // The cases by name.
  EXPECT_EQ(Binary<kDiv>{}(int32_t(7), int32_t(0)), 0);
  EXPECT_EQ(Binary<kMod>{}(int32_t(7), int32_t(0)), 0);
  EXPECT_EQ(Binary<kDiv>{}(INT32_MIN, int32_t(-1)), INT32_MIN);
  EXPECT_EQ(Binary<kDiv>{}(INT64_MIN, int64_t(-1)), INT64_MIN);
  EXPECT_EQ(Binary<kMod>{}(INT32_MIN, int32_t(-1)), 0);
  EXPECT_EQ(Binary<kMod>{}(int32_t(-7), int32_t(3)), 2);
  EXPECT_EQ(Binary<kMod>{}(int32_t(7), int32_t(-3)), -2);
  EXPECT_EQ(Binary<kMod>{}(int32_t(-7), int32_t(-3)), -1);
  EXPECT_EQ(Binary<kDiv>{}(int32_t(-7), int32_t(2)), -3);  // C's truncation, as MXNet
  EXPECT_EQ(Binary<kMod>{}(-7.5, 2.0), 0.5);
  EXPECT_EQ(Binary<kMod>{}(7.5f, -2.0f), -0.5f);
  EXPECT_EQ(Binary<kMod>{}(7.5, 0.0), 0.0);
}

// ---------------------------------------------------------------- optimizer_step

template <typename T>
void check_optimizers() {
  const T lr = T(0.1), wd = T(0.01), rescale = T(0.5), mom = T(0.9), b1 = T(0.9), b2 = T(0.999), eps = T(1e-8),
          g1 = T(0.95);
  for (T clip : {T(-1), T(0.3)})
    for (T w : {T(1.5), T(-0.25)})
      for (T g : {T(2.0), T(-0.1), T(0.0)}) {
        T gr = rescale * g;
        if (clip >= 0) gr = gr > clip ? clip : (gr < -clip ? -clip : gr);
        {  // sgd: w - lr * (clip(rescale * g) + wd * w)
          T s1 = 0, s2 = 0;
          const OptimizerHyper<T> h{kSgd, lr, wd, rescale, clip, 0, 0, 0, 0, 0, -1};
          EXPECT_EQ(optimizer_step(h, w, g, &s1, &s2), w - lr * (gr + wd * w));
        }
        {  // sgd_mom: mom = momentum * mom - lr * (g' + wd * w); w + mom
          T m = T(0.2), s2 = 0;
          const OptimizerHyper<T> h{kSgdMom, lr, wd, rescale, clip, mom, 0, 0, 0, 0, -1};
          const T want_m = mom * T(0.2) - lr * (gr + wd * w);
          EXPECT_EQ(optimizer_step(h, w, g, &m, &s2), w + want_m);
          EXPECT_EQ(m, want_m);
        }
        {  // adam: g'' = g' + wd w; mean, var; w - lr mean / (sqrt(var) + eps)
          T mean = T(0.05), var = T(0.01);
          const OptimizerHyper<T> h{kAdam, lr, wd, rescale, clip, 0, b1, b2, eps, 0, -1};
          const T gg = gr + wd * w;
          const T want_mean = b1 * T(0.05) + (T(1) - b1) * gg, want_var = b2 * T(0.01) + (T(1) - b2) * gg * gg;
          EXPECT_EQ(optimizer_step(h, w, g, &mean, &var), w - lr * want_mean / (std::sqrt(want_var) + eps));
          EXPECT_EQ(mean, want_mean);
          EXPECT_EQ(var, want_var);
        }
        for (T cw : {T(-1), T(1.0)}) {  // rmsprop: n = (1 - g1) g''^2 + g1 n; w - lr g'' / sqrt(n + eps), clipped
          T n = T(0.02), s2 = 0;
          const OptimizerHyper<T> h{kRmsprop, lr, wd, rescale, clip, 0, 0, 0, eps, g1, cw};
          const T gg = gr + wd * w;
          const T want_n = (T(1) - g1) * gg * gg + g1 * T(0.02);
          T want = w - lr * gg / std::sqrt(want_n + eps);
          if (cw >= 0) want = want > cw ? cw : (want < -cw ? -cw : want);
          EXPECT_EQ(optimizer_step(h, w, g, &n, &s2), want);
          EXPECT_EQ(n, want_n);
        }
      }
  // Clipping lets NaN through (as MXNet's clip does).
  T s1 = 0, s2 = 0;
  const OptimizerHyper<T> h{kSgd, lr, 0, 1, T(1), 0, 0, 0, 0, 0, -1};
  EXPECT_TRUE(std::isnan(optimizer_step(h, T(1), std::numeric_limits<T>::quiet_NaN(), &s1, &s2)));
}

TEST(Optimizer, StepFollowsMXNetUpdateRules) {
  check_optimizers<float>();
  check_optimizers<double>();
}

}  // namespace
