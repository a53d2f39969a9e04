// _random_uniform and _random_normal on the GPU (backends/cpu/kernels/random.cc), bit-identical to
// the CPU for the same (ctx->rng_seed, ctx->rng_offset): both draw through backends/common/random.h.
// One thread per Philox block: float32 element i is lane i % 4 of block rng_offset + i / 4 (normals
// pair lanes (0,1) and (2,3)); float64 element i is lanes (0,1) or (2,3) of block rng_offset + i / 2.
// float16 / bfloat16 element i is the float32 sample of element i rounded to 16 bits (random.h's
// block_f32 + narrow_sample, as the CPU). A thread writes only the elements < n of its block.
#include <cstdint>
#include <string>

#include "../../common/random.h"
#include "launch.cuh"

namespace mxcuda {
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
                                         " on cuda (float32, float64, float16, bfloat16)");
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
int fill_f32(const State& st, uint64_t seed, uint64_t offset, S* o, int64_t n, cudaStream_t s) {
  const float a = float(st.a), b = float(st.b);
  const bool normal = st.normal;
  return for_each((n + 3) / 4, s, normal ? "_random_normal" : "_random_uniform", [=] __device__(int64_t blk) {
    float v[4];
    block_f32(mx_philox_block(seed, offset + uint64_t(blk)), normal, a, b, v);
    for (int l = 0; l < 4 && blk * 4 + l < n; ++l) o[blk * 4 + l] = narrow_sample<S>(v[l]);
  });
}

int fill_f64(const State& st, uint64_t seed, uint64_t offset, double* o, int64_t n, cudaStream_t s) {
  const double a = st.a, b = st.b;
  const bool normal = st.normal;
  return for_each((n + 1) / 2, s, normal ? "_random_normal" : "_random_uniform", [=] __device__(int64_t blk) {
    const mx_philox_u32x4 r = mx_philox_block(seed, offset + uint64_t(blk));
    double v[2];
    if (normal) normal_pair_f64(r, a, b, &v[0], &v[1]);
    else uniform_pair_f64(r, a, b, &v[0], &v[1]);
    for (int l = 0; l < 2 && blk * 2 + l < n; ++l) o[blk * 2 + l] = v[l];
  });
}

int run(void* state, const mx_kernel_ctx* ctx, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const State& st = *static_cast<const State*>(state);
  const int64_t n = numel(out[0]);
  cudaStream_t s = cuda_stream(ctx);
  const uint64_t seed = ctx->rng_seed, offset = ctx->rng_offset;
  int rc;
  switch (st.dtype) {
    case MX_FLOAT64: rc = fill_f64(st, seed, offset, ptr<double>(out[0]), n, s); break;
    case MX_FLOAT16: rc = fill_f32(st, seed, offset, ptr<f16_t>(out[0]), n, s); break;
    case MX_BFLOAT16: rc = fill_f32(st, seed, offset, ptr<bf16_t>(out[0]), n, s); break;
    default: rc = fill_f32(st, seed, offset, ptr<float>(out[0]), n, s); break;
  }
  return rc ? rc : finish(ctx, st.normal ? "_random_normal" : "_random_uniform");
}

void destroy(void* s) { delete static_cast<State*>(s); }

const mx_kernel kRandomKernels[] = {
    kernel("_random_uniform", create<false>, run, destroy),
    kernel("_random_normal", create<true>, run, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kRandomKernels);

}  // namespace
}  // namespace mxcuda
