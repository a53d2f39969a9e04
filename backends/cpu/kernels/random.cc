// The random family (core/op/defs/random.cc): _random_uniform, _random_normal from Philox 4x32-10
// (mx/philox.h), with backends/common/random.h's distributions, bit-identical on every backend.
// Element i depends only on (seed, offset, i): float32 takes lane i % 4 of block offset + i / 4;
// float64 takes two lanes of block offset + i / 2. Normals use Box-Muller on lane pairs.
#include <string>

#include "../../common/random.h"
#include "../cpu_backend.h"

namespace mxcpu {
namespace {

struct State {
  double a, b;  // (low, high) or (loc, scale)
  bool normal;
  bool f64;
};

template <bool NORMAL>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->outputs[0].dtype);
  if (dtype != MX_FLOAT32 && dtype != MX_FLOAT64)
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": cpu supports float32 and float64 only");
  auto* st = new State{};
  st->normal = NORMAL;
  st->f64 = dtype == MX_FLOAT64;
  st->a = attr_float(args, NORMAL ? "loc" : "low");
  st->b = attr_float(args, NORMAL ? "scale" : "high");
  *out = st;
  return 0;
}

void fill_f32(const State& st, uint64_t seed, uint64_t offset, float* o, int64_t n) {
  const float a = float(st.a), b = float(st.b);
  for (int64_t base = 0; base < n; base += 4) {
    const mx_philox_u32x4 r = mx_philox_block(seed, offset + uint64_t(base / 4));
    float v[4];
    if (st.normal) {
      normal_pair_f32(r, 0, a, b, &v[0], &v[1]);
      normal_pair_f32(r, 2, a, b, &v[2], &v[3]);
    } else {
      for (int l = 0; l < 4; ++l) v[l] = uniform_f32(r, l, a, b);
    }
    for (int l = 0; l < 4 && base + l < n; ++l) o[base + l] = v[l];
  }
}

void fill_f64(const State& st, uint64_t seed, uint64_t offset, double* o, int64_t n) {
  for (int64_t base = 0; base < n; base += 2) {
    const mx_philox_u32x4 r = mx_philox_block(seed, offset + uint64_t(base / 2));
    double v[2];
    if (st.normal) normal_pair_f64(r, st.a, st.b, &v[0], &v[1]);
    else uniform_pair_f64(r, st.a, st.b, &v[0], &v[1]);
    for (int l = 0; l < 2 && base + l < n; ++l) o[base + l] = v[l];
  }
}

int run(void* state, const mx_kernel_ctx* ctx, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  const int64_t n = numel(out[0]);
  if (st.f64) fill_f64(st, ctx->rng_seed, ctx->rng_offset, reinterpret_cast<double*>(data_of(out[0])), n);
  else fill_f32(st, ctx->rng_seed, ctx->rng_offset, reinterpret_cast<float*>(data_of(out[0])), n);
  return 0;
}

void destroy(void* s) { delete static_cast<State*>(s); }

const mx_kernel kRandomKernels[] = {
    kernel("_random_uniform", create<false>, run, destroy),
    kernel("_random_normal", create<true>, run, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kRandomKernels);

}  // namespace
}  // namespace mxcpu
