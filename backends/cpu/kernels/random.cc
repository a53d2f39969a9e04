// The random family (core/op/defs/random.cc): _random_uniform, _random_normal from Philox 4x32-10
// (mx/philox.h), with backends/common/random.h's distributions, bit-identical on every backend.
// Element i depends only on (seed, offset, i): float32 takes lane i % 4 of block offset + i / 4;
// float64 takes two lanes of block offset + i / 2. Normals use Box-Muller on lane pairs.
// float16 / bfloat16 element i is the float32 sample of element i rounded to 16 bits
// (random.h's narrow_sample), so it equals the rounding of the float32 sample.
#include <string>

#include "../../common/random.h"
#include "../cpu_backend.h"

namespace mxcpu {
namespace {

struct State {
  double a, b;  // (low, high) or (loc, scale)
  bool normal;
  int32_t dtype;
};

template <bool NORMAL>
int create(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->outputs[0].dtype);
  if (!dispatch_float(dtype, [](auto) {}))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dtype) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  auto* st = new State{};
  st->normal = NORMAL;
  st->dtype = dtype;
  st->a = attr_float(args, NORMAL ? "loc" : "low");
  st->b = attr_float(args, NORMAL ? "scale" : "high");
  *out = st;
  return 0;
}

// float32, float16, bfloat16 (S): the float32 samples of each block, narrowed to S.
template <typename S>
void fill_f32(const State& st, uint64_t seed, uint64_t offset, S* o, int64_t n) {
  const float a = float(st.a), b = float(st.b);
  for (int64_t base = 0; base < n; base += 4) {
    float v[4];
    block_f32(mx_philox_block(seed, offset + uint64_t(base / 4)), st.normal, a, b, v);
    for (int l = 0; l < 4 && base + l < n; ++l) o[base + l] = narrow_sample<S>(v[l]);
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
  void* o = data_of(out[0]);
  switch (st.dtype) {
    case MX_FLOAT64: fill_f64(st, ctx->rng_seed, ctx->rng_offset, static_cast<double*>(o), n); break;
    case MX_FLOAT16: fill_f32(st, ctx->rng_seed, ctx->rng_offset, static_cast<f16_t*>(o), n); break;
    case MX_BFLOAT16: fill_f32(st, ctx->rng_seed, ctx->rng_offset, static_cast<bf16_t*>(o), n); break;
    default: fill_f32(st, ctx->rng_seed, ctx->rng_offset, static_cast<float*>(o), n); break;
  }
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
