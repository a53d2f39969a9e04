// _random_uniform and _random_normal on the GPU (backends/cpu/kernels/random.cc), bit-identical to
// the CPU for the same (ctx->rng_seed, ctx->rng_offset): both draw through backends/common/random.h.
// One thread per Philox block: float32 element i is lane i % 4 of block rng_offset + i / 4 (normals
// pair lanes (0,1) and (2,3)); float64 element i is lanes (0,1) or (2,3) of block rng_offset + i / 2.
// float16 / bfloat16 element i is the float32 sample of element i rounded to 16 bits (random.h's
// block_f32 + narrow_sample, as the CPU). A thread writes only the elements < n of its block.
// The element samplers (exponential, gamma, Poisson, negative binomials, randint, _sample_X) are
// below: one thread per element, each on its own Philox sub-stream (random.h's ElementStream).
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

// ---------------------------------------------------------------- element samplers
// _random_exponential ... _random_generalized_negative_binomial, _sample_X and _random_randint,
// as the CPU (backends/cpu/kernels/random.cc): element i draws from its own Philox sub-stream
// (random.h's ElementStream, block rng_offset + i) through the same sample_dist / sample_randint,
// so the values are bit-identical to the CPU's. One thread per element.

struct ElementState {
  Dist dist;
  double a = 0, b = 0;  // scalar parameters (_random_X)
  int32_t out_dtype, in_dtype = -1;  // in_dtype: the parameter arrays' (_sample_X), -1 for none
};

struct DistOp {
  const char* name;
  Dist dist;
  const char* a;  // attribute names of the scalar form ("" for none)
  const char* b;
};
constexpr DistOp kDists[] = {
    {"exponential", Dist::kExponential, "lam", ""},
    {"gamma", Dist::kGamma, "alpha", "beta"},
    {"poisson", Dist::kPoisson, "lam", ""},
    {"negative_binomial", Dist::kNegativeBinomial, "k", "p"},
    {"generalized_negative_binomial", Dist::kGeneralizedNegativeBinomial, "mu", "alpha"},
    {"uniform", Dist::kUniform, "", ""},
    {"normal", Dist::kNormal, "", ""},
};

int create_element(const mx_kernel_args* args, void** out) {
  const std::string op = args->op_name;
  const DistOp* d = nullptr;
  for (const DistOp& e : kDists)
    if (op == std::string("_random_") + e.name || op == std::string("_sample_") + e.name) d = &e;
  const int32_t dtype = dtype_flag(args->outputs[0].dtype);
  const int32_t in_dtype = args->num_inputs > 0 ? dtype_flag(args->inputs[0].dtype) : -1;
  if (!d || !dispatch_float(dtype, [](auto) {}) || (in_dtype >= 0 && !dispatch_float(in_dtype, [](auto) {})))
    return error(MX_ERR_UNSUPPORTED, op + ": unsupported dtype on cuda (float32, float64, float16, bfloat16)");
  auto* st = new ElementState{};
  st->dist = d->dist;
  st->out_dtype = dtype;
  st->in_dtype = in_dtype;
  if (in_dtype < 0) {
    st->a = attr_float(args, d->a);
    if (*d->b) st->b = attr_float(args, d->b);
  }
  *out = st;
  return 0;
}

// Parameters from arrays A (per distribution, i / per_dist) or the scalars.
template <typename S, typename P>
int fill_element(const ElementState& st, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t nin, DLTensor& out,
                 const char* op) {
  const int64_t n = numel(out);
  const int64_t dists = nin > 0 ? numel(in[0]) : 1;
  const int64_t per_dist = dists > 0 ? n / dists : 1;
  const P* pa = nin > 0 ? ptr<P>(in[0]) : nullptr;
  const P* pb = nin > 1 ? ptr<P>(in[1]) : nullptr;
  S* o = ptr<S>(out);
  const Dist dist = st.dist;
  const double a0 = st.a, b0 = st.b;
  const uint64_t seed = ctx->rng_seed, offset = ctx->rng_offset;
  return for_each(n, cuda_stream(ctx), op, [=] __device__(int64_t i) {
    double a = a0, b = b0;
    if (pa) {
      a = double(Elem<P>::load(pa[i / per_dist]));
      b = pb ? double(Elem<P>::load(pb[i / per_dist])) : 0.0;
    }
    ElementStream es(seed, offset + uint64_t(i));
    o[i] = Elem<S>::store(typename Elem<S>::C(sample_dist(dist, es, a, b)));
  });
}

int run_element(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t nin, DLTensor* out, int32_t) {
  const ElementState& st = *static_cast<const ElementState*>(state);
  int rc = 0;
  dispatch_float(st.out_dtype, [&](auto out_tag) {
    using S = decltype(out_tag);
    if (nin > 0) {
      dispatch_float(st.in_dtype, [&](auto param_tag) {
        rc = fill_element<S, decltype(param_tag)>(st, ctx, in, nin, out[0], "sampler");
      });
    } else {
      rc = fill_element<S, double>(st, ctx, in, nin, out[0], "sampler");
    }
  });
  return rc ? rc : finish(ctx, "sampler");
}

void destroy_element(void* s) { delete static_cast<ElementState*>(s); }

struct RandintState {
  int64_t low, high;
  int32_t dtype;
};

int create_randint(const mx_kernel_args* args, void** out) {
  const int32_t dtype = dtype_flag(args->outputs[0].dtype);
  if (dtype != MX_INT32 && dtype != MX_INT64)
    return error(MX_ERR_UNSUPPORTED, std::string("_random_randint: unsupported dtype ") + dtype_name(dtype) + " (int32, int64)");
  *out = new RandintState{attr_int(args, "low"), attr_int(args, "high"), dtype};
  return 0;
}

template <typename T>
int fill_randint(const RandintState& st, const mx_kernel_ctx* ctx, DLTensor& out) {
  T* o = ptr<T>(out);
  const int64_t low = st.low, high = st.high;
  const uint64_t seed = ctx->rng_seed, offset = ctx->rng_offset;
  return for_each(numel(out), cuda_stream(ctx), "_random_randint", [=] __device__(int64_t i) {
    ElementStream es(seed, offset + uint64_t(i));
    o[i] = T(sample_randint(es, low, high));
  });
}

int run_randint(void* state, const mx_kernel_ctx* ctx, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const RandintState& st = *static_cast<const RandintState*>(state);
  const int rc = st.dtype == MX_INT64 ? fill_randint<int64_t>(st, ctx, out[0]) : fill_randint<int32_t>(st, ctx, out[0]);
  return rc ? rc : finish(ctx, "_random_randint");
}

void destroy_randint(void* s) { delete static_cast<RandintState*>(s); }

const mx_kernel kRandomKernels[] = {
    kernel("_random_uniform", create<false>, run, destroy),
    kernel("_random_normal", create<true>, run, destroy),
    kernel("_random_exponential", create_element, run_element, destroy_element),
    kernel("_random_gamma", create_element, run_element, destroy_element),
    kernel("_random_poisson", create_element, run_element, destroy_element),
    kernel("_random_negative_binomial", create_element, run_element, destroy_element),
    kernel("_random_generalized_negative_binomial", create_element, run_element, destroy_element),
    kernel("_sample_uniform", create_element, run_element, destroy_element),
    kernel("_sample_normal", create_element, run_element, destroy_element),
    kernel("_sample_exponential", create_element, run_element, destroy_element),
    kernel("_sample_gamma", create_element, run_element, destroy_element),
    kernel("_sample_poisson", create_element, run_element, destroy_element),
    kernel("_sample_negative_binomial", create_element, run_element, destroy_element),
    kernel("_sample_generalized_negative_binomial", create_element, run_element, destroy_element),
    kernel("_random_randint", create_randint, run_randint, destroy_randint),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kRandomKernels);

}  // namespace
}  // namespace mxcuda
