// The random family (core/op/defs/random.cc, sampling.cc): _random_uniform, _random_normal from Philox 4x32-10
// (mx/philox.h), with backends/common/random.h's distributions, bit-identical on every backend.
// Element i depends only on (seed, offset, i): float32 takes lane i % 4 of block offset + i / 4;
// float64 takes two lanes of block offset + i / 2. Normals use Box-Muller on lane pairs.
// float16 / bfloat16 element i is the float32 sample of element i rounded to 16 bits
// (random.h's narrow_sample), so it equals the rounding of the float32 sample.
// The element samplers below (exponential, gamma, Poisson, negative binomials, randint, _sample_X)
// give element i its own Philox sub-stream (random.h's ElementStream).
#include <string>
#include <type_traits>

#include "../../common/random.h"
#include "../cpu_backend.h"
#include "../parallel.h"

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

// ---------------------------------------------------------------- element samplers
// _random_exponential ... _random_generalized_negative_binomial (scalar parameters) and _sample_X
// (parameter arrays): element i draws from its own Philox sub-stream (random.h's ElementStream,
// block rng_offset + i), so chunks of a parallel_for give the same numbers in any split.

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

const DistOp* dist_of(const std::string& op) {
  for (const DistOp& d : kDists)
    if (op == std::string("_random_") + d.name || op == std::string("_sample_") + d.name) return &d;
  return nullptr;
}

int create_element(const mx_kernel_args* args, void** out) {
  const std::string op = args->op_name;
  const DistOp* d = dist_of(op);
  const int32_t dtype = dtype_flag(args->outputs[0].dtype);
  const int32_t in_dtype = args->num_inputs > 0 ? dtype_flag(args->inputs[0].dtype) : -1;
  if (!d || !dispatch_float(dtype, [](auto) {}) || (in_dtype >= 0 && !dispatch_float(in_dtype, [](auto) {})))
    return error(MX_ERR_UNSUPPORTED, op + ": unsupported dtype on cpu (float32, float64, float16, bfloat16)");
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

// Parameter j of element i: the scalar, or the array entry of i's distribution (i / per_dist).
template <typename P>
double param_at(const DLTensor* in, int j, int64_t k) {
  return double(Elem<P>::load(reinterpret_cast<const P*>(data_of(in[j]))[k]));
}

int run_element(void* state, const mx_kernel_ctx* ctx, const DLTensor* in, int32_t nin, DLTensor* out, int32_t) {
  const ElementState& st = *static_cast<const ElementState*>(state);
  const int64_t n = numel(out[0]);
  const int64_t dists = nin > 0 ? numel(in[0]) : 1;
  const int64_t per_dist = dists > 0 ? n / dists : 0;
  const uint64_t seed = ctx->rng_seed, offset = ctx->rng_offset;
  dispatch_float(st.out_dtype, [&](auto out_tag) {
    using S = decltype(out_tag);
    S* o = reinterpret_cast<S*>(data_of(out[0]));
    auto fill = [&](auto param_tag) {
      using P = decltype(param_tag);
      parallel_for(n, 256, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          double a = st.a, b = st.b;
          if (nin > 0) {
            const int64_t k = i / per_dist;
            a = param_at<P>(in, 0, k);
            b = nin > 1 ? param_at<P>(in, 1, k) : 0.0;
          }
          ElementStream es(seed, offset + uint64_t(i));
          o[i] = Elem<S>::store(typename Elem<S>::C(sample_dist(st.dist, es, a, b)));
        }
      });
    };
    if (nin > 0) dispatch_float(st.in_dtype, fill);
    else fill(double{});
  });
  return 0;
}

void destroy_element(void* s) { delete static_cast<ElementState*>(s); }

// _random_randint: low + (64 random bits of element i's stream mod (high - low)).
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

int run_randint(void* state, const mx_kernel_ctx* ctx, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const RandintState& st = *static_cast<const RandintState*>(state);
  const int64_t n = numel(out[0]);
  auto fill = [&](auto* o) {
    using T = std::remove_pointer_t<decltype(o)>;
    parallel_for(n, 1024, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        ElementStream es(ctx->rng_seed, ctx->rng_offset + uint64_t(i));
        o[i] = T(sample_randint(es, st.low, st.high));
      }
    });
  };
  if (st.dtype == MX_INT64) fill(reinterpret_cast<int64_t*>(data_of(out[0])));
  else fill(reinterpret_cast<int32_t*>(data_of(out[0])));
  return 0;
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
}  // namespace mxcpu
